"""Write a notebook from a percent-format script (``# %%`` code cells, ``# %% [markdown]`` text cells).

    python scripts/py2nb.py source.py notebooks/pcnn/table_ii.ipynb

A cell header ``# %% tags=["parameters"]`` tags the cell (papermill's parameters cell). Outputs are
empty: the notebooks are committed unexecuted and executed by papermill into ``results/``.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import nbformat

HEADER = re.compile(r"^# %%(?P<md> \[markdown\])?(?: tags=(?P<tags>\[.*\]))?\s*$")


def convert(text: str) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    cells: list[tuple[bool, list[str], list[str]]] = []
    for line in text.splitlines():
        m = HEADER.match(line)
        if m:
            cells.append((bool(m.group("md")), json.loads(m.group("tags")) if m.group("tags") else [], []))
        elif cells:
            cells[-1][2].append(line)
    for is_md, tags, lines in cells:
        body = "\n".join(lines).strip("\n")
        if is_md:
            body = "\n".join(ln[2:] if ln.startswith("# ") else ln.lstrip("#") for ln in body.splitlines())
            cell = nbformat.v4.new_markdown_cell(body)
        else:
            cell = nbformat.v4.new_code_cell(body)
        if tags:
            cell.metadata["tags"] = tags
        nb.cells.append(cell)
    for i, cell in enumerate(nb.cells):
        cell.id = f"cell-{i}"
    return nb


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__)
        return 2
    src, dst = Path(argv[0]), Path(argv[1])
    dst.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(convert(src.read_text()), dst)
    print(f"wrote {dst}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
