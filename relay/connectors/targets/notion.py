"""Notion: a meeting is one page in a database, its action items ``to_do`` blocks in it.

The page, top to bottom: the participants, a ``heading_2`` per section with a
``bulleted_list_item`` per line, the transcript (when sent) folded in a ``toggle``, then a
small gray paragraph ending in the marker, which closes the note; the tasks' ``to_do``
blocks follow it. A re-push replaces the blocks from the top of the page down to that
paragraph and leaves the ``to_do`` blocks, and whatever a person added below, alone.

What this relies on, from Notion's API reference:

- Every request carries ``Authorization: Bearer <integration secret>`` and
  ``Notion-Version`` (else ``400 missing_version``). ``2022-06-28`` is pinned: from
  ``2025-09-03`` databases are queried as "data sources"; it keeps ``/v1/databases``.
- ``POST /v1/pages`` with ``parent.database_id`` adds a row; ``properties`` must set the
  database's ``title`` property; ``children`` is the page's content.
- Limits (``400 validation_error`` past them): 2,000 characters in a rich text's
  ``text.content`` (UTF-16 units, as JavaScript counts), 100 objects in a rich text
  array, 100 blocks in a ``children`` array, two levels of nesting, 500 KB a request.
- ``PATCH /v1/blocks/{id}/children`` appends (after block ``after``, else at the end) and
  answers the new blocks in ``results``; ``GET`` on it pages with ``start_cursor``,
  ``has_more``, ``next_cursor``; ``PATCH /v1/blocks/{id}`` updates a block (``checked``
  kept when omitted); ``DELETE /v1/blocks/{id}`` archives it (to Notion's trash).
- ``POST /v1/databases/{id}/query`` sorts on ``created_time``/``last_edited_time``; 404
  ``object_not_found`` also means "not shared with the integration"; 429
  ``rate_limited`` (about 3 requests a second) comes with ``Retry-After``.

The integration needs the read, insert and update content capabilities, and the database
shared with it (the database's ``•••`` menu, Connections).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

import httpx

from ._base import (
    Note,
    PermanentError,
    RetryableError,
    TargetName,
    Task,
    base_url,
    classify,
    json_of,
)

API_VERSION: Final = "2022-06-28"
DEFAULT_BASE_URL: Final = "https://api.notion.com"
MAX_TEXT: Final = 2000  # UTF-16 units in one rich text object's text.content
MAX_RICH_TEXT: Final = 100  # objects in one rich text array
MAX_CHILDREN: Final = 100  # blocks in one children array
BATCH_BYTES: Final = 400_000  # per request, under the documented 500 KB
TOGGLE_BYTES: Final = 200_000  # transcript sent with the note itself; the rest follows
NOTE_END: Final = "Written by Minuta: what is above is replaced when the meeting is pushed again. "

Block = dict[str, Any]
Config = Mapping[str, Any]  # a connector's credential or destination
_ID = re.compile(r"[0-9a-fA-F]{32}")


class Notion:
    name: TargetName = "notion"
    needs_note = True

    def check_config(self, credential: Mapping[str, Any], destination: Mapping[str, Any]) -> None:
        _settings(credential, destination)

    async def test(
        self, http: httpx.AsyncClient, credential: Mapping[str, Any], destination: Mapping[str, Any]
    ) -> str:
        """Read the database; also check its title property, which every push writes."""
        api, database_id, title_property = _open(http, credential, destination)
        database = await api.call(
            "GET",
            f"/v1/databases/{database_id}",
            gone="the database does not exist or is not shared with the integration "
            "(in Notion: the database's ••• menu, Connections, add it)",
        )
        name = "".join(_item_text(item) for item in database.get("title") or [])
        properties = database.get("properties") or {}
        if (properties.get(title_property) or {}).get("type") != "title":
            actual = [n for n, p in properties.items() if (p or {}).get("type") == "title"]
            hint = f"; its title property is {actual[0]!r}: set title_property" if actual else ""
            raise PermanentError(
                f"database {name!r} has no title property {title_property!r}{hint}"
            )
        return f"database {name!r}"

    async def push_note(
        self,
        http: httpx.AsyncClient,
        credential: Mapping[str, Any],
        destination: Mapping[str, Any],
        note: Note,
        *,
        external_id: str | None,
        marker: str,
    ) -> str:
        """Create the page with the note's blocks in one request when they fit (so the
        marker is there from the first answer on), the transcript's rest appended to its
        toggle. An update inserts the new blocks after the old marker paragraph and then
        deletes the old ones: a failure midway leaves the note twice, never none, and the
        retry converges, as it replaces everything down to the last marker."""
        api, database_id, title_property = _open(http, credential, destination)
        title = {title_property: {"title": _rich(note.heading())[:1]}}
        top, rest = note_blocks(note, marker)
        if external_id is None:
            batches = _batches(top)
            parent = {"database_id": database_id}
            body = {"parent": parent, "properties": title, "children": batches[0]}
            page = await api.call("POST", "/v1/pages", body)
            page_id = _id_of(page)
            made = await self._insert(api, page_id, [b for batch in batches[1:] for b in batch])
            if rest:
                if not any(b.get("type") == "toggle" for b in made):
                    made = await self._children(api, page_id)  # it went with the page
                await self._insert(api, _toggle_id(made), rest)
            return page_id
        page_id = external_id
        gone = f"the page {page_id} was deleted in Notion or is no longer shared"
        await api.call("PATCH", f"/v1/pages/{page_id}", {"properties": title}, gone=gone)
        children = await self._children(api, page_id)
        ends = [i for i, block in enumerate(children) if _marked(block, marker, "paragraph")]
        old = [b for b in children[: ends[-1] + 1] if b.get("type") != "to_do"] if ends else []
        made = await self._insert(api, page_id, top, _id_of(children[ends[-1]]) if ends else None)
        if rest:
            await self._insert(api, _toggle_id(made), rest)
        for block in old:
            await api.call("DELETE", f"/v1/blocks/{block['id']}", missing_ok=True)
        return page_id

    async def push_task(
        self,
        http: httpx.AsyncClient,
        credential: Mapping[str, Any],
        destination: Mapping[str, Any],
        task: Task,
        *,
        external_id: str | None,
        marker: str,
        note_id: str | None,
    ) -> str:
        """A ``to_do`` at the end of the note's page, checked when done. A dismissed task
        is checked and struck through rather than deleted: a person reading the page sees
        it was raised and dropped, and a later reopen can uncheck the same block."""
        api, _, _ = _open(http, credential, destination)
        if note_id is None:
            raise PermanentError(
                "a Notion task is a to_do in the meeting's page: the note must be pushed first"
            )
        to_do = {"rich_text": task_text(task, marker), "checked": task.status != "open"}
        if external_id is not None:
            gone = f"the to_do {external_id} was deleted in Notion"
            await api.call("PATCH", f"/v1/blocks/{external_id}", {"to_do": to_do}, gone=gone)
            return external_id
        block = {"object": "block", "type": "to_do", "to_do": to_do}
        made = await self._insert(api, note_id, [block])
        return _id_of(made[-1] if made else None)

    async def find(
        self,
        http: httpx.AsyncClient,
        credential: Mapping[str, Any],
        destination: Mapping[str, Any],
        *,
        kind: Literal["note", "task"],
        marker: str,
    ) -> str | None:
        """Look in the database's most recently created (a note) or edited (a task) pages
        for the marker: a lost answer is that recent. Notion cannot search page content,
        so an object beyond those pages is not found (None), and the dispatcher creates
        it again."""
        api, database_id, _ = _open(http, credential, destination)
        stamp = "created_time" if kind == "note" else "last_edited_time"
        query = {"sorts": [{"timestamp": stamp, "direction": "descending"}], "page_size": 5}
        answer = await api.call("POST", f"/v1/databases/{database_id}/query", query)
        for page in answer.get("results") or []:
            for block in await self._children(api, _id_of(page)):
                if kind == "note" and _marked(block, marker, "paragraph"):
                    return _id_of(page)
                if kind == "task" and _marked(block, marker, "to_do"):
                    return _id_of(block)
        return None

    async def _children(self, api: _Api, block_id: str) -> list[Block]:
        """All of a block's (or page's) children, page after page."""
        blocks: list[Block] = []
        params: dict[str, str | int] = {"page_size": MAX_CHILDREN}
        while True:
            answer = await api.call("GET", f"/v1/blocks/{block_id}/children", params=params)
            blocks.extend(answer.get("results") or [])
            if not answer.get("has_more") or not answer.get("next_cursor"):
                return blocks
            params["start_cursor"] = answer["next_cursor"]

    async def _insert(
        self, api: _Api, parent_id: str, blocks: list[Block], after: str | None = None
    ) -> list[Block]:
        """Append ``blocks`` under ``parent_id`` (after block ``after``, in order), in as
        many requests as the limits take; returns the blocks made."""
        made: list[Block] = []
        for batch in _batches(blocks):
            body: dict[str, Any] = {"children": batch}
            if after is not None:
                body["after"] = after
            answer = await api.call("PATCH", f"/v1/blocks/{parent_id}/children", body)
            results = answer.get("results") or []
            made.extend(results)
            if after is not None and results:
                after = _id_of(results[-1])
        return made


def note_blocks(note: Note, marker: str) -> tuple[list[Block], list[Block]]:
    """The note's top-level blocks, the transcript toggle holding what fits of it in the
    first request, and the transcript paragraphs left over for the toggle."""
    blocks: list[Block] = []
    if note.participants:
        blocks.append(_block("paragraph", _rich("Participants: " + ", ".join(note.participants))))
    for heading, lines in note.sections():
        blocks.append(_block("heading_2", _rich(heading)))
        blocks.extend(_block("bulleted_list_item", _rich(line)) for line in lines)
    rest: list[Block] = []
    if note.transcript:
        pieces = [p.strip("\n") for p in _pieces(note.transcript)]
        paragraphs = [_block("paragraph", _rich(p)) for p in pieces if p.strip()]
        if paragraphs:
            first, *later = _batches(paragraphs, TOGGLE_BYTES)
            rest = [b for batch in later for b in batch]
            blocks.append(_block("toggle", _rich("Transcript"), children=first))
    end = _rich(NOTE_END, color="gray") + _rich(marker, color="gray", code=True)
    blocks.append(_block("paragraph", end))
    return blocks, rest


def task_text(task: Task, marker: str) -> list[dict[str, Any]]:
    """ "text — owner, due YYYY-MM-DD", then the marker in small gray code: ``find`` reads
    it back from the page's blocks, and a person's eye slides over it."""
    label = task.text.strip() or task.action_id
    details = [d for d in (task.owner, f"due {task.due}" if task.due else None) if d]
    if details:
        label += " — " + ", ".join(details)
    style = {"strikethrough": True} if task.status == "dismissed" else {}
    mark = _rich("  " + marker, color="gray", code=True)
    return _rich(label, **style)[: MAX_RICH_TEXT - 1] + mark


@dataclass(frozen=True)
class _Api:
    http: httpx.AsyncClient
    base: str
    token: str

    async def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        params: Mapping[str, str | int] | None = None,
        gone: str | None = None,
        missing_ok: bool = False,
    ) -> dict[str, Any]:
        """One call; returns its JSON object. Like :func:`~._base.request`, with plain
        reasons for 401 and 403, and ``gone`` for a 404 when given (``{}`` when
        ``missing_ok``: a block deleted meanwhile is deleted)."""
        headers = {"Authorization": f"Bearer {self.token}", "Notion-Version": API_VERSION}
        url = self.base + path
        try:
            response = await self.http.request(
                method, url, headers=headers, json=body, params=params
            )
        except httpx.TimeoutException:
            raise RetryableError(f"{method} {url}: timed out") from None
        except httpx.HTTPError as exc:
            raise RetryableError(f"{method} {url}: {type(exc).__name__}: {exc}") from None
        status = response.status_code
        if response.is_success:
            answer = json_of(response)
            return answer if isinstance(answer, dict) else {}  # no id in it: _id_of says so
        if status == 401:
            raise PermanentError("HTTP 401: Notion refused the token: wrong, or revoked")
        if status == 403:
            raise PermanentError("HTTP 403: the integration lacks a read/insert/update capability")
        if status == 404 and missing_ok:
            return {}
        if status == 404 and gone:
            raise PermanentError(f"HTTP 404: {gone}")
        raise classify(status, response.headers, response.text)


def _open(http: httpx.AsyncClient, cred: Config, dest: Config) -> tuple[_Api, str, str]:
    token, base, database_id, title_property = _settings(cred, dest)
    return _Api(http, base, token), database_id, title_property


def _settings(credential: Config, destination: Config) -> tuple[str, str, str, str]:
    """(token, base URL, database id, title property), or ``ValueError`` naming the field."""
    token = credential.get("token")
    if not isinstance(token, str) or not token.strip() or any(c.isspace() for c in token):
        raise ValueError("credential.token must be the Notion integration's secret")
    database_id = destination.get("database_id")
    if not isinstance(database_id, str) or not _ID.fullmatch(database_id.replace("-", "")):
        raise ValueError("destination.database_id must be the database's id (32 hex digits)")
    title_property = destination.get("title_property", "Name")
    if not isinstance(title_property, str) or not title_property.strip():
        raise ValueError("destination.title_property must name the database's title property")
    return (
        token,
        base_url(destination.get("base_url"), DEFAULT_BASE_URL),
        database_id,
        title_property,
    )


def _block(kind: str, rich_text: list[dict[str, Any]], **extra: Any) -> Block:
    return {"object": "block", "type": kind, kind: {"rich_text": rich_text, **extra}}


def _rich(text: str, **annotations: bool | str) -> list[dict[str, Any]]:
    """Rich text objects of at most 2,000 units each, 100 at most (200,000 units)."""
    style = {"annotations": dict(annotations)} if annotations else {}
    pieces = _pieces(text)[:MAX_RICH_TEXT]
    return [{"type": "text", "text": {"content": piece}, **style} for piece in pieces]


def _pieces(text: str, limit: int = MAX_TEXT) -> list[str]:
    """``text`` cut into pieces of at most ``limit`` UTF-16 units, after a line end, else
    a space, in the piece's second half when there is one."""
    pieces: list[str] = []
    while text:
        units, cut = 0, len(text)
        for i, char in enumerate(text):
            units += 2 if ord(char) > 0xFFFF else 1
            if units > limit:
                cut = i
                break
        if cut < len(text):
            head = text[:cut]
            brk = head.rfind("\n")
            if brk < cut // 2:
                brk = head.rfind(" ")
            cut = brk + 1 if brk >= cut // 2 else cut
        pieces.append(text[:cut])
        text = text[cut:]
    return pieces


