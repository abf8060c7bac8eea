"""The Trello target against a fake Trello over real HTTP (127.0.0.1 only)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any, Literal

import httpx
import pytest
from vendors.trello import FakeTrello

from relay.connectors.targets import PermanentError, RetryableError
from relay.connectors.targets._base import Note, Task
from relay.connectors.targets.trello import TARGET

pytestmark = pytest.mark.anyio

KEY, TOKEN = "a" * 32, "ATTA" + "b" * 60
CREDENTIAL = {"key": KEY, "token": TOKEN}
MARK = "minuta:3f2a9c0d1e5b7a44"
NOTE = Note(
    transcript_id="t1",
    title="Weekly sync",
    started_at="2024-05-02T09:00:00Z",
    language="en",
    context=["Launch moved to June"],
    needs=[],
    next_steps=["Ana: send the deck (2024-05-06)"],
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
def fake() -> Iterator[FakeTrello]:
    fake = FakeTrello(KEY, TOKEN)
    with fake:
        yield fake


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5) as client:
        yield client


def where(fake: FakeTrello, **extra: Any) -> dict[str, Any]:
    return {"list_id": fake.list_id, "base_url": fake.url} | extra


async def push_task(
    http: httpx.AsyncClient, fake: FakeTrello, item: Task, external_id: str | None = None
) -> str:
    return await TARGET.push_task(
        http, CREDENTIAL, where(fake), item, external_id=external_id, marker=MARK, note_id=None
    )


async def test_note_is_a_card_on_the_list_sent_with_the_oauth_header(
    http: httpx.AsyncClient, fake: FakeTrello
) -> None:
    card_id = await TARGET.push_note(
        http, CREDENTIAL, where(fake), NOTE, external_id=None, marker=MARK
    )
    card = fake.cards[card_id]
    assert card["name"] == "Notes: Weekly sync (2024-05-02)"
    assert card["idList"] == fake.list_id
    assert card["desc"].startswith("Context:\n- Launch moved to June")
    assert card["desc"].endswith(f"\n\n---\n`{MARK}`")
    (sent,) = fake.requests
    assert sent.headers["authorization"] == (
        f'OAuth oauth_consumer_key="{KEY}", oauth_token="{TOKEN}"'
    )
    assert sent.query == {} and KEY not in sent.path and TOKEN not in sent.path


async def test_a_repush_of_the_note_updates_its_card(
    http: httpx.AsyncClient, fake: FakeTrello
) -> None:
    args = (http, CREDENTIAL, where(fake))
    card_id = await TARGET.push_note(*args, NOTE, external_id=None, marker=MARK)
    fake.cards[card_id]["idList"] = fake.add_list("Done")  # a person moved it on
    changed = Note(**{**NOTE.__dict__, "context": ["Launch in July"]})
    assert await TARGET.push_note(*args, changed, external_id=card_id, marker=MARK) == card_id
    assert len(fake.cards) == 1
    assert "Launch in July" in fake.cards[card_id]["desc"]
    assert fake.cards[card_id]["idList"] != fake.list_id  # left where the person put it


async def test_a_long_note_is_cut_but_keeps_its_marker(
    http: httpx.AsyncClient, fake: FakeTrello
) -> None:
    long = Note(**{**NOTE.__dict__, "transcript": "word " * 10_000})
    card_id = await TARGET.push_note(
        http, CREDENTIAL, where(fake), long, external_id=None, marker=MARK
    )
    desc = fake.cards[card_id]["desc"]
    assert (
        len(desc) <= 16_384 and "cut: a Trello description" in desc and desc.endswith(f"`{MARK}`")
    )


async def test_a_task_card_is_due_at_17_utc_with_its_owner(
    http: httpx.AsyncClient, fake: FakeTrello
) -> None:
    card = fake.cards[await push_task(http, fake, task())]
    assert card["name"] == "Send the deck"
    assert card["due"] == "2024-05-06T17:00:00.000Z"
    assert card["dueComplete"] is False and card["closed"] is False
    assert "Owner: Ana" in card["desc"] and "From the meeting: Weekly sync" in card["desc"]


async def test_a_done_task_is_due_complete(http: httpx.AsyncClient, fake: FakeTrello) -> None:
    card_id = await push_task(http, fake, task())
    assert await push_task(http, fake, task("done"), card_id) == card_id
    assert fake.cards[card_id]["dueComplete"] is True and fake.cards[card_id]["closed"] is False


async def test_a_dismissed_task_is_archived_and_a_reopened_one_restored(
    http: httpx.AsyncClient, fake: FakeTrello
) -> None:
    card_id = await push_task(http, fake, task())
    await push_task(http, fake, task("dismissed"), card_id)
    assert fake.cards[card_id]["closed"] is True
    await push_task(http, fake, task(due=None), card_id)
    assert fake.cards[card_id]["closed"] is False and fake.cards[card_id]["due"] is None


async def test_a_task_dismissed_before_its_first_push_is_created_archived(
    http: httpx.AsyncClient, fake: FakeTrello
) -> None:
    card_id = await push_task(http, fake, task("dismissed"))
    assert fake.cards[card_id]["closed"] is True
    assert [r.method for r in fake.requests] == ["POST", "PUT"]


async def test_find_matches_the_marker_on_archived_cards_too(
    http: httpx.AsyncClient, fake: FakeTrello
) -> None:
    card_id = await push_task(http, fake, task("dismissed"))
    args = (http, CREDENTIAL, where(fake))
    assert await TARGET.find(*args, kind="task", marker=MARK) == card_id
    assert await TARGET.find(*args, kind="task", marker=MARK[:-1]) is None
    assert fake.requests[-1].query["filter"] == ["all"]


async def test_test_names_the_list_and_its_board(http: httpx.AsyncClient, fake: FakeTrello) -> None:
    assert await TARGET.test(http, CREDENTIAL, where(fake)) == "list 'To do' on board 'Team'"


async def test_test_says_which_secret_trello_refused(
    http: httpx.AsyncClient, fake: FakeTrello
) -> None:
    with pytest.raises(PermanentError, match=r"refused the API key \(invalid key\)"):
        await TARGET.test(http, {"key": "c" * 32, "token": TOKEN}, where(fake))
    with pytest.raises(PermanentError, match=r"refused the token \(invalid token\)"):
        await TARGET.test(http, {"key": KEY, "token": "d" * 64}, where(fake))


async def test_test_says_the_list_does_not_exist(http: httpx.AsyncClient, fake: FakeTrello) -> None:
    with pytest.raises(PermanentError, match=r"HTTP 404: the list does not exist"):
        await TARGET.test(http, CREDENTIAL, where(fake, list_id="0" * 24))
    fake.fail(400, body="invalid id")  # what Trello says of an id it cannot parse
    with pytest.raises(PermanentError, match=r"HTTP 400: the list does not exist"):
        await TARGET.test(http, CREDENTIAL, where(fake))


async def test_a_card_for_a_missing_list_is_permanent(
    http: httpx.AsyncClient, fake: FakeTrello
) -> None:
    with pytest.raises(PermanentError, match=r"HTTP 400: the list does not exist"):
        await TARGET.push_task(
            http,
            CREDENTIAL,
            where(fake, list_id="1" * 24),
            task(),
            external_id=None,
            marker=MARK,
            note_id=None,
        )


async def test_rate_limits_and_server_errors_are_retryable(
    http: httpx.AsyncClient, fake: FakeTrello
) -> None:
    fake.fail(429, retry_after=3, body={"error": "API_TOKEN_LIMIT_EXCEEDED"})
    with pytest.raises(RetryableError) as limited:
        await push_task(http, fake, task())
    assert limited.value.retry_after == 3.0
    fake.fail(500)
    with pytest.raises(RetryableError, match=r"HTTP 500"):
        await push_task(http, fake, task())
    assert fake.cards == {}


async def test_bad_requests_are_permanent(http: httpx.AsyncClient, fake: FakeTrello) -> None:
    fake.fail(400, body="invalid value for desc")
    with pytest.raises(PermanentError, match=r"HTTP 400: invalid value for desc"):
        await push_task(http, fake, task())
    with pytest.raises(PermanentError, match=r"the due date 'soon' is not YYYY-MM-DD"):
        await push_task(http, fake, task(due="soon"))


async def test_a_stalled_trello_is_a_retryable_timeout(fake: FakeTrello) -> None:
    fake.stall(1.0)
    async with httpx.AsyncClient(timeout=0.2) as http:
        with pytest.raises(RetryableError, match=r"timed out"):
            await TARGET.test(http, CREDENTIAL, where(fake))


def test_check_config_names_the_missing_field() -> None:
    with pytest.raises(ValueError, match=r"credential.key"):
        TARGET.check_config({"token": TOKEN}, {"list_id": "a" * 24})
    with pytest.raises(ValueError, match=r"credential.token"):
        TARGET.check_config({"key": KEY, "token": 'x", evil="y'}, {"list_id": "a" * 24})
    with pytest.raises(ValueError, match=r"destination.list_id"):
        TARGET.check_config(CREDENTIAL, {})
    with pytest.raises(ValueError, match=r"destination.base_url"):
        TARGET.check_config(CREDENTIAL, {"list_id": "a" * 24, "base_url": "http://example.com"})
    TARGET.check_config(CREDENTIAL, {"list_id": "a" * 24})
