"""A relay on this machine for ``minuta demo``: SQLite in a folder, one demo user.

The folder keeps a random JWT secret and the demo user's random password (both readable
by this user only), so the relay can be started again on the same data and the same
login. Everything is done the way a user would, with the relay's own commands in child
processes (``minuta db upgrade``, ``minuta users add``, ``minuta relay``): the agent never
imports the relay, the relay's event loop never competes with the ASR for the GIL, and
stopping it is a SIGTERM (a graceful shutdown that commits everything).
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
from pathlib import Path
from types import TracebackType

from ._common import CliError

DEMO_USER = "demo"
DEMO_ORG = "demo"


def _secret_file(path: Path, nbytes: int) -> str:
    if path.is_file():
        return path.read_text(encoding="utf-8").strip()
    value = secrets.token_urlsafe(nbytes)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(value + "\n")
    return value


class LocalRelay:
    """``with LocalRelay(folder) as relay:`` a migrated relay with a demo user, serving."""

    def __init__(self, data_dir: Path, port: int = 0) -> None:
        self.data_dir = data_dir
        self.port = port
        self.url = ""
        self.password = ""
        self.secret = ""
        self._process: subprocess.Popen[str] | None = None

    def prepare(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.secret = _secret_file(self.data_dir / "jwt-secret", 48)
        self.password = _secret_file(self.data_dir / "demo-password", 12)
        where = ["--data-dir", str(self.data_dir)]
        self._minuta("db", "upgrade", *where)
        self._minuta(
            "users", "add", DEMO_USER, "--org", DEMO_ORG, "--role", "admin", *where,
            env={"MINUTA_PASSWORD": self.password}, ok_if="exists already",
        )  # fmt: skip

    def _minuta(
        self, *args: str, env: dict[str, str] | None = None, ok_if: str | None = None
    ) -> str:
        """Run a ``minuta`` command; its error as a CliError (``ok_if``: an error that
        means there is nothing to do, as for the demo user on a second run)."""
        run = subprocess.run(
            [sys.executable, "-m", "agent.cli", *args], env={**os.environ, **(env or {})},
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if run.returncode != 0 and not (ok_if and ok_if in run.stderr):
            raise CliError(f"minuta {' '.join(args[:2])} failed: {run.stderr.strip()[-300:]}")
        return run.stdout

    def __enter__(self) -> LocalRelay:
        self.prepare()
        self._process = subprocess.Popen(
            [sys.executable, "-m", "agent.cli", "relay", "--port", str(self.port),
             "--data-dir", str(self.data_dir)],
            env={**os.environ, "JWT_SECRET": self.secret},
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )  # fmt: skip
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line.startswith("Minuta relay on "):
            self._process.wait(timeout=30)
            raise CliError(f"the demo relay did not start (port {self.port} taken?)")
        self.url = line.split()[3]
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def stop(self) -> None:
        if self._process is None:
            return
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        if self._process.stdout is not None:
            self._process.stdout.close()
        self._process = None

    def wait(self) -> None:
        """Until the relay exits (Ctrl-C reaches it too: it shares our terminal)."""
        if self._process is not None:
            self._process.wait()
