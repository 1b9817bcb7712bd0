"""JupyterLab in a real browser (issue 14, item 7): ``make lab``'s server offers the ``Python (evalkit)``
kernel, and the researchers' guided start (``notebooks/explore.ipynb``) runs in it from the Run menu
with no error and every figure drawn.

JupyterLab is started as ``make lab`` starts it (the venv's ``jupyter lab`` with the project's
kernels), headless on a free localhost port with a random token, in its own process group that the
fixture kills at the end (with the kernels, which jupyter_client puts in sessions of their own).
Its root folder is a temporary tree: a copy of ``notebooks/explore.ipynb`` next to symlinks to
``data/`` and ``params/``, so neither JupyterLab's autosave nor anything else can write into the
repository. Playwright drives Debian's Chromium (Playwright's own browser download is not used).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = "notebooks/explore.ipynb"
KERNEL_NAME = "evalkit"
KERNEL_LABEL = "Python (evalkit)"
START_TIMEOUT = 90  # s for the server to answer /api/status
RUN_TIMEOUT = 300  # s for Run All Cells (the notebook computes a phase review)
PLOTTING = ("plot()", "review.coupling()")  # cells whose output must carry a figure (as in test_notebooks)

pytestmark = pytest.mark.browser


def _need(what: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"CI must provide {what} (.ci/run installs Debian's chromium; playwright is a test extra)")
    pytest.skip(f"{what} is not installed")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, timeout: float = 5) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as r:  # noqa: S310 (localhost only)
        return r.read()


def _write_settings(settings: Path) -> None:
    """User settings for this server only: autosave off (a second guard: the root is a temp copy),
    every cell attached to the DOM (no windowing), no news or update checks."""
    files = {
        "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
        "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
        "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
            "fetchNews": "false",
            "checkForUpdates": False,
        },
    }
    for name, value in files.items():
        path = settings / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value), encoding="utf-8")


def _lab_tree(root: Path) -> None:
    """The folders the notebook needs: a copy of the notebook (outputs stripped, so Run All's
    execution counts are the only ones shown) and links to the read-only data and params."""
    (root / "notebooks").mkdir(parents=True)
    nb = json.loads((ROOT / NOTEBOOK).read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [], None
    (root / NOTEBOOK).write_text(json.dumps(nb, ensure_ascii=False, indent=1), encoding="utf-8")
    for name in ("data", "params"):
        (root / name).symlink_to(ROOT / name, target_is_directory=True)


def _killpg(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:  # the group is empty
        pass


def _stop(proc: subprocess.Popen) -> None:
    """SIGTERM the server's process group (the server shuts its kernels down), then SIGKILL what is
    left of the group and of the server's descendants (kernels run in sessions of their own)."""
    import psutil

    try:
        family = psutil.Process(proc.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        family = []
    _killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        pass
    _, alive = psutil.wait_procs(family, timeout=10)
    _killpg(proc.pid, signal.SIGKILL)
    for p in alive:
        try:
            p.kill()
        except psutil.NoSuchProcess:
            pass
    proc.wait(timeout=10)
    _, alive = psutil.wait_procs(alive, timeout=10)
    assert not alive, f"processes left behind by JupyterLab: {alive}"


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A running JupyterLab: (base URL, token, its root folder, log file)."""
    if shutil.which("chromium") is None:
        _need("chromium (Debian: apt-get install chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _need("playwright (pip install -e '.[test]')")
    jupyter = Path(sys.executable).with_name("jupyter")  # the venv's, as `make lab` runs it
    assert jupyter.exists(), f"{jupyter} missing: run `make setup`"

    tmp = tmp_path_factory.mktemp("jupyterlab")
    root, home = tmp / "root", tmp / "home"
    _lab_tree(root)
    _write_settings(home / "settings")
    port, token = _free_port(), secrets.token_hex(24)
    env = {
        **os.environ,
        # this server's own config, runtime files, settings and layout (none of the user's, none left)
        "JUPYTER_CONFIG_DIR": str(home / "config"),
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
        "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"),
        "IPYTHONDIR": str(home / "ipython"),
    }
    log_path = tmp / "jupyterlab.log"
    cmd = [
        str(jupyter),
        "lab",
        "--no-browser",
        "--allow-root",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--ServerApp.token={token}",
        f"--ServerApp.root_dir={root}",
    ]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if proc.poll() is not None:
                pytest.fail(f"JupyterLab exited ({proc.returncode}); log {log_path}:\n{log_path.read_text()[-4000:]}")
            try:
                _get(f"{base}/api/status?token={token}")
                break
            except (urllib.error.URLError, OSError):
                if time.monotonic() > deadline:
                    pytest.fail(
                        f"JupyterLab did not answer within {START_TIMEOUT} s; log {log_path}:\n"
                        f"{log_path.read_text()[-4000:]}"
                    )
                time.sleep(0.5)
        yield base, token, root, log_path
    finally:
        _stop(proc)


@pytest.fixture
def page(lab, tmp_path):
    """A Chromium page (1400×1000), with the path its screenshot goes to."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=shutil.which("chromium"), args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        try:
            pg = browser.new_page(viewport={"width": 1400, "height": 1000})
            pg.set_default_timeout(60_000)
            yield pg, tmp_path / "jupyterlab.png"
        finally:
            browser.close()


def _shoot(pg, shot: Path) -> str:
    try:
        pg.screenshot(path=str(shot))
    except Exception as exc:  # the screenshot is for debugging; never mask the real failure
        return f"(no screenshot: {exc})"
    return f"screenshot {shot}"


def test_launcher_offers_the_evalkit_kernel(lab, page):
    base, token, _, log = lab
    pg, shot = page
    specs = json.loads(_get(f"{base}/api/kernelspecs?token={token}"))["kernelspecs"]
    assert specs.get(KERNEL_NAME, {}).get("spec", {}).get("display_name") == KERNEL_LABEL, (
        f"kernel {KERNEL_NAME!r} not installed as {KERNEL_LABEL!r}: run `make setup`; found {sorted(specs)}"
    )
    pg.goto(f"{base}/lab?token={token}")
    card = pg.locator('.jp-LauncherCard[data-category="Notebook"]', has_text=KERNEL_LABEL)
    try:
        card.first.wait_for(state="visible", timeout=90_000)
    finally:
        where = _shoot(pg, shot)
    assert card.count() == 1, f"the Launcher shows {card.count()} notebook cards named {KERNEL_LABEL!r}; {where}"


# True once Run All has ended: no code cell queued or running ([*]) and at least one numbered.
# (Run All marks every cell [*] at once; after an error JupyterLab resets the cells below to [ ].)
FINISHED = """() => {
  const prompts = [...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputPrompt')]
    .map(e => e.textContent.trim());
  return !prompts.some(t => t.includes('*')) && prompts.some(t => /^\\[\\d+\\]:$/.test(t));
}"""

# True once Run All has queued or run a cell (a prompt shows [*] or a number).
STARTED = """() => [...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputPrompt')]
  .some(e => /^\\[(\\*|\\d+)\\]:$/.test(e.textContent.trim()))"""

# Every code cell: its source, prompt, error and stderr texts, and its drawn images.
CELLS = """() => [...document.querySelectorAll('.jp-Notebook .jp-CodeCell')].map(cell => ({
  source: (cell.querySelector('.jp-InputArea-editor .cm-content') || {}).innerText || '',
  prompt: (cell.querySelector('.jp-InputPrompt') || {}).textContent || '',
  errors: [...cell.querySelectorAll('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.error"],'
      + ' .jp-RenderedText[data-mime-type="application/vnd.jupyter.error"]')].map(e => e.innerText.slice(0, 2000)),
  stderr: [...cell.querySelectorAll('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')]
    .map(e => e.innerText).filter(t => t.includes('Traceback')).map(t => t.slice(0, 2000)),
  images: [...cell.querySelectorAll('.jp-OutputArea img')]
    .filter(img => img.complete && img.naturalWidth > 0).length,
}))"""

# True once every image in an output area has loaded (or failed to: then its natural width is 0).
LOADED = """() => [...document.querySelectorAll('.jp-Notebook .jp-OutputArea img')].every(img => img.complete)"""


def _repo_state() -> tuple[str, set[str]]:
    """The saved notebook's digest, and git's view of notebooks/ (untracked and ignored files
    included: a checkpoint or autosave written into the repository would show)."""
    digest = hashlib.sha256((ROOT / NOTEBOOK).read_bytes()).hexdigest()
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        return digest, set()
    out = subprocess.run(
        ["git", "status", "--porcelain", "--ignored", "--untracked-files=all", "--", "notebooks/"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    ).stdout
    return digest, set(out.splitlines())


def test_explore_notebook_runs_all_cells_in_jupyterlab(lab, page):
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    base, token, root, log = lab
    pg, shot = page
    before = _repo_state()

    pg.goto(f"{base}/lab/tree/{NOTEBOOK}?token={token}")
    try:
        pg.locator(".jp-Notebook .jp-CodeCell").first.wait_for(state="visible", timeout=90_000)
        # The status bar's "Python (evalkit) | Idle" means the kernel is up and connected (the
        # toolbar names the kernel before that, and Run All before then runs nothing). A "Select
        # Kernel" dialog would come first only if the notebook's saved kernel were unknown.
        idle = pg.locator(".jp-StatusBar-Widget").filter(has_text=re.compile(re.escape(KERNEL_LABEL) + r"\s*\|\s*Idle"))
        dialog = pg.locator(".jp-Dialog")
        idle.or_(dialog).first.wait_for(state="visible", timeout=120_000)
        if dialog.count() and dialog.first.is_visible():
            dialog.locator("select").first.select_option(label=KERNEL_LABEL)
            dialog.locator(".jp-mod-accept").first.click()
            idle.first.wait_for(state="visible", timeout=120_000)
        toolbar = pg.locator(".jp-NotebookPanel-toolbar .jp-Toolbar-kernelName")
        assert toolbar.filter(has_text=KERNEL_LABEL).count() == 1, f"kernel shown: {toolbar.all_inner_texts()}"

        # Run → Run All Cells, from the menu bar as a researcher would
        pg.locator(".lm-MenuBar-item").filter(has_text=re.compile(r"^\s*Run\s*$")).click()
        pg.locator(".lm-Menu .lm-Menu-itemLabel").filter(has_text=re.compile(r"^\s*Run All Cells\s*$")).click()
        try:
            pg.wait_for_function(STARTED, timeout=30_000, polling=200)
        except PlaywrightTimeout:
            pytest.fail(f"Run All Cells started no cell; {_shoot(pg, shot)}; server log {log}")
        try:
            pg.wait_for_function(FINISHED, timeout=RUN_TIMEOUT * 1000, polling=1000)
        except PlaywrightTimeout:
            states = [(c["prompt"], c["source"][:40]) for c in pg.evaluate(CELLS)]
            pytest.fail(f"Run All Cells did not finish within {RUN_TIMEOUT} s: {states}; {_shoot(pg, shot)}")
        cells = pg.evaluate(CELLS)
        failed = [c for c in cells if c["errors"] or c["stderr"]]
        if not failed:
            pg.wait_for_function(LOADED, timeout=30_000, polling=500)  # images decode after insertion
            cells = pg.evaluate(CELLS)
    finally:
        where = _shoot(pg, shot)

    if failed:
        pytest.fail(
            "cells failed in JupyterLab:\n"
            + "\n\n".join(
                f"{c['prompt']} {c['source'][:80]!r}\n" + "\n".join(c["errors"] + c["stderr"]) for c in failed
            )
            + f"\n{where}; server log {log}"
        )
    assert all(c["prompt"].strip() not in ("[ ]:", "") for c in cells), f"cells left unrun: {cells}; {where}"
    plotting = [c for c in cells if any(k in c["source"] for k in PLOTTING)]
    assert len(plotting) >= 3, f"expected at least 3 plotting cells, found {[c['source'][:60] for c in cells]}"
    blank = [c["source"][:60] for c in plotting if c["images"] < 1]
    assert not blank, f"plotting cells drew no figure: {blank}; {where}"
    assert sum(c["images"] for c in cells) >= 3, f"fewer than 3 figures drawn; {where}"

    # nothing was written into the repository (the server's root is a temporary copy); only new
    # entries or changes to explore.ipynb count (others may be editing other notebooks meanwhile)
    after = _repo_state()
    assert after[0] == before[0], f"{NOTEBOOK} changed on disk"
    new = {line for line in after[1] - before[1] if NOTEBOOK in line or line.startswith(("??", "!!"))}
    assert not new, f"the test wrote into notebooks/: {sorted(new)}"
