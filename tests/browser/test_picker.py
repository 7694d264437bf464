"""The key picker in real JupyterLab, driven in Chromium with Playwright.

JupyterLab runs on loopback with a token; its kernel inherits the environment that points at
the moto server. The test loads two keys with one click, stores a new one, checks from the
kernel that the variables are set (hashes, never values), saves the notebook with widget state
and checks the file holds no key.

Set ``UPDATE_DOCS_SCREENSHOT=1`` to also write the picker's screenshot to ``docs/picker.png``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import pytest

from tests.conftest import ROOT, closed_port

pytestmark = pytest.mark.browser

KEYS = {
    "openai": "sk-browser-openai-0123456789abcdefXYZ",
    "anthropic": "sk-ant-browser-9876543210fedcbaQRS",
    "huggingface": "hf_browserHuggingface0123456789",
}
NEW = "gsk_browserGroqNewKey_55aa66bb77cc"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WAIT_MS = 120_000
CHECK_CELL = (
    "import hashlib, os\n"
    "print(os.getpid(), sorted(k for k in os.environ if k.endswith('_API_KEY')))\n"
    "print({k: hashlib.sha256(os.environ[k].encode()).hexdigest()\n"
    "       for k in os.environ if k.endswith('_API_KEY')})"
)


def sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def write_json(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))


@dataclass
class Lab:
    url: str
    token: str
    root: Path
    proc: subprocess.Popen
    kernel_pids: list[int] = field(default_factory=list)

    def api(self, path: str, method: str = "GET", body: object = None) -> object:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            f"{self.url}{path}",
            method=method,
            data=data,
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=10) as resp:
            answer = resp.read()
        return json.loads(answer) if answer else None


@pytest.fixture
def chromium_path() -> str:
    path = shutil.which("chromium")
    if path is None:
        pytest.skip("Chromium is not installed (scripts/test.sh installs it with apt).")
    return path


@pytest.fixture
def lab(tmp_path: Path, aws_env, seed) -> Iterator[Lab]:
    for provider, value in KEYS.items():
        seed(f"nbsecrets/{provider}", value)
    # A provider the user expects: shown as "missing" until a key is stored for it.
    Path(aws_env["NBSECRETS_CONFIG"]).write_text('[providers]\nmistral = "MISTRAL_API_KEY"\n')
    root = tmp_path / "root"
    root.mkdir()
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("%load_ext nbsecrets"),
        nbformat.v4.new_code_cell("%aikey"),
        nbformat.v4.new_code_cell(CHECK_CELL),
    ]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, root / "picker.ipynb")

    settings = tmp_path / "lab-settings"
    # Save widget state with the notebook, so the saved file proves the state holds no key.
    write_json(
        settings / "@jupyter-widgets" / "jupyterlab-manager" / "plugin.jupyterlab-settings",
        {"saveState": True},
    )
    # No news or update checks: nothing leaves loopback.
    write_json(
        settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings",
        {"fetchNews": "false", "checkForUpdates": False},
    )
    env = dict(os.environ)
    env.update(
        JUPYTERLAB_SETTINGS_DIR=str(settings),
        JUPYTERLAB_WORKSPACES_DIR=str(tmp_path / "lab-workspaces"),
        JUPYTER_CONFIG_DIR=str(tmp_path / "jupyter-config"),
        JUPYTER_DATA_DIR=str(tmp_path / "jupyter-data"),
        JUPYTER_RUNTIME_DIR=str(tmp_path / "jupyter-runtime"),
        IPYTHONDIR=str(tmp_path / "ipython"),
        HOME=str(tmp_path),
    )
    port = closed_port()
    token = sha(str(tmp_path))[:32]
    log = (tmp_path / "lab.log").open("w")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={root}",
            "--ServerApp.open_browser=False",
            "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            "--LabApp.expose_app_in_browser=True",
            "--LabApp.extension_manager=readonly",
            *(["--allow-root"] if os.geteuid() == 0 else []),
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    server = Lab(f"http://127.0.0.1:{port}", token, root, proc)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                server.api("/api/status")
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    log.flush()
                    pytest.fail(
                        "JupyterLab did not start:\n" + (tmp_path / "lab.log").read_text()[-3000:]
                    )
                time.sleep(0.25)  # polling for the server to answer, not a timed assertion
        yield server
    finally:
        with contextlib.suppress(OSError):
            for kernel in server.api("/api/kernels"):  # type: ignore[union-attr]
                server.api(f"/api/kernels/{kernel['id']}", method="DELETE")
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        for pid in server.kernel_pids:  # the kernel we saw must be gone too
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        log.close()


def launch(playwright, chromium_path: str):
    try:
        return playwright.chromium.launch(
            executable_path=chromium_path, headless=True, args=CHROMIUM_FLAGS
        )
    except Exception as exc:  # Chromium truly cannot start here: say why
        detail = " | ".join(
            line.strip()
            for line in str(exc).splitlines()
            if line.strip() and "<launching>" not in line
        )
        pytest.skip(f"Chromium ({chromium_path}) cannot start: {detail[:800]}")


def run_command(page, command: str) -> None:
    """Start a JupyterLab command; what it does is awaited through the page, with timeouts."""
    page.evaluate("(c) => { window.jupyterapp.commands.execute(c); }", command)


def test_picker_loads_and_stores_in_jupyterlab(lab: Lab, chromium_path: str, sm):
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as pw:
        browser = launch(pw, chromium_path)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(WAIT_MS)
            expect.set_options(timeout=WAIT_MS)
            page.goto(f"{lab.url}/lab/tree/picker.ipynb?token={lab.token}")
            page.wait_for_function(
                "() => window.jupyterapp && window.jupyterapp.shell "
                "&& document.querySelector('.jp-Notebook .jp-Cell')"
            )
            # JupyterLab may ask which kernel to use for a notebook it has not seen: answer.
            select = page.locator(".jp-Dialog").get_by_role("button", name="Select")
            with contextlib.suppress(PlaywrightTimeoutError):
                select.click(timeout=15_000)
            select.wait_for(state="detached")
            # Wait for the kernel, then run the cells (%load_ext nbsecrets, %aikey, check).
            page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").wait_for()
            run_command(page, "notebook:run-all-cells")

            picker = page.locator(".nbsecrets-picker")
            picker.wait_for()
            for provider, status in (
                ("openai", "available"),
                ("anthropic", "available"),
                ("huggingface", "available"),
                ("mistral", "missing"),
            ):
                expect(picker.locator(".nbsecrets-grid")).to_contain_text(provider)
                expect(picker.locator(".nbsecrets-grid")).to_contain_text(status)
            expect(picker.locator(".nbsecrets-grid")).to_contain_text("OPENAI_API_KEY")
            expect(picker.locator(".nbsecrets-grid")).to_contain_text("nbsecrets/anthropic")

            # Tick two keys and load them with one click.
            picker.locator(".nbsecrets-row-openai input[type=checkbox]").check()
            picker.locator(".nbsecrets-row-anthropic input[type=checkbox]").check()
            load = picker.locator("button.nbsecrets-load")
            expect(load).to_have_text("Load selected (2)")
            load.click()
            status = picker.locator(".nbsecrets-status")
            expect(status).to_contain_text("openai: OPENAI_API_KEY <- nbsecrets/openai")
            expect(status).to_contain_text("anthropic: ANTHROPIC_API_KEY <- nbsecrets/anthropic")
            expect(load).to_be_disabled()

            # Store a new key through the password field; it is emptied after use.
            picker.locator(".nbsecrets-provider input").fill("groq")
            secret_box = picker.locator(".nbsecrets-secret input[type=password]")
            secret_box.fill(NEW)
            picker.locator("button.nbsecrets-store").click()
            expect(status).to_contain_text("groq: stored as nbsecrets/groq")
            expect(status).to_contain_text("groq: GROQ_API_KEY <- nbsecrets/groq")
            expect(secret_box).to_have_value("")
            expect(picker.locator(".nbsecrets-row-groq")).to_be_visible()
            picker.screenshot(path=str(lab.root.parent / "picker.png"))

            # From the kernel: the variables are set to the right values (hashes only).
            run_command(page, "notebook:run-all-cells")
            last = page.locator(".jp-Notebook .jp-Cell").nth(2).locator(".jp-OutputArea-output")
            expect(last).to_contain_text("GROQ_API_KEY")
            printed = last.inner_text()
            pid = int(printed.split()[0])
            lab.kernel_pids.append(pid)
            assert "['ANTHROPIC_API_KEY', 'GROQ_API_KEY', 'OPENAI_API_KEY']" in printed
            for value in (KEYS["openai"], KEYS["anthropic"], NEW):
                assert sha(value) in printed
            assert sm.get_secret_value(SecretId="nbsecrets/groq")["SecretString"] == NEW

            # Run-all re-ran %aikey: a fresh picker, the stored key now listed and loaded.
            picker = page.locator(".nbsecrets-picker")
            expect(picker.locator(".nbsecrets-row-groq")).to_be_visible()
            run_command(page, "docmanager:save")
            page.locator(".jp-mod-dirty").first.wait_for(state="detached")
        except BaseException:
            shot = lab.root.parent / "failure.png"
            page.screenshot(path=str(shot))
            print(f"Screenshot of the page at the failure: {shot}")
            raise
        finally:
            browser.close()

    saved = ""
    deadline = time.monotonic() + 60
    while "groq: GROQ_API_KEY" not in saved and time.monotonic() < deadline:
        saved = (lab.root / "picker.ipynb").read_text()
        time.sleep(0.25)  # waiting for the save to land on disk
    nb = json.loads(saved)
    assert "application/vnd.jupyter.widget-state+json" in nb["metadata"]["widgets"]
    assert "groq: GROQ_API_KEY" in saved  # the saved outputs are really there
    for value in (*KEYS.values(), NEW):
        for start in range(len(value) - 11):
            assert value[start : start + 12] not in saved
    if os.environ.get("UPDATE_DOCS_SCREENSHOT") == "1":
        (ROOT / "docs").mkdir(exist_ok=True)
        shutil.copy(lab.root.parent / "picker.png", ROOT / "docs" / "picker.png")
