"""Run a notebook in a real JupyterLab, in Debian's chromium, and report what a student sees.

nbclient proves that a notebook's code runs; it cannot see what JupyterLab renders (a
query result that comes out as text instead of a table, a plot that never shows, an
extension that breaks the page). This module starts JupyterLab from the test venv, opens
a notebook in chromium through Playwright, runs the same "Run All Cells" command as the
Run menu, and reads the error outputs, images and HTML tables off the page.

Two users: the browser tests (their pytest fixtures are tests/fixtures/lab.py) and
``make docs-images`` (docs/make_images.py, for the screenshot in the guides). It needs
nothing of pytest: without a browser, ``LabSession.run_all`` raises ``BrowserMissing``
and each user decides what that means (a skipped test, a failed one on CI, no picture).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

REPO = Path(__file__).resolve().parents[1]

# Generous: a shared 2-core machine, and a first cell that may import dbt (5-10 s alone).
SERVER_START_TIMEOUT = 120  # s
NOTEBOOK_OPEN_TIMEOUT = 180_000  # ms, until the notebook is open and its kernel idle
RUN_ALL_TIMEOUT = 600_000  # ms, for all cells together
SETTLE_TIMEOUT = 60_000  # ms, for the last outputs to render after the kernel is done

# Debian's chromium in a container, as root, with no network: no sandbox (root cannot
# use it), no GPU, and none of the background traffic (component and extension updates,
# sync, sign-in, autofill, QUIC) that floods a closed network with connection attempts.
# Even with those off, chromium still looked up update.googleapis.com,
# accounts.google.com and content-autofill.googleapis.com (seen with strace), so the
# host resolver answers "not found" for every name: the test only ever talks to
# 127.0.0.1, an address, which needs no lookup. Playwright adds --headless itself
# (Chromium's new headless mode), its own --disable-features list (a second such switch
# would replace it) and a fresh temporary profile for each launch.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-domain-reliability",
    "--disable-client-side-phishing-detection",
    "--no-pings",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]

# JupyterLab user settings for the test: every cell attached to the DOM (so outputs below
# the fold are counted), no blank space past the last cell (so the screenshot can fit the
# notebook to the window), no autosave (a long run must not write outputs into the
# notebook under test), and no news or update checks (the page would call the internet).
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings":
        {"windowingMode": "none", "scrollPastEnd": False},
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings":
        {"fetchNews": "false", "checkForUpdates": False},
}

# Environment of the server and so of its kernels: no telemetry from jupysql or dbt.
QUIET_ENV = {
    "PLOOMBER_STATS_ENABLED": "false",
    "PLOOMBER_VERSION_CHECK_DISABLED": "true",
    "DO_NOT_TRACK": "1",
}


@dataclass
class CellError:
    """One output rendered as an error: the cell's index in the notebook (0-based, every
    cell counts, markdown too), the text the student reads, the kind of output ("error"
    for an exception, "stream" for text written to stderr, which nbgrader also scores as
    a failure) and the cell's source."""

    cell: int
    text: str
    kind: str
    source: str


@dataclass
class LabRunResult:
    """What the page showed after Run All Cells."""

    errors: list[CellError]
    images: int  # rendered (loaded) <img> in output areas
    tables: int  # HTML <table> in output areas (jupysql and pandas results)
    screenshot: Path
    not_run: list[int] = field(default_factory=list)
    """Code cells without an execution count. Run All stops at the first exception (the
    kernel drops the queued cells) unless that cell is tagged ``raises-exception``."""
    console_errors: list[str] = field(default_factory=list)
    """Errors in the browser console: for diagnosis, not for asserting (the
    jupysql-plugin extension logs one on JupyterLab 4.6)."""


class BrowserMissing(RuntimeError):
    """Chromium or Playwright is not installed; the message says which and how to install it."""


