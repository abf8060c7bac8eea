"""The Notion target against a fake Notion over real HTTP (127.0.0.1 only)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any, Literal

import httpx
import pytest
from vendors.notion import FakeNotion, units

from relay.connectors.targets import PermanentError, RetryableError
from relay.connectors.targets._base import Note, Task
from relay.connectors.targets.notion import API_VERSION, NOTE_END, TARGET

pytestmark = pytest.mark.anyio

TOKEN = "ntn_test"
MARK = "minuta:3f2a9c0d1e5b7a44"
NOTE = Note(
    transcript_id="t1",
    title="Weekly sync",
    started_at="2024-05-02T09:00:00Z",
    language="en",
    context=["Launch moved to June"],
    needs=["Legal review of the contract"],
    next_steps=["Ana: send the deck (2024-05-06)"],
    participants=["Ana", "Bo"],
)


def task(status: Literal["open", "done", "dismissed"] = "open", **changes: Any) -> Task:
    fields: dict[str, Any] = {"transcript_id": "t1", "action_id": "a1", "text": "Send the deck"}
    fields |= {
        "owner": "Ana",
        "due": "2024-05-06",
        "status": status,
        "meeting_title": "Weekly sync",
    }
    return Task(**(fields | changes))


@pytest.fixture
def fake() -> Iterator[FakeNotion]:
    fake = FakeNotion(TOKEN)
    with fake:
        yield fake


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5) as client:
        yield client


def where(fake: FakeNotion, **extra: Any) -> dict[str, Any]:
    return {"database_id": fake.database_id, "base_url": fake.url} | extra


async def push_note(
    http: httpx.AsyncClient, fake: FakeNotion, note: Note = NOTE, external_id: str | None = None
) -> str:
    return await TARGET.push_note(
        http, {"token": TOKEN}, where(fake), note, external_id=external_id, marker=MARK
    )


async def push_task(
    http: httpx.AsyncClient, fake: FakeNotion, item: Task, note_id: str | None, **kw: Any
) -> str:
    return await TARGET.push_task(
        http,
        {"token": TOKEN},
        where(fake),
        item,
        external_id=kw.get("external_id"),
        marker=kw.get("marker", "minuta:aaaabbbbccccdddd"),
        note_id=note_id,
    )


async def test_note_is_a_page_with_its_blocks_the_marker_and_the_version_header(
    http: httpx.AsyncClient, fake: FakeNotion
) -> None:
    page_id = await push_note(http, fake)
    title = fake.pages[page_id]["properties"]["Name"]["title"][0]["plain_text"]
    assert title == "Weekly sync (2024-05-02)"
    assert fake.texts_of(page_id) == [
        ("paragraph", "Participants: Ana, Bo"),
        ("heading_2", "Context"),
        ("bulleted_list_item", "Launch moved to June"),
        ("heading_2", "Needs"),
        ("bulleted_list_item", "Legal review of the contract"),
        ("heading_2", "Next steps"),
        ("bulleted_list_item", "Ana: send the deck (2024-05-06)"),
        ("paragraph", NOTE_END + MARK),
    ]
    assert all(r.headers["notion-version"] == API_VERSION for r in fake.requests)
    assert len(fake.hits("POST", r"/v1/pages")) == 1


async def test_a_repush_replaces_the_note_in_place_and_keeps_the_tasks(
    http: httpx.AsyncClient, fake: FakeNotion
) -> None:
    page_id = await push_note(http, fake)
    todo = await push_task(http, fake, task(), page_id)
    changed = Note(**{**NOTE.__dict__, "title": "Weekly sync v2", "context": ["Launch in July"]})
    assert await push_note(http, fake, changed, external_id=page_id) == page_id
    assert len(fake.pages) == 1
    texts = fake.texts_of(page_id)
    assert ("bulleted_list_item", "Launch in July") in texts
    assert ("bulleted_list_item", "Launch moved to June") not in texts
    assert [t for t, _ in texts].count("paragraph") == 2  # participants, one end marker
    assert texts[-1][0] == "to_do" and fake.blocks_of(page_id)[-1]["id"] == todo
    assert texts[-2] == ("paragraph", NOTE_END + MARK)  # the note stays above the tasks
    title = fake.pages[page_id]["properties"]["Name"]["title"][0]["plain_text"]
    assert title == "Weekly sync v2 (2024-05-02)"


async def test_a_repush_reads_the_page_across_list_pages(http: httpx.AsyncClient) -> None:
    fake = FakeNotion(TOKEN, page_limit=3)
    with fake:
        page_id = await push_note(http, fake)
        await push_note(http, fake, external_id=page_id)
        assert len(fake.texts_of(page_id)) == 8
        assert len(fake.hits("GET", r"/v1/blocks/[^/]+/children")) == 3


async def test_tasks_are_to_dos_appended_to_the_note_and_checked_when_done(
    http: httpx.AsyncClient, fake: FakeNotion
) -> None:
    page_id = await push_note(http, fake)
    todo = await push_task(http, fake, task(), page_id)
    block = fake.blocks[todo]
    assert block["type"] == "to_do" and block["to_do"]["checked"] is False
    assert [i["plain_text"] for i in block["to_do"]["rich_text"]] == [
        "Send the deck — Ana, due 2024-05-06",
        "  minuta:aaaabbbbccccdddd",
    ]
    assert block["to_do"]["rich_text"][1]["annotations"]["color"] == "gray"
    assert await push_task(http, fake, task("done"), page_id, external_id=todo) == todo
    assert fake.blocks[todo]["to_do"]["checked"] is True
    assert len(fake.hits("PATCH", rf"/v1/blocks/{todo}")) == 1


async def test_a_dismissed_task_is_checked_and_struck_through(
    http: httpx.AsyncClient, fake: FakeNotion
) -> None:
    page_id = await push_note(http, fake)
    todo = await push_task(http, fake, task("dismissed", owner=None, due=None), page_id)
    first = fake.blocks[todo]["to_do"]["rich_text"][0]
    assert fake.blocks[todo]["to_do"]["checked"] is True
    assert first["plain_text"] == "Send the deck" and first["annotations"]["strikethrough"]


async def test_a_task_before_its_note_is_refused(http: httpx.AsyncClient, fake: FakeNotion) -> None:
    with pytest.raises(PermanentError, match=r"the note must be pushed first"):
        await push_task(http, fake, task(), None)
    assert fake.requests == []


async def test_a_long_transcript_is_cut_under_the_limits(
    http: httpx.AsyncClient, fake: FakeNotion
) -> None:
    line = "Ana: we ship in June, then we measure 😀 and decide again. "
    transcript = "\n".join(line * 3 for _ in range(2400))  # ~430,000 characters, emoji too
    page_id = await push_note(http, fake, Note(**{**NOTE.__dict__, "transcript": transcript}))
    toggle = next(b for b in fake.blocks_of(page_id) if b["type"] == "toggle")
    paragraphs = fake.texts_of(toggle["id"])
    assert len(paragraphs) > 200  # more than two requests' worth of children
    assert all(units(text) <= 2000 for _, text in paragraphs)
    assert "".join(t for _, t in paragraphs).replace("\n", "") == transcript.replace("\n", "")
    assert fake.texts_of(page_id)[-1] == ("paragraph", NOTE_END + MARK)
    assert len(fake.hits("PATCH", rf"/v1/blocks/{toggle['id']}/children")) >= 2
    assert all(r.method != "PATCH" or b'"after"' not in r.body for r in fake.requests)
    await push_note(http, fake, Note(**{**NOTE.__dict__, "transcript": transcript}), page_id)
    assert [t for t, _ in fake.texts_of(page_id)].count("toggle") == 1
    assert fake.texts_of(page_id)[-1] == ("paragraph", NOTE_END + MARK)


async def test_find_adopts_the_note_and_the_task_by_their_marker(
    http: httpx.AsyncClient, fake: FakeNotion
) -> None:
    page_id = await push_note(http, fake)
    todo = await push_task(http, fake, task(), page_id, marker="minuta:1111222233334444")
    args = ({"token": TOKEN}, where(fake))
    assert await TARGET.find(http, *args, kind="note", marker=MARK) == page_id
    assert await TARGET.find(http, *args, kind="task", marker="minuta:1111222233334444") == todo
    assert await TARGET.find(http, *args, kind="task", marker=MARK) is None
    assert await TARGET.find(http, *args, kind="note", marker="minuta:0000000000000000") is None


async def test_test_names_the_database(http: httpx.AsyncClient, fake: FakeNotion) -> None:
    assert await TARGET.test(http, {"token": TOKEN}, where(fake)) == "database 'Meetings'"


async def test_test_says_the_token_is_refused(http: httpx.AsyncClient, fake: FakeNotion) -> None:
    with pytest.raises(PermanentError, match=r"HTTP 401: Notion refused the token"):
        await TARGET.test(http, {"token": "ntn_wrong"}, where(fake))


async def test_test_says_the_database_is_missing_or_not_shared(
    http: httpx.AsyncClient, fake: FakeNotion
) -> None:
    other = where(fake, database_id="0" * 32)
    with pytest.raises(PermanentError, match=r"does not exist or is not shared with the integ"):
        await TARGET.test(http, {"token": TOKEN}, other)


async def test_test_names_the_real_title_property(
    http: httpx.AsyncClient, fake: FakeNotion
) -> None:
    with pytest.raises(PermanentError, match=r"no title property 'Title'; its title .* 'Name'"):
        await TARGET.test(http, {"token": TOKEN}, where(fake, title_property="Title"))


async def test_rate_limits_and_server_errors_are_retryable(
    http: httpx.AsyncClient, fake: FakeNotion
) -> None:
    fake.fail(429, retry_after=7, body={"object": "error", "code": "rate_limited"})
    with pytest.raises(RetryableError) as limited:
        await push_note(http, fake)
    assert limited.value.retry_after == 7.0
    fake.fail(500)
    with pytest.raises(RetryableError, match=r"HTTP 500"):
        await push_note(http, fake)
    assert fake.pages == {}


async def test_bad_requests_and_tokens_are_permanent(
    http: httpx.AsyncClient, fake: FakeNotion
) -> None:
    fake.fail(400, body={"object": "error", "code": "validation_error", "message": "no"})
    with pytest.raises(PermanentError, match=r"HTTP 400: .*validation_error"):
        await push_note(http, fake)
    with pytest.raises(PermanentError, match=r"HTTP 401"):
        await TARGET.push_note(
            http, {"token": "ntn_wrong"}, where(fake), NOTE, external_id=None, marker=MARK
        )


async def test_a_stalled_notion_is_a_retryable_timeout(fake: FakeNotion) -> None:
    fake.stall(1.0)
    async with httpx.AsyncClient(timeout=0.2) as http:
        with pytest.raises(RetryableError, match=r"timed out"):
            await TARGET.test(http, {"token": TOKEN}, where(fake))


def test_check_config_names_the_missing_field() -> None:
    with pytest.raises(ValueError, match=r"credential.token"):
        TARGET.check_config({}, {"database_id": "a" * 32})
    with pytest.raises(ValueError, match=r"destination.database_id"):
        TARGET.check_config({"token": TOKEN}, {"database_id": "not-an-id"})
    with pytest.raises(ValueError, match=r"destination.base_url"):
        TARGET.check_config({"token": TOKEN}, {"database_id": "a" * 32, "base_url": "ftp://x"})
    TARGET.check_config({"token": TOKEN}, {"database_id": "a" * 32})
