"""Notion's API (version 2022-06-28) as far as the Notion target uses it: one database,
its pages and their blocks.

It checks what Notion checks: the bearer token (401 ``unauthorized``), the
``Notion-Version`` header (400 ``missing_version``), ids and the documented limits (2,000
UTF-16 units a text, 100 rich text objects, 100 children, two levels of nesting: 400
``validation_error``); an unknown id is 404 ``object_not_found``. Lists hold at most
``page_limit`` results (Notion: 100). A delete archives: archived blocks are left out of
lists and refuse edits, as in Notion.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from ._server import Answer, FakeVendor, Request

Json = dict[str, Any]
Handler = Callable[[Request, Json], Answer]
Route = Callable[[Request], Answer]
BLOCK_TYPES = {"paragraph", "heading_1", "heading_2", "heading_3", "bulleted_list_item", "to_do"}
BLOCK_TYPES |= {"numbered_list_item", "toggle"}
ARCHIVED = "Can't edit block that is archived. You must unarchive the block before editing."
NOT_SHARED = "Make sure the relevant pages and databases are shared with your integration."
_EPOCH = datetime(2024, 5, 2, 9, 0, tzinfo=UTC)
_STYLE: Json = {"bold": False, "italic": False, "strikethrough": False, "underline": False}
_STYLE |= {"code": False, "color": "default"}


def error(status: int, code: str, message: str) -> Answer:
    body = {"object": "error", "status": status, "code": code, "message": message}
    return (status, body | {"request_id": str(uuid.uuid4())})


def invalid(message: str) -> Answer:
    return error(400, "validation_error", "body failed validation: " + message)


def units(text: str) -> int:
    """Length as JavaScript counts it (UTF-16 code units), as Notion's limits do."""
    return len(text.encode("utf-16-le")) // 2


def canonical(value: str) -> str | None:
    """The dashed form of a Notion id (Notion takes it with or without dashes)."""
    try:
        return str(uuid.UUID(hex=value.replace("-", "")))
    except ValueError:
        return None


def plain(block: Json) -> str:
    return "".join(item["plain_text"] for item in block[block["type"]].get("rich_text", []))


