"""The course in a real browser: JupyterLab in headless Chromium, driven by Playwright.

For every course notebook that shows a widget explorer: open it, Run All, check that no cell shows
an error, that the explorer's sliders render, and that moving a slider with the keyboard changes
the explorer's picture. Screenshots go to artifacts/browser/ (git-ignored).

Run it alone with `make browser` (or `pytest -m browser tests/test_browser.py`). It needs Debian's
chromium (/usr/bin/chromium) and the playwright package: without them it skips locally, and fails
under CI (the CI variable is set), where .ci/run installs chromium first.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "artifacts" / "browser"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
EXPLORER_NOTEBOOKS = sorted(
    p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb") if "_explorer(" in p.read_text(encoding="utf-8")
)

pytestmark = pytest.mark.browser


def _missing() -> str | None:
    """Say what the browser test lacks on this machine, or None when it can run."""
    if not CHROMIUM.exists():
        return f"{CHROMIUM} not found (apt-get install -y chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -r requirements-dev.txt)"
    return None


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server on 127.0.0.1 with a random port and token, serving a copy of notebooks/."""
    missing = _missing()
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"browser test cannot run under CI: {missing}")
        pytest.skip(missing)
    home = tmp_path_factory.mktemp("lab")
    served = home / "notebooks"
    shutil.copytree(ROOT / "notebooks", served, ignore=shutil.ignore_patterns("models", ".ipynb_checkpoints"))
    (home / "data").symlink_to(ROOT / "data")  # "../data" from the served notebooks, as in the course
    settings = home / "settings" / "@jupyterlab"
    (settings / "apputils-extension").mkdir(parents=True)
    (settings / "notebook-extension").mkdir(parents=True)
    # no news pop-up over the page; and every cell in the DOM (JupyterLab 4 leaves out cells that are
    # scrolled out of view, which would hide their errors and explorers from the test)
    (settings / "apputils-extension" / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    (settings / "notebook-extension" / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    token = secrets.token_hex(16)
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(home / "config"),
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
        "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"),
    }
    cmd = [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
           "--ServerApp.port_retries=0", f"--ServerApp.token={token}", f"--ServerApp.root_dir={served}"]
    if os.geteuid() == 0:
        cmd.append("--allow-root")
    log = open(home / "server.log", "wb")
    server = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for(f"{base}/api/status?token={token}", server, home / "server.log")
        yield {"base": base, "token": token}
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def _wait_for(url: str, server: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    """Poll the server's status API until it answers, or fail with the end of its log."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"jupyter lab exited with {server.returncode}:\n{log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    pytest.fail(f"jupyter lab did not answer within {timeout} s:\n{log.read_text()[-2000:]}")


@pytest.fixture(scope="module")
def browser(lab, tmp_path_factory):
    """A headless Chromium (Debian's) driven by Playwright."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium")), executable_path=str(CHROMIUM), headless=True,
            args=CHROMIUM_ARGS, viewport={"width": 1400, "height": 1000},
        )
        yield context
        context.close()


def test_there_is_a_notebook_with_an_explorer():
    assert EXPLORER_NOTEBOOKS, "no course notebook shows a widget explorer"


@pytest.mark.parametrize("name", EXPLORER_NOTEBOOKS)
def test_explorer_renders_and_responds_in_jupyterlab(lab, browser, name):
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    stem = re.sub(r"\.ipynb$", "", name)
    try:
        _run_all_and_move_a_slider(page, lab, name, stem)
    except Exception:
        page.screenshot(path=str(ARTIFACTS / f"{stem}-FAILED.png"), full_page=True)
        raise
    finally:
        page.close()
        _shut_down_kernels(lab)
    assert not [e for e in errors if "widget" in e.lower()], f"{name}: widget errors in the page: {errors}"


def _shut_down_kernels(lab: dict) -> None:
    """Stop every kernel the server runs, so the next notebook starts on a quiet machine."""
    auth = {"Authorization": f"token {lab['token']}"}
    with urllib.request.urlopen(urllib.request.Request(f"{lab['base']}/api/kernels", headers=auth)) as response:
        kernels = json.load(response)
    for kernel in kernels:
        urllib.request.urlopen(urllib.request.Request(f"{lab['base']}/api/kernels/{kernel['id']}", headers=auth, method="DELETE"))


def _run_all_and_move_a_slider(page, lab, name: str, stem: str) -> None:
    """Open the notebook, Run All, check the cells and the explorer, press ArrowRight on a slider."""
    # a workspace of its own, reset: only this notebook open, nothing restored from an earlier test
    page.goto(f"{lab['base']}/lab/workspaces/{stem}/tree/{name}?reset&token={lab['token']}")
    # the status bar reads "Python 3 (ipykernel) | Idle" once the kernel is up ("No Kernel" before)
    page.wait_for_selector("text=/ipykernel\\) \\| Idle/", timeout=60_000)
    page.click(".lm-MenuBar-itemLabel:text-is('Run')")
    page.click(".lm-Menu-item[data-command='runmenu:run-all']")

    # the notebook on show (a restored workspace may hold earlier notebooks in hidden tabs)
    notebook = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")
    explorer = notebook.locator(".widget-vbox:has(> .widget-image)").first
    explorer.wait_for(state="visible", timeout=90_000)
    page.wait_for_function(  # no cell still running or queued ("[*]:")
        "() => [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-InputPrompt')]"
        ".every(p => !p.textContent.includes('*'))",
        timeout=90_000,
    )
    shown_errors = notebook.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
    assert shown_errors.count() == 0, f"{name}: a cell shows an error or warning:\n{shown_errors.first.inner_text()[:800]}"
    assert explorer.locator(".widget-slider").count() >= 1, f"{name}: no slider rendered"

    image = explorer.locator(".widget-image").first
    before = image.get_attribute("src")
    explorer.locator(".noUi-handle").first.focus()
    page.keyboard.press("ArrowRight")
    page.wait_for_function(
        "([el, before]) => el.getAttribute('src') !== before", arg=[image.element_handle(), before], timeout=15_000
    )
    explorer.screenshot(path=str(ARTIFACTS / f"{stem}.png"))
