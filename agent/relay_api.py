"""The relay's REST calls the agent makes besides logging in: creating a transcript, and
reading (``get_json``: search, a transcript's retention).

A transcript recorded offline is created on the relay when the relay is back (by
:class:`agent.sync.RelaySync`, before it first connects), with ``client_doc``: the local
doc brings its own meta. 409 ("not available") is no error here: the id is ours already,
or, if another organization holds it, the websocket says so (4404) and the sync stops.
"""

from __future__ import annotations

import httpx

from engine import TranscriptDoc

from .credentials import CredentialStore, LoginError, Tokens, refresh


class RelayUnreachableError(Exception):
    """No answer from the relay (offline, or it is down): try again later."""


class RelayRefusedError(Exception):
    """The relay answered no; ``status`` 401 means the access token expired."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"the relay refused ({status}): {reason}")
        self.status = status


def creation(doc: TranscriptDoc) -> dict[str, object]:
    """The body that creates ``doc``'s transcript on a relay."""
    meta = doc.snapshot()["meta"]
    return {
        "transcript_id": meta["transcript_id"],
        "title": meta["title"],
        "language": meta["language"],
        "client_doc": True,
    }


async def create_transcript(tokens: Tokens, body: dict[str, object]) -> None:
    """Create the transcript on the relay unless it holds the id already.

    Raises:
        RelayUnreachableError: no answer.
        RelayRefusedError: any refusal but 409.
    """
    try:
        async with httpx.AsyncClient(timeout=10) as http:
            response = await http.post(
                f"{tokens.relay_url}/transcripts",
                json=body,
                headers={"Authorization": f"Bearer {tokens.access_token}"},
            )
    except httpx.HTTPError as exc:
        raise RelayUnreachableError(str(exc)) from None
    if response.status_code >= 500:
        raise RelayUnreachableError(f"the relay answered {response.status_code}")
    if response.status_code not in (201, 409):
        raise RelayRefusedError(response.status_code, error_reason(response))


def error_reason(response: httpx.Response) -> str:
    """The relay's ``error`` in a refusal (else the start of its body)."""
    try:
        body = response.json()
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    return str(error or response.text.strip()[:200])


async def get_json(
    tokens: Tokens, path: str, params: dict[str, str], *, credentials: CredentialStore
) -> tuple[Tokens, object]:
    """``GET path`` on the relay as the logged-in user; an expired access token is renewed
    once (and saved). Returns the tokens used and the JSON answer.

    Raises:
        RelayUnreachableError: no answer, or a 5xx.
        RelayRefusedError: any 4xx (with the relay's reason).
    """
    for attempt in range(2):
        try:
            async with httpx.AsyncClient(timeout=30) as http:
                response = await http.get(
                    f"{tokens.relay_url}{path}",
                    params=params,
                    headers={"Authorization": f"Bearer {tokens.access_token}"},
                )
        except httpx.HTTPError as exc:
            raise RelayUnreachableError(str(exc)) from None
        if response.status_code == 401 and attempt == 0:
            try:
                tokens = await refresh(tokens)
            except LoginError as exc:
                raise RelayRefusedError(401, str(exc)) from None
            credentials.put(tokens)
            continue
        if response.status_code >= 500:
            raise RelayUnreachableError(f"the relay answered {response.status_code}")
        if response.status_code >= 400:
            raise RelayRefusedError(response.status_code, error_reason(response))
        return tokens, response.json()
    raise AssertionError("unreachable")