def browser_missing() -> str | None:
    """Why the browser test cannot run here, or None when it can."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed (pip install -r requirements.txt)"
    if not shutil.which("chromium"):
        return "chromium is not on PATH (Debian: apt-get install chromium)"
    return None


def artifacts_dir() -> Path:
    """Where screenshots and server logs go: $WT06_ARTIFACTS_DIR, else build/artifacts."""
    return Path(os.environ.get("WT06_ARTIFACTS_DIR") or REPO / "build" / "artifacts")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LabServer:
    """A JupyterLab server of the test venv on 127.0.0.1, with a random port and token.

    Its settings, workspaces, config and runtime files live in a temporary folder, so a
    run neither reads nor changes the developer's own JupyterLab state, and kernels
    inherit the test's environment (the WT06_* locations that tests/conftest.py sets).
    """

    def __init__(self, root: Path, log: Path):
        self.root = Path(root).resolve()
        self.log = log
        self.token = secrets.token_hex(16)
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._state = Path(tempfile.mkdtemp(prefix="wt06-lab-"))
        self._process: subprocess.Popen | None = None

    def start(self) -> LabServer:
        settings = self._state / "settings"
        for name, value in LAB_SETTINGS.items():
            path = settings / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(value))
        env = {
            **os.environ,
            **QUIET_ENV,
            "JUPYTER_CONFIG_DIR": str(self._state / "config"),
            "JUPYTER_DATA_DIR": str(self._state / "data"),
            "JUPYTER_RUNTIME_DIR": str(self._state / "runtime"),
        }
        command = [
            str(Path(sys.executable).parent / "jupyter"), "lab",
            "--no-browser",
            "--ip=127.0.0.1",
            f"--port={self.port}",
            "--ServerApp.port_retries=0",  # this port or fail, never a silent other one
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.root}",
            "--ServerApp.allow_root=True",  # CI and containers run as root
            "--ServerApp.terminals_enabled=False",
            f"--LabApp.workspaces_dir={self._state / 'workspaces'}",
            f"--LabApp.user_settings_dir={settings}",
            "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            # window.jupyterapp: the page's command registry, so the test runs "Run All
            # Cells" as the menu does without depending on menu labels or layout.
            "--expose-app-in-browser",
        ]
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("wb") as log:
            self._process = subprocess.Popen(
                command, cwd=self.root, env=env, stdin=subprocess.DEVNULL,
                stdout=log, stderr=subprocess.STDOUT,
            )
        try:
            self._wait_until_up()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_until_up(self) -> None:
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(
                    f"JupyterLab exited with code {self._process.returncode} before answering; "
                    f"its log ({self.log}) ends with:\n{self.log.read_text()[-3000:]}")
            try:
                self.api("GET", "/api/status")
                return
            except OSError:
                time.sleep(0.5)
        raise RuntimeError(f"JupyterLab did not answer within {SERVER_START_TIMEOUT} s; "
                           f"see its log {self.log}")

    def api(self, method: str, path: str):
        """Call the server's REST API with the token; the decoded JSON answer, if any."""
        request = urllib.request.Request(f"{self.url}{path}", method=method,
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=30) as response:
            body = response.read()
        return json.loads(body) if body else None

    def relative(self, notebook: Path) -> str:
        return Path(notebook).resolve().relative_to(self.root).as_posix()

    def notebook_url(self, notebook: Path) -> str:
        """The notebook in a workspace of its own, so no layout from an earlier run leaks in."""
        workspace = f"wt06-{uuid.uuid4().hex[:12]}"
        path = quote(self.relative(notebook))
        return f"{self.url}/lab/workspaces/{workspace}/tree/{path}?token={self.token}"

    def shutdown_kernels(self) -> None:
        """End every session and its kernel: a kernel left running would keep its DuckDB
        file locked against the next notebook."""
        for session in self.api("GET", "/api/sessions"):
            self.api("DELETE", f"/api/sessions/{session['id']}")

    def stop(self) -> None:
        """Stop the server; on SIGTERM it shuts its kernels down before exiting."""
        process = self._process
        if process and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=30)
        shutil.rmtree(self._state, ignore_errors=True)


# Page scripts. window.jupyterapp exists because of --expose-app-in-browser.

# The notebook's panel once it is open, its file loaded and its kernel idle.
_FIND_READY_PANEL = """(path) => {
  const app = window.jupyterapp;
  if (!app) return false;
  const panel = Array.from(app.shell.widgets('main')).find(
    w => w.context && w.context.path === path && w.content && w.content.widgets);
  if (!panel || !panel.context.isReady) return false;
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  if (!kernel || kernel.status !== 'idle') return false;
  window.wt06Panel = panel;
  return true;
}"""

# keep_going: tag every code cell "raises-exception" in the page (never saved), so the
# kernel runs the cells queued after a failing one instead of dropping them.
_KEEP_GOING = """() => {
  for (const cell of window.wt06Panel.content.widgets) {
    if (cell.model.type !== 'code') continue;
    const tags = cell.model.getMetadata('tags') || [];
    if (!tags.includes('raises-exception')) {
      cell.model.setMetadata('tags', [...tags, 'raises-exception']);
    }
  }
}"""

