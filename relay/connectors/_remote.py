"""The outbox over the relay's REST API, for ``minuta worker --dispatch``.

The worker signs in as an admin of its org and claims that org's rows with
``POST /connectors/outbox/claim``; credentials travel sealed, and the worker opens them
with its own ``MINUTA_CONNECTOR_KEY`` (the relay's). Results go back with
``POST /connectors/outbox/{push_id}/done``. A result the relay cannot take now (it is
down) is retried; the row's lease keeps it from being sent twice meanwhile, and after the
lease the marker lookup does.
"""

from __future__ import annotations

import logging
from typing import Any

import anyio
import httpx

from ..workers._client import RelayLogin, RelayLoginError
from ._claims import Claimed

log = logging.getLogger(__name__)

RESULT_TRIES = 5


class RemoteOutbox:
    def __init__(self, login: RelayLogin, *, timeout_s: float = 20.0) -> None:
        self.login = login
        self.timeout_s = timeout_s

    async def check(self) -> None:
        """Raise :class:`RelayLoginError` if this account may not dispatch."""
        try:
            await self._post("/connectors/outbox/claim", {"limit": 0, "lease_s": 60})
        except httpx.HTTPStatusError as exc:
            reason = exc.response.text[:200]
            raise RelayLoginError(f"the relay does not hand out pushes: {reason}") from None
        except httpx.HTTPError as exc:
            raise RelayLoginError(f"cannot reach the relay: {exc}") from None

    async def claim(self, *, lease_s: float, limit: int) -> list[Claimed]:
        try:
            answer = await self._post("/connectors/outbox/claim",
                                      {"limit": limit, "lease_s": lease_s})  # fmt: skip
        except httpx.HTTPError as exc:
            log.warning("cannot claim pushes from %s: %s", self.login.relay_url, exc)
            return []
        return [Claimed.from_json(row) for row in answer["claimed"]]

    async def sent(self, row: Claimed, external_id: str) -> bool:
        answer = await self._result(row, {"outcome": "sent", "external_id": external_id})
        return bool(answer and answer.get("stored"))

    async def retry_later(self, row: Claimed, reason: str, delay_s: float) -> None:
        await self._result(row, {"outcome": "retry", "reason": reason, "delay_s": delay_s})

    async def give_up(self, row: Claimed, reason: str, *, dead: bool) -> None:
        await self._result(row, {"outcome": "dead" if dead else "failed", "reason": reason})

    async def _result(self, row: Claimed, body: dict[str, Any]) -> dict[str, Any] | None:
        path = f"/connectors/outbox/{row.push_id}/done"
        for attempt in range(RESULT_TRIES):
            try:
                return await self._post(path, {"attempt": row.attempt, **body})
            except httpx.HTTPError as exc:
                log.warning("push %s: cannot tell the relay (%s); again", row.push_id, exc)
                await anyio.sleep(min(2**attempt, 10))
        return None

    async def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = await self.login.request("POST", path, json=body, timeout_s=self.timeout_s)
        if response.status_code == 403:
            raise RelayLoginError(
                f"{self.login.username} may not dispatch pushes: it takes an admin account"
            )
        response.raise_for_status()
        answer: dict[str, Any] = response.json()
        return answer
