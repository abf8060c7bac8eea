"""Relay tokens kept by ``minuta login``: one entry per relay URL, in a 0600 JSON file.

Location: ``$MINUTA_CONFIG_DIR/credentials.json``, else ``~/.config/minuta/``.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx


class LoginError(Exception):
    """The relay refused the credentials, or could not be reached."""


@dataclass
class Tokens:
    relay_url: str
    username: str
    access_token: str
    refresh_token: str


def config_dir() -> Path:
    if env := os.environ.get("MINUTA_CONFIG_DIR"):
        return Path(env)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "minuta"


def normalize(relay_url: str) -> str:
    """``http://host:port`` without a trailing slash (ws:// and wss:// map to http(s))."""
    url = relay_url.strip().rstrip("/")
    for old, new in (("ws://", "http://"), ("wss://", "https://")):
        if url.startswith(old):
            url = new + url[len(old) :]
    if not url.startswith(("http://", "https://")):
        url = "http://" + url
    return url


class CredentialStore:
    def __init__(self, path: Path | None = None) -> None:
        self.path = path or config_dir() / "credentials.json"

    def _read(self) -> dict[str, dict[str, str]]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError):
            return {}  # unreadable: log in again
        return data if isinstance(data, dict) else {}

    def get(self, relay_url: str) -> Tokens | None:
        entry = self._read().get(normalize(relay_url))
        try:
            return Tokens(**entry) if entry else None
        except TypeError:
            return None

    def relays(self) -> list[str]:
        """The relays logged in to."""
        return sorted(self._read())

    def put(self, tokens: Tokens) -> None:
        data = self._read()
        data[tokens.relay_url] = asdict(tokens)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=2)
        os.replace(tmp, self.path)


def login(relay_url: str, username: str, password: str) -> Tokens:
    url = normalize(relay_url)
    try:
        response = httpx.post(
            f"{url}/auth/login", json={"username": username, "password": password}, timeout=10
        )
    except httpx.HTTPError as exc:
        raise LoginError(f"cannot reach the relay at {url}: {exc}") from None
    if response.status_code != 200:
        raise LoginError(f"the relay refused the login ({response.status_code})")
    body = response.json()
    return Tokens(url, username, body["access_token"], body["refresh_token"])


async def refresh(tokens: Tokens) -> Tokens:
    """New tokens from the refresh token. Raises LoginError if it is no longer valid."""
    try:
        async with httpx.AsyncClient(timeout=10) as http:
            response = await http.post(
                f"{tokens.relay_url}/auth/refresh", json={"refresh_token": tokens.refresh_token}
            )
    except httpx.HTTPError as exc:
        raise LoginError(f"cannot reach the relay: {exc}") from None
    if response.status_code != 200:
        raise LoginError("the session expired: run `minuta login` again")
    body = response.json()
    return Tokens(tokens.relay_url, tokens.username, body["access_token"], body["refresh_token"])