# The same command as Run > Run All Cells, aimed at our panel by id, and a count of the
# execute requests it sends and their replies. Its promise alone cannot say when the
# run is over: it settles at the first failing cell, while the kernel still has the
# later cells queued (it runs them when they are tagged raises-exception), and
# JupyterLab then clears their [*] marks. Nor can "kernel idle" alone: the kernel is
# idle for a moment between two queued cells. Every request answered is the signal.
_RUN_ALL = """() => {
  const panel = window.wt06Panel;
  const run = window.wt06Run = {
    expected: panel.content.widgets.filter(
      cell => cell.model.type === 'code' && cell.model.sharedModel.getSource().trim()).length,
    sent: 0, replied: 0, settled: false,
  };
  panel.sessionContext.session.kernel.anyMessage.connect((_, args) => {
    const type = args.msg.header.msg_type;
    if (args.direction === 'send' && type === 'execute_request') run.sent += 1;
    if (args.direction === 'recv' && type === 'execute_reply') run.replied += 1;
  });
  window.jupyterapp.commands.execute('notebook:run-all-cells', {widgetId: panel.id})
    .then(() => { run.settled = true; }, () => { run.settled = true; });
}"""

# Truthy when Run All is over: every code cell sent and answered and the kernel idle,
# or the kernel died (it would never answer, so waiting on would only time out).
_RUN_ALL_OVER = """() => {
  const run = window.wt06Run;
  const session = window.wt06Panel.sessionContext.session;
  const status = session && session.kernel ? session.kernel.status : 'dead';
  if (['dead', 'autorestarting', 'restarting'].includes(status)) return {...run, kernel: status};
  const over = run.settled && run.sent >= run.expected && run.replied >= run.sent
    && status === 'idle';
  return over ? {...run, kernel: status} : false;
}"""

# Outputs rendered: no cell busy ([*]) and every image decoded.
_SETTLED = """() => {
  const node = window.wt06Panel.content.node;
  const busy = Array.from(node.querySelectorAll('.jp-InputPrompt'))
    .some(p => p.textContent.includes('*'));
  const loading = Array.from(node.querySelectorAll('.jp-OutputArea-output img'))
    .some(img => !img.complete);
  return !busy && !loading;
}"""

# Per cell: what the output areas show. In JupyterLab 4 an exception and a stderr stream
# both render as data-mime-type="application/vnd.jupyter.stderr"; the cell's model
# tells which of the two each one is.
_COLLECT = """() => {
  const STDERR = 'application/vnd.jupyter.stderr';
  return window.wt06Panel.content.widgets.map((cell, index) => {
    const node = cell.node;
    const outputs = cell.model.outputs;
    const children = Array.from(node.querySelectorAll('.jp-OutputArea-child'));
    const errors = Array.from(node.querySelectorAll(
      `.jp-OutputArea-output[data-mime-type="${STDERR}"]`)).map(output => {
        const position = children.indexOf(output.closest('.jp-OutputArea-child'));
        const model = outputs && position >= 0 && position < outputs.length
          ? outputs.get(position) : null;
        return {text: output.innerText, kind: model ? model.type : 'stderr'};
      });
    const prompt = node.querySelector('.jp-InputPrompt');
    return {
      index: index,
      type: cell.model.type,
      source: cell.model.sharedModel.getSource(),
      prompt: prompt ? prompt.textContent.trim() : '',
      errors: errors,
      images: Array.from(node.querySelectorAll('.jp-RenderedImage img'))
        .filter(img => img.complete && img.naturalWidth > 0).length,
      tables: node.querySelectorAll('.jp-OutputArea-output table').length,
    };
  });
}"""

# Height the page needs to show the whole notebook without its inner scrollbar. The
# notebook scrolls inside its windowed panel (.jp-WindowedPanel-outer), not the page.
_NOTEBOOK_SCROLLER = """(() => {
  const node = window.wt06Panel.content.node;
  return node.querySelector('.jp-WindowedPanel-outer') || node;
})()"""
_FULL_HEIGHT = f"""() => {{
  const scroller = {_NOTEBOOK_SCROLLER};
  return window.innerHeight + Math.max(0, scroller.scrollHeight - scroller.clientHeight);
}}"""
_FITS = f"""() => {{
  const scroller = {_NOTEBOOK_SCROLLER};
  return scroller.scrollHeight <= scroller.clientHeight + 2;
}}"""


def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_") or "notebook"