class FakeNotion(FakeVendor):
    def __init__(self, token: str = "ntn_test", *, title: str = "Meetings", page_limit: int = 100):
        super().__init__()
        self.token, self.page_limit = token, page_limit
        self.database_id = str(uuid.uuid4())
        schema = {"Name": {"id": "title", "name": "Name", "type": "title", "title": {}}}
        title_text = rich([{"text": {"content": title}}])
        self.database: Json = {"object": "database", "id": self.database_id, "title": title_text}
        self.database["properties"] = schema
        self.pages: dict[str, Json] = {}
        self.blocks: dict[str, Json] = {}
        self.children: dict[str, list[str]] = {}  # page or block id -> its blocks' ids
        self._clock = 0
        self._state = threading.RLock()

    def routes(self) -> list[tuple[str, str, Route]]:
        one, db = "(?P<id>[^/]+)", [{self.database_id: self.database}]
        pages, blocks, parents = [self.pages], [self.blocks], [self.pages, self.blocks]
        table: list[tuple[str, str, Handler, list[dict[str, Json]]]] = [
            ("GET", f"/v1/databases/{one}", lambda _, found: (200, found), db),
            ("POST", f"/v1/databases/{one}/query", self._query, db),
            ("POST", "/v1/pages", self._create_page, []),
            ("PATCH", f"/v1/pages/{one}", self._update_page, pages),
            ("GET", f"/v1/blocks/{one}/children", self._list, parents),
            ("PATCH", f"/v1/blocks/{one}/children", self._append, parents),
            ("PATCH", f"/v1/blocks/{one}", self._update_block, blocks),
            ("DELETE", f"/v1/blocks/{one}", self._update_block, blocks),
        ]
        return [(method, path, self._guarded(h, where)) for method, path, h, where in table]

    def blocks_of(self, parent_id: str) -> list[Json]:
        """The live children of a page or block, as Notion lists them (for tests)."""
        return [self._render(i) for i in self.children.get(parent_id, []) if self._live(i)]

    def texts_of(self, parent_id: str) -> list[tuple[str, str]]:
        return [(block["type"], plain(block)) for block in self.blocks_of(parent_id)]

    def _guarded(self, handler: Handler, where: list[dict[str, Json]]) -> Route:
        """Auth and version first, then the path's object (404 unless found in ``where``)."""

        def run(request: Request) -> Answer:
            if request.headers.get("authorization") != f"Bearer {self.token}":
                return error(401, "unauthorized", "API token is invalid.")
            if not request.headers.get("notion-version"):
                message = "Notion-Version header failed validation: it should be defined."
                return error(400, "missing_version", message)
            raw = (request.match.groupdict() if request.match else {}).get("id")
            if raw is not None and canonical(raw) is None:
                return invalid(f"path.id should be a valid uuid, instead was `{raw}`.")
            with self._state:
                found = next((t[i] for t in where if (i := canonical(raw or "")) in t), None)
                if where and found is None:
                    return error(404, "object_not_found", f"Could not find {raw}. {NOT_SHARED}")
                return handler(request, found or {})

        return run

    def _query(self, request: Request, _: Json) -> Answer:
        body = request.json() or {}
        pages = [page for page in self.pages.values() if not page["archived"]]
        for sort in reversed(body.get("sorts") or []):
            key = sort.get("timestamp") or "created_time"
            pages.sort(key=lambda p: str(p[key]), reverse=sort.get("direction") == "descending")
        size = min(int(body.get("page_size") or 100), self.page_limit)
        return (200, listing(pages[:size], more=len(pages) > size))

    def _create_page(self, request: Request, _: Json) -> Answer:
        body = request.json() or {}
        parent = canonical(str((body.get("parent") or {}).get("database_id") or ""))
        if parent != self.database_id:
            return error(404, "object_not_found", f"Could not find database {parent}. {NOT_SHARED}")
        problem = self._check_title(body.get("properties"))
        problem = problem or check_children(body.get("children", []), "body.children", 1)
        if problem:
            return invalid(problem)
        page_id, now = str(uuid.uuid4()), self._tick()
        page: Json = {"object": "page", "id": page_id, "created_time": now, "last_edited_time": now}
        page |= {"archived": False, "parent": {"type": "database_id", "database_id": parent}}
        page |= {"properties": {}, "url": f"https://www.notion.so/{page_id.replace('-', '')}"}
        self.pages[page_id] = page
        self._set_title(page, body["properties"])
        self._add(page_id, body.get("children", []), None)
        return (200, page)

    def _update_page(self, request: Request, page: Json) -> Answer:
        properties = (request.json() or {}).get("properties") or {}
        problem = self._check_title(properties) if properties else None
        if properties and not problem:
            self._set_title(page, properties)
        return invalid(problem) if problem else (200, page)

    def _list(self, request: Request, parent: Json) -> Answer:
        ids = [i for i in self.children.get(parent["id"], []) if self._live(i)]
        cursor = request.arg("start_cursor")
        start = ids.index(cursor) if cursor in ids else 0
        end = start + min(int(request.arg("page_size") or 100), self.page_limit)
        answer = listing([self._render(i) for i in ids[start:end]], more=end < len(ids))
        return (200, answer | {"next_cursor": ids[end] if end < len(ids) else None})

    def _append(self, request: Request, parent: Json) -> Answer:
        body = request.json() or {}
        problem = check_children(body.get("children"), "body.children", 1)
        after = canonical(str(body["after"])) if body.get("after") else None
        if after is not None and after not in self.children.get(parent["id"], []):
            problem = problem or f"body.after: {after} is not a child of the block."
        if problem:
            return invalid(problem)
        made = self._add(parent["id"], body["children"], after)
        return (200, listing([self._render(i) for i in made], more=False))

    def _update_block(self, request: Request, block: Json) -> Answer:
        """``PATCH`` the block's content, or ``DELETE`` it: archive it."""
        body: Json = {"archived": True} if request.method == "DELETE" else request.json() or {}
        kind = block["type"]
        if block["archived"]:
            return error(400, "validation_error", ARCHIVED)
        content = body.get(kind) or {}
        problem = check_rich_text(content.get("rich_text", []), f"body.{kind}.rich_text")
        if any(key in BLOCK_TYPES and key != kind for key in body):
            problem = f"the block is a {kind}."
        if problem:
            return invalid(problem)
        if "rich_text" in content:
            block[kind]["rich_text"] = rich(content["rich_text"])
        if "checked" in content and kind == "to_do":
            block[kind]["checked"] = bool(content["checked"])
        block["archived"] = bool(body.get("archived", False))
        self._touch(block["id"])
        return (200, self._render(block["id"]))

    def _check_title(self, properties: Any) -> str | None:
        if not isinstance(properties, dict):
            return "body.properties should be an object."
        unknown = [name for name in properties if name not in self.database["properties"]]
        if unknown:
            return f"{unknown[0]} is not a property that exists."
        if "Name" not in properties:
            return "body.properties.Name should be defined, instead was `undefined`."
        return check_rich_text((properties["Name"] or {}).get("title"), "properties.Name.title")

    def _set_title(self, page: Json, properties: Json) -> None:
        title = rich(properties["Name"]["title"])
        page["properties"]["Name"] = {"id": "title", "type": "title", "title": title}
        self._touch(page["id"])

    def _add(self, parent: str, children: list[Json], after: str | None) -> list[str]:
        made: list[str] = []
        for child in children:
            block_id, kind, now = str(uuid.uuid4()), child["type"], self._tick()
            content = {k: v for k, v in child[kind].items() if k != "children"}
            content["rich_text"] = rich(content.get("rich_text", []))
            if kind == "to_do":
                content["checked"] = bool(content.get("checked", False))
            where = "page_id" if parent in self.pages else "block_id"
            block: Json = {"object": "block", "id": block_id, "type": kind, kind: content}
            block |= {"parent": {"type": where, where: parent}, "archived": False}
            self.blocks[block_id] = block | {"created_time": now, "last_edited_time": now}
            siblings = self.children.setdefault(parent, [])
            siblings.insert(siblings.index(after) + 1 if after else len(siblings), block_id)
            after = block_id if after else None
            self._add(block_id, child[kind].get("children", []), None)
            made.append(block_id)
        self._touch(parent)
        return made

    def _render(self, block_id: str) -> Json:
        live = any(self._live(i) for i in self.children.get(block_id, []))
        return self.blocks[block_id] | {"has_children": live}

    def _live(self, block_id: str) -> bool:
        return not self.blocks[block_id]["archived"]

    def _touch(self, object_id: str) -> None:
        """Edit times move up to the page, as Notion's ``last_edited_time`` does."""
        now = self._tick()
        while object_id in self.blocks:
            self.blocks[object_id]["last_edited_time"] = now
            parent = self.blocks[object_id]["parent"]
            object_id = parent.get("page_id") or parent.get("block_id")
        if object_id in self.pages:
            self.pages[object_id]["last_edited_time"] = now

    def _tick(self) -> str:
        self._clock += 1
        return (_EPOCH + timedelta(seconds=self._clock)).isoformat().replace("+00:00", ".000Z")


