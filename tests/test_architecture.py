"""The layout rules of ARCHITECTURE.md, checked: no import cycle in fer_lib, no file over 700 lines, no
speculative imports of modules that may not exist."""

from __future__ import annotations

import ast
from pathlib import Path

import fer_lib

PACKAGE = Path(fer_lib.__file__).resolve().parent
MAX_LINES = 700


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _imports(path: Path, modules: dict[str, Path]) -> set[str]:
    """fer_lib modules imported by ``path`` — at any depth (a deferred import still creates a cycle)."""
    out: set[str] = set()
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([base] if base else []))
            targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        out |= {t for t in targets if t in modules and t != name}
    return out


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``graph``, ignoring a package's imports of its own sub-modules (its re-exports)."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for dep in sorted(graph[node]):
            if dep.startswith(node + "."):
                continue  # a package importing its own sub-module to re-export it
            if state.get(dep) == 1:
                return stack[stack.index(dep):] + [dep]
            if dep not in state and (found := visit(dep)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)):
            return found
    return None


def test_no_import_cycle_in_fer_lib() -> None:
    modules = _modules()
    graph = {name: _imports(path, modules) for name, path in modules.items()}
    assert _cycle(graph) is None, f"import cycle: {' -> '.join(_cycle(graph))}"


def test_the_cycle_finder_finds_cycles() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set(), "p": {"p.x"}, "p.x": set()}) is None


def test_no_file_over_the_size_limit() -> None:
    long = {str(p.relative_to(PACKAGE)): n for p in PACKAGE.rglob("*.py") if (n := len(p.read_text().splitlines()))
            > MAX_LINES}
    assert not long, f"files over {MAX_LINES} lines: {long}"


def _swallows_import_errors(node: ast.Try) -> bool:
    """A ``try`` that imports something and has an ImportError handler that does not raise."""
    imports = any(isinstance(n, ast.Import | ast.ImportFrom)
                  or (isinstance(n, ast.Call) and "import_module" in ast.unparse(n.func)) for n in ast.walk(node))
    quiet = [h for h in node.handlers
             if isinstance(h.type, ast.Name) and h.type.id in ("ModuleNotFoundError", "ImportError")
             and not any(isinstance(n, ast.Raise) for n in ast.walk(h))]
    return imports and bool(quiet)


def test_no_speculative_imports() -> None:
    """No module is imported behind a handler that swallows its absence: a missing model fails loudly
    (an optional dependency may be imported lazily if a missing one raises a clear error)."""
    offenders = sorted({str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py")
                        for node in ast.walk(ast.parse(p.read_text()))
                        if isinstance(node, ast.Try) and _swallows_import_errors(node)})
    assert not offenders, f"speculative imports in {offenders}"


def test_the_speculative_import_check_sees_them() -> None:
    swallowed = ast.parse("try:\n    import x\nexcept ModuleNotFoundError:\n    pass\n").body[0]
    loud = ast.parse("try:\n    import x\nexcept ImportError as e:\n    raise ImportError('pip install x') from e\n")
    assert _swallows_import_errors(swallowed) and not _swallows_import_errors(loud.body[0])
