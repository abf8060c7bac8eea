"""The Pipedrive target against a local fake of API v1, over real HTTP on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from typing import Any

import httpx
import pytest
from vendors.pipedrive import TOKEN, FakePipedrive

from relay.connectors.targets._base import Note, PermanentError, RetryableError, Task
from relay.connectors.targets.pipedrive import TARGET

pytestmark = pytest.mark.anyio

MARKER = "minuta:3f2a9c0d1e5b7788"
CREDENTIAL = {"api_token": TOKEN}
NOTE = Note(
    transcript_id="t-1",
    title="Acme renewal call",
    started_at="2024-05-06T09:30:00+02:00",
    language="en",
    context=["Renewal at 3 seats & a pilot"],
    needs=["Legal review"],
    next_steps=["Ada: send the quote (2024-05-10)"],
)
TASK = Task(
    transcript_id="t-1",
    action_id="a-1",
    text="Send the quote",
    owner="Ada",
    due="2024-05-10",
    status="open",
    meeting_title="Acme renewal call",
)


@pytest.fixture
def fake() -> Iterator[FakePipedrive]:
    fake = FakePipedrive()
    with fake:
        yield fake


@pytest.fixture
def deal(fake: FakePipedrive) -> dict[str, Any]:
    return {"deal_id": 42, "base_url": fake.url}


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5) as client:
        yield client


async def push_note(
    http: httpx.AsyncClient, destination: dict[str, Any], external_id: str | None = None
) -> str:
    return await TARGET.push_note(
        http, CREDENTIAL, destination, NOTE, external_id=external_id, marker=MARKER
    )


async def push_task(
    http: httpx.AsyncClient,
    destination: dict[str, Any],
    task: Task = TASK,
    external_id: str | None = None,
) -> str:
    return await TARGET.push_task(
        http, CREDENTIAL, destination, task, external_id=external_id, marker=MARKER, note_id=None
    )


# ----------------------------------------------------------------- notes


async def test_note_is_added_to_the_deal_with_its_text_and_marker(
    http: httpx.AsyncClient, fake: FakePipedrive, deal: dict[str, Any]
) -> None:
    note_id = await push_note(http, deal)
    note = fake.notes[int(note_id)]
    assert note["deal_id"] == 42
    assert "Renewal at 3 seats &amp; a pilot" in note["content"]
    assert note["content"].endswith(f"<p>[{MARKER}]</p>")


async def test_token_goes_in_the_header_never_in_the_url(
    http: httpx.AsyncClient, fake: FakePipedrive, deal: dict[str, Any]
) -> None:
    await push_note(http, deal)
    await TARGET.find(http, CREDENTIAL, deal, kind="note", marker=MARKER)
    assert fake.requests
    for request in fake.requests:
        assert request.headers["x-api-token"] == TOKEN
        assert "api_token" not in request.query


async def test_second_push_updates_the_note_in_place(
    http: httpx.AsyncClient, fake: FakePipedrive, deal: dict[str, Any]
) -> None:
    note_id = await push_note(http, deal)
    again = await push_note(http, deal, external_id=note_id)
    assert again == note_id
    assert list(fake.notes) == [int(note_id)]
    assert len(fake.hits("PUT", rf"/v1/notes/{note_id}")) == 1


async def test_updating_a_note_deleted_in_pipedrive_says_so(
    http: httpx.AsyncClient, deal: dict[str, Any]
) -> None:
    with pytest.raises(PermanentError, match="note 999 no longer exists"):
        await push_note(http, deal, external_id="999")


# ----------------------------------------------------------------- tasks


async def test_task_is_an_open_task_activity_on_the_deal(
    http: httpx.AsyncClient, fake: FakePipedrive, deal: dict[str, Any]
) -> None:
    activity = fake.activities[int(await push_task(http, deal))]
    assert activity["type"] == "task"
    assert activity["subject"] == "Send the quote"
    assert activity["due_date"] == "2024-05-10"
    assert activity["deal_id"] == 42
    assert activity["done"] is False
    assert "Owner: Ada" in activity["note"]
    assert MARKER in activity["note"]


async def test_done_task_is_marked_done_in_place(
    http: httpx.AsyncClient, fake: FakePipedrive, deal: dict[str, Any]
) -> None:
    task_id = await push_task(http, deal)
    again = await push_task(http, deal, replace(TASK, status="done"), external_id=task_id)
    assert again == task_id
    assert list(fake.activities) == [int(task_id)]
    assert fake.activities[int(task_id)]["done"] is True


async def test_dismissed_task_is_done_and_says_so(
    http: httpx.AsyncClient, fake: FakePipedrive, deal: dict[str, Any]
) -> None:
    activity = fake.activities[int(await push_task(http, deal, replace(TASK, status="dismissed")))]
    assert activity["done"] is True
    assert activity["subject"] == "(dismissed) Send the quote"


async def test_update_without_a_due_date_keeps_the_one_in_pipedrive(
    http: httpx.AsyncClient, fake: FakePipedrive, deal: dict[str, Any]
) -> None:
    task_id = await push_task(http, deal)
    await push_task(http, deal, replace(TASK, due=None), external_id=task_id)
    assert fake.activities[int(task_id)]["due_date"] == "2024-05-10"


# ----------------------------------------------------------------- find


async def test_find_returns_the_note_with_the_marker(
    http: httpx.AsyncClient, deal: dict[str, Any]
) -> None:
    note_id = await push_note(http, deal)
    assert await TARGET.find(http, CREDENTIAL, deal, kind="note", marker=MARKER) == note_id


async def test_find_returns_the_activity_with_the_marker(
    http: httpx.AsyncClient, deal: dict[str, Any]
) -> None:
    task_id = await push_task(http, deal, replace(TASK, status="done"))
    assert await TARGET.find(http, CREDENTIAL, deal, kind="task", marker=MARKER) == task_id


async def test_find_pages_through_a_long_deal(
    http: httpx.AsyncClient, fake: FakePipedrive, deal: dict[str, Any]
) -> None:
    for n in range(1, 151):
        fake.notes[n] = {"id": n, "deal_id": 42, "content": f"<p>note {n}</p>"}
    note_id = await push_note(http, deal)
    assert await TARGET.find(http, CREDENTIAL, deal, kind="note", marker=MARKER) == note_id
    assert len(fake.hits("GET", r"/v1/notes")) == 2


async def test_find_without_a_match_returns_none(
    http: httpx.AsyncClient, deal: dict[str, Any]
) -> None:
    await push_note(http, deal)
    other = "minuta:0000000000000000"
    assert await TARGET.find(http, CREDENTIAL, deal, kind="note", marker=other) is None
    assert await TARGET.find(http, CREDENTIAL, deal, kind="task", marker=MARKER) is None


# ----------------------------------------------------------------- test


async def test_test_names_the_deal(http: httpx.AsyncClient, deal: dict[str, Any]) -> None:
    assert await TARGET.test(http, CREDENTIAL, deal) == "deal 42 'Acme renewal'"


async def test_test_with_a_wrong_token_says_the_token_is_wrong(
    http: httpx.AsyncClient, deal: dict[str, Any]
) -> None:
    with pytest.raises(PermanentError, match="refused the API token"):
        await TARGET.test(http, {"api_token": "wrong"}, deal)


async def test_test_of_a_missing_deal_says_it_does_not_exist(
    http: httpx.AsyncClient, fake: FakePipedrive
) -> None:
    with pytest.raises(PermanentError, match="deal 7 does not exist"):
        await TARGET.test(http, CREDENTIAL, {"deal_id": 7, "base_url": fake.url})


# ----------------------------------------------------------------- errors


async def test_success_false_with_200_is_permanent_with_the_error(
    http: httpx.AsyncClient, fake: FakePipedrive, deal: dict[str, Any]
) -> None:
    fake.fail(200, body={"success": False, "error": "Deal is archived"})
    with pytest.raises(PermanentError, match="Deal is archived"):
        await push_note(http, deal)


async def test_server_error_is_retryable(
    http: httpx.AsyncClient, fake: FakePipedrive, deal: dict[str, Any]
) -> None:
    fake.fail(502)
    with pytest.raises(RetryableError):
        await push_task(http, deal)


async def test_rate_limit_is_retryable_after_what_pipedrive_says(
    http: httpx.AsyncClient, fake: FakePipedrive, deal: dict[str, Any]
) -> None:
    fake.fail(429, retry_after=2)
    with pytest.raises(RetryableError) as caught:
        await push_note(http, deal)
    assert caught.value.retry_after == 2.0


async def test_unauthorized_push_is_permanent(
    http: httpx.AsyncClient, fake: FakePipedrive, deal: dict[str, Any]
) -> None:
    fake.fail(401)
    with pytest.raises(PermanentError, match="HTTP 401"):
        await push_note(http, deal)


async def test_bad_request_is_permanent_with_the_error(
    http: httpx.AsyncClient, fake: FakePipedrive
) -> None:
    with pytest.raises(PermanentError, match=r"HTTP 400.*Deal not found"):
        await push_note(http, {"deal_id": 7, "base_url": fake.url})


async def test_stalled_pipedrive_is_retryable(fake: FakePipedrive, deal: dict[str, Any]) -> None:
    fake.stall(1.0)
    async with httpx.AsyncClient(timeout=0.2) as slow:
        with pytest.raises(RetryableError, match="timed out"):
            await push_task(slow, deal)


async def test_find_adopts_the_activity_a_timed_out_push_made(
    http: httpx.AsyncClient, fake: FakePipedrive, deal: dict[str, Any]
) -> None:
    fake.stall(1.5)
    async with httpx.AsyncClient(timeout=0.5) as slow:
        with pytest.raises(RetryableError):
            await push_task(slow, deal)
    fake.stall(0)
    (made,) = fake.activities
    assert await TARGET.find(http, CREDENTIAL, deal, kind="task", marker=MARKER) == str(made)


# ----------------------------------------------------------------- check_config


@pytest.mark.parametrize(
    ("credential", "destination", "field"),
    [
        ({}, {"deal_id": 42}, "credential.api_token"),
        ({"api_token": ""}, {"deal_id": 42}, "credential.api_token"),
        (CREDENTIAL, {}, "deal_id"),
        (CREDENTIAL, {"deal_id": True}, "deal_id"),
        (CREDENTIAL, {"deal_id": "0"}, "deal_id"),
        (CREDENTIAL, {"deal_id": 42, "base_url": "ftp://acme.pipedrive.com"}, "base_url"),
    ],
)
def test_check_config_names_the_bad_field(
    credential: dict[str, Any], destination: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValueError, match=field):
        TARGET.check_config(credential, destination)


def test_check_config_accepts_a_company_domain_and_a_string_id() -> None:
    TARGET.check_config(CREDENTIAL, {"deal_id": "42", "base_url": "https://acme.pipedrive.com"})