def _batches(blocks: list[Block], max_bytes: int = BATCH_BYTES) -> list[list[Block]]:
    """``blocks`` in runs of at most 100 and about ``max_bytes`` of JSON each."""
    batches: list[list[Block]] = []
    size = 0
    for block in blocks:
        weight = len(json.dumps(block).encode())
        if not batches or len(batches[-1]) >= MAX_CHILDREN or size + weight > max_bytes:
            batches.append([])
            size = 0
        batches[-1].append(block)
        size += weight
    return batches


def _item_text(item: Any) -> str:
    ok = isinstance(item, dict)
    text = item.get("plain_text", (item.get("text") or {}).get("content")) if ok else None
    return text if isinstance(text, str) else ""


def _marked(block: Block, marker: str, kind: str) -> bool:
    """Whether ``block`` is a ``kind`` block one of whose rich text objects is the marker:
    the note's end is a ``paragraph``, a task a ``to_do``."""
    items = (block.get(kind) or {}).get("rich_text") if block.get("type") == kind else None
    return any(_item_text(item).strip() == marker for item in items or [])


def _toggle_id(blocks: list[Block]) -> str:
    return _id_of(next((b for b in blocks if b.get("type") == "toggle"), None))


def _id_of(answer: Any) -> str:
    if not isinstance(answer, dict) or not isinstance(answer.get("id"), str):
        raise RetryableError(f"Notion answered without the id: {str(answer)[:80]!r}")
    return str(answer["id"])


TARGET = Notion()