def check_children(children: Any, path: str, depth: int) -> str | None:
    if not isinstance(children, list):
        return f"{path} should be an array."
    if len(children) > 100:
        return f"{path}.length should be ≤ `100`, instead was `{len(children)}`."
    for i, block in enumerate(children):
        kind = block.get("type") if isinstance(block, dict) else None
        if kind not in BLOCK_TYPES or not isinstance(block.get(kind), dict):
            return f"{path}[{i}] should be a block of a known type."
        where = f"{path}[{i}].{kind}"
        problem = check_rich_text(block[kind].get("rich_text"), where + ".rich_text")
        if problem is None and "children" in block[kind]:
            if depth >= 2:
                return f"{where}.children should be not present (nested too deep)."
            problem = check_children(block[kind]["children"], where + ".children", depth + 1)
        if problem:
            return problem
    return None


def check_rich_text(items: Any, path: str) -> str | None:
    if not isinstance(items, list):
        return f"{path} should be defined, instead was `undefined`."
    if len(items) > 100:
        return f"{path}.length should be ≤ `100`, instead was `{len(items)}`."
    for i, item in enumerate(items):
        content = ((item or {}).get("text") or {}).get("content")
        if not isinstance(content, str):
            return f"{path}[{i}].text.content should be a string."
        if units(content) > 2000:
            return f"{path}[{i}].text.content.length should be ≤ `2000`, not `{units(content)}`."
    return None


def rich(items: list[Json]) -> list[Json]:
    """Rich text as Notion answers it: annotations filled in, ``plain_text`` added."""
    out = []
    for item in items:
        text, style = item["text"]["content"], _STYLE | (item.get("annotations") or {})
        out.append({"type": "text", "text": {"content": text, "link": None}, "href": None})
        out[-1] |= {"annotations": style, "plain_text": text}
    return out


def listing(results: list[Json], *, more: bool) -> Json:
    return {"object": "list", "results": results, "next_cursor": None, "has_more": more}
