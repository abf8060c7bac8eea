"""Real Chromium for the web page's tests, scripted through ``tests/web/driver.mjs``.

``Browser(url)`` starts the driver (npm's playwright-core driving Debian's chromium); each
method sends one command and waits for its reply. The methods block: async tests call them
through ``anyio.to_thread.run_sync``, while their own replicas keep writing.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DRIVER = ROOT / "tests" / "web" / "driver.mjs"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# Screenshots are kept here (CI keeps the folder as the run's artifacts).
ARTIFACTS = ROOT / "test-artifacts" / "web"


def missing() -> str | None:
    """Why browser tests cannot run here, or None."""
    if shutil.which("node") is None:
        return "node is not installed"
    if not Path(CHROMIUM).exists():
        return f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    if not (ROOT / "web" / "node_modules" / "playwright-core").is_dir():
        return "web/node_modules lacks playwright-core (npm ci --prefix web)"
    return None


class BrowserError(AssertionError):
    pass


class Browser:
    def __init__(self, base_url: str) -> None:
        self.process = subprocess.Popen(
            ["node", str(DRIVER), base_url],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT,
        )  # fmt: skip
        assert self._read() == "ready"

    def _read(self) -> Any:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise BrowserError(f"the driver stopped (exit {self.process.wait()})")
        reply = json.loads(line)
        if not reply["ok"]:
            raise BrowserError(reply["error"])
        return reply["value"]

    def call(self, op: str, **args: Any) -> Any:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps({"op": op, **args}) + "\n")
        self.process.stdin.flush()
        return self._read()

    # The commands tests use most, by name.
    def open(self, tab: str, **args: Any) -> None:
        self.call("open", tab=tab, **args)

    def login(self, tab: str, username: str, password: str) -> None:
        self.call("login", tab=tab, username=username, password=password)

    def eval(self, tab: str, js: str, arg: Any = None) -> Any:
        return self.call("eval", tab=tab, js=js, arg=arg)

    def wait(self, tab: str, js: str, arg: Any = None, timeout_ms: int = 15_000) -> Any:
        return self.call("wait", tab=tab, js=js, arg=arg, timeout_ms=timeout_ms)

    def screenshot(self, tab: str, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.call("screenshot", tab=tab, path=str(path))
        return path

    def errors(self, tab: str) -> list[str]:
        return list(self.call("errors", tab=tab))

    def close(self) -> None:
        if self.process.poll() is None:
            assert self.process.stdin is not None
            self.process.stdin.write(json.dumps({"op": "quit"}) + "\n")
            self.process.stdin.close()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
        if self.process.stdout is not None:
            self.process.stdout.close()
