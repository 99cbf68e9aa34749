"""The Grad-CAM explorer in a real browser: JupyterLab on localhost, driven in headless Chromium.

JupyterLab serves a temporary copy of ``notebooks/explore/gradcam.ipynb`` (autosave never touches
the checkout); Playwright drives Debian's ``/usr/bin/chromium`` (no browser download), runs all
cells, moves the sample slider and presses "next", and checks that the overlay image the kernel
sends changes each time. The screenshot goes to a temporary folder, or to ``results/explore/`` with
``FER_SAVE_SCREENSHOT=1``. Skipped only when no Chromium is installed (``scripts/install_browser.sh``).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
NOTEBOOK = REPO / "notebooks" / "explore" / "gradcam.ipynb"
SCREENSHOT = "gradcam_explorer.png"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
]
# JupyterLab plug-ins that would reach the internet (news, extension manager) stay off.
DISABLED_LAB_PLUGINS = {
    "@jupyterlab/apputils-extension:announcements": True,
    "@jupyterlab/extensionmanager-extension": True,
}


def chromium_path() -> str | None:
    for candidate in ("/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser")):
        if candidate and Path(candidate).is_file():
            return candidate
    return None


NO_CHROMIUM = "no Chromium installed: run scripts/install_browser.sh (Debian's chromium package)"
pytestmark = [pytest.mark.browser, pytest.mark.skipif(chromium_path() is None, reason=NO_CHROMIUM)]


def copy_notebook(source: Path, target: Path, params: dict) -> None:
    """Copy the notebook; ``params`` (from ``FER_BROWSER_NB_PARAMS``, JSON) go into a cell after the
    parameters cell, as papermill injects them (e.g. ``{"dataset": "fer2013", "data_root": "..."}``)."""
    import nbformat

    nb = nbformat.read(source, as_version=4)
    if params:
        at = next(k for k, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
        lines = "\n".join(f"{k} = {v!r}" for k, v in params.items())
        nb.cells.insert(at + 1, nbformat.v4.new_code_cell(f"# Parameters injected by the browser test\n{lines}"))
    nbformat.write(nb, target)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_server(url: str, proc: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"JupyterLab exited with code {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"JupyterLab did not answer at {url} within {timeout:.0f} s")


# The overlay's bytes, hashed in the page: an <img> of an ipywidgets Image shows a blob: URL.
IMAGE_DIGEST_JS = """async (selector) => {
    const img = document.querySelector(selector);
    if (!img || !img.src) return null;
    const bytes = await (await fetch(img.src)).arrayBuffer();
    const digest = await crypto.subtle.digest("SHA-256", bytes);
    return Array.from(new Uint8Array(digest)).map(b => b.toString(16).padStart(2, "0")).join("");
}"""


@pytest.fixture
def lab(tmp_path):
    """A JupyterLab server on 127.0.0.1 serving a copy of the notebook; yields (base url, token)."""
    root = tmp_path / "lab"
    root.mkdir()
    copy_notebook(NOTEBOOK, root / NOTEBOOK.name, json.loads(os.environ.get("FER_BROWSER_NB_PARAMS") or "{}"))
    config = tmp_path / "jupyter-config"
    (config / "labconfig").mkdir(parents=True)
    (config / "labconfig" / "page_config.json").write_text(json.dumps({"disabledExtensions": DISABLED_LAB_PLUGINS}))
    port, token = free_port(), os.urandom(16).hex()
    env = {
        **os.environ,
        "FER_SCALE": "smoke",
        "FER_RUNS_DIR": str(tmp_path / "runs"),
        "FER_RESULTS_DIR": str(tmp_path / "results"),
        "JUPYTER_CONFIG_DIR": str(config),
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "jupyter-runtime"),
        "PYTHONUNBUFFERED": "1",
    }
    log = (tmp_path / "jupyterlab.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
         f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}", "--ServerApp.open_browser=False",
         "--LabApp.expose_app_in_browser=True", f"--LabApp.workspaces_dir={tmp_path / 'workspaces'}",
         "--ServerApp.port_retries=0", "--ServerApp.terminals_enabled=False",
         *(["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else [])],
        cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_server(f"{base}/api/status?token={token}", proc)
        yield base, token
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def test_explorer_overlay_changes_when_the_sample_moves(lab, tmp_path):
    chromium = chromium_path()
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright (python) is not installed")
    base, token = lab
    t0 = time.monotonic()
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"{base}/lab/tree/{NOTEBOOK.name}?reset&token={token}")
            page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
            # Wait for the kernel, then run every cell as "Run > Run All Cells" does.
            page.wait_for_function(
                "() => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;"
                " return w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel"
                " && w.sessionContext.session.kernel.status === 'idle'; }",
                timeout=60_000,
            )
            page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
            # The explorer draws a sample when its cell runs; the last cell writes the grid figure.
            page.wait_for_selector("img.fer-cam-overlay[src^='blob:']", timeout=120_000)
            page.wait_for_function("() => document.body.innerText.includes('written:')", timeout=120_000)
            status = page.inner_text(".fer-cam-status")
            assert "Error" not in status, status
            info_before = page.inner_text(".fer-cam-info")
            before = page.evaluate(IMAGE_DIGEST_JS, "img.fer-cam-overlay")
            assert before is not None

            # Move the sample slider one step with the keyboard, as a person would.
            page.locator(".fer-cam-sample .noUi-handle").focus()
            page.keyboard.press("ArrowRight")
            page.wait_for_function(
                "(old) => { const el = document.querySelector('.fer-cam-info'); return el && el.innerText !== old; }",
                arg=info_before, timeout=30_000,
            )
            page.wait_for_timeout(300)  # let the new image arrive with the info line
            after_slider = page.evaluate(IMAGE_DIGEST_JS, "img.fer-cam-overlay")
            assert after_slider != before, "the overlay did not change when the slider moved"
            info_slider = page.inner_text(".fer-cam-info")

            page.click("button.fer-cam-next")
            page.wait_for_function(
                "(old) => { const el = document.querySelector('.fer-cam-info'); return el && el.innerText !== old; }",
                arg=info_slider, timeout=30_000,
            )
            page.wait_for_timeout(300)
            after_next = page.evaluate(IMAGE_DIGEST_JS, "img.fer-cam-overlay")
            assert after_next not in (before, after_slider), "the overlay did not change on 'next'"
            assert "#" in page.inner_text(".fer-cam-info")

            out_dir = (REPO / "results" / "explore") if os.environ.get("FER_SAVE_SCREENSHOT") == "1" else tmp_path
            out_dir.mkdir(parents=True, exist_ok=True)
            # Frame the explorer: file browser closed, the widget's first row at the top of the view.
            page.evaluate("() => window.jupyterapp.shell.collapseLeft()")
            page.evaluate("() => document.querySelector('.fer-cam-app').scrollIntoView({block: 'start'})")
            page.wait_for_timeout(300)
            page.screenshot(path=str(out_dir / SCREENSHOT), full_page=False)
        finally:
            browser.close()
    print(f"browser part took {time.monotonic() - t0:.1f} s; screenshot in {out_dir / SCREENSHOT}")