class LabSession:
    """One chromium and one JupyterLab server per root folder, started on first use and
    shared by every run (the tests of a pytest session); ``close`` ends them all."""

    def __init__(self, artifacts: Path):
        self.artifacts = artifacts
        self._playwright = None
        self._browser = None
        self._servers: dict[Path, LabServer] = {}
        self._shots: set[str] = set()

    def _require_browser(self):
        """Chromium, launched once; ``BrowserMissing`` without it."""
        if self._browser is None:
            reason = browser_missing()
            if reason:
                raise BrowserMissing(reason)
            from playwright.sync_api import sync_playwright

            self._playwright = sync_playwright().start()
            self._browser = self._playwright.chromium.launch(
                executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS, headless=True)
        return self._browser

    def _server(self, root: Path) -> LabServer:
        root = Path(root).resolve()
        if root not in self._servers:
            log = self.artifacts / f"jupyterlab-{len(self._servers) + 1}.log"
            self._servers[root] = LabServer(root, log).start()
        return self._servers[root]

    def run_all(self, notebook: Path, *, root: Path | None = None, keep_going: bool = False,
                name: str | None = None) -> LabRunResult:
        """Open ``notebook`` in JupyterLab (served from ``root``, default its folder),
        Run All Cells, wait until the kernel is idle and every output rendered, and
        report errors, images and tables. The notebook file is not saved; its kernel
        is shut down afterwards.

        Run All stops at the first exception, as it does for a student: the cells after
        it stay unrun (``not_run``). ``keep_going=True`` runs them anyway, as a student
        who runs each cell in turn past the unanswered exercises would see them."""
        notebook = Path(notebook).resolve()
        browser = self._require_browser()
        from playwright.sync_api import TimeoutError as PlaywrightTimeout
        server = self._server(root or notebook.parent)
        shot = _safe_name(name or notebook.stem)
        if shot in self._shots:  # a second run in the same test keeps the first picture
            shot = f"{shot}-{len(self._shots)}"
        self._shots.add(shot)
        screenshot = self.artifacts / f"{shot}.png"
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        console_errors: list[str] = []
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        try:
            page = context.new_page()
            page.on("console", lambda m: m.type == "error" and console_errors.append(m.text))
            page.on("pageerror", lambda e: console_errors.append(f"uncaught: {e}"))
            try:
                page.goto(server.notebook_url(notebook))
                page.wait_for_function(_FIND_READY_PANEL, arg=server.relative(notebook),
                                       timeout=NOTEBOOK_OPEN_TIMEOUT)
                page.evaluate("() => window.jupyterapp.shell.collapseLeft()")
                if keep_going:
                    page.evaluate(_KEEP_GOING)
                page.evaluate(_RUN_ALL)
                try:
                    over = page.wait_for_function(_RUN_ALL_OVER, timeout=RUN_ALL_TIMEOUT)
                except PlaywrightTimeout:
                    raise AssertionError(
                        f"Run All of {notebook.name} not over after {RUN_ALL_TIMEOUT // 1000} s: "
                        f"{page.evaluate('window.wt06Run')}; see {screenshot}") from None
                over = over.json_value()
                if over["kernel"] != "idle":
                    raise AssertionError(f"the kernel of {notebook.name} went {over['kernel']} "
                                         f"during Run All (crashed?); see {screenshot}")
                page.wait_for_function(_SETTLED, timeout=SETTLE_TIMEOUT)
                cells = page.evaluate(_COLLECT)
            finally:
                self._screenshot(page, screenshot)
        finally:
            context.close()
            server.shutdown_kernels()
        return LabRunResult(
            errors=[CellError(c["index"], e["text"], e["kind"], c["source"])
                    for c in cells for e in c["errors"]],
            images=sum(c["images"] for c in cells),
            tables=sum(c["tables"] for c in cells),
            screenshot=screenshot,
            not_run=[c["index"] for c in cells
                     if c["type"] == "code" and c["source"].strip()
                     and not re.fullmatch(r"\[\d+\]:", c["prompt"])],
            console_errors=console_errors,
        )

    @staticmethod
    def _screenshot(page, path: Path) -> None:
        """The whole notebook in one picture: grow the window to the notebook's height
        (JupyterLab scrolls inside the panel, so a "full page" shot alone shows one
        screen). Best effort: a failed screenshot must not hide the test's own error."""
        try:
            if page.evaluate("() => Boolean(window.wt06Panel)"):
                height = min(int(page.evaluate(_FULL_HEIGHT)), 16_000)
                page.set_viewport_size({"width": 1400, "height": height})
                page.wait_for_function(_FITS, timeout=10_000)
            page.screenshot(path=str(path), full_page=True)
        except Exception as error:  # noqa: BLE001 - diagnosis only
            print(f"screenshot {path} failed: {error}", file=sys.stderr)

    def close(self) -> None:
        for server in self._servers.values():
            server.stop()
        self._servers.clear()
        if self._browser is not None:
            self._browser.close()
            self._playwright.stop()
            self._browser = self._playwright = None
