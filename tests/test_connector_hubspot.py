"""The HubSpot target against a local fake of CRM v3, over real HTTP on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from typing import Any, Literal

import httpx
import pytest
from vendors.hubspot import TOKEN, FakeHubSpot

from relay.connectors.targets._base import Note, PermanentError, RetryableError, Task
from relay.connectors.targets.hubspot import TARGET

pytestmark = pytest.mark.anyio

MARKER = "minuta:3f2a9c0d1e5b7788"
CREDENTIAL = {"token": TOKEN}
NOTE = Note(
    transcript_id="t-1",
    title="Acme renewal call",
    started_at="2024-05-06T09:30:00+02:00",
    language="en",
    context=["Renewal at 3 seats & a pilot"],
    needs=["Legal review"],
    next_steps=["Ada: send the quote (2024-05-10)"],
    participants=["Ada", "Bob"],
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
def fake() -> Iterator[FakeHubSpot]:
    fake = FakeHubSpot()
    with fake:
        yield fake


@pytest.fixture
def deal(fake: FakeHubSpot) -> dict[str, Any]:
    return {"object_type": "deals", "object_id": "123", "base_url": fake.url}


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


async def test_note_is_created_on_the_deal_with_its_text_and_marker(
    http: httpx.AsyncClient, fake: FakeHubSpot, deal: dict[str, Any]
) -> None:
    note_id = await push_note(http, deal)
    properties = fake.objects["notes"][note_id]["properties"]
    assert "Renewal at 3 seats &amp; a pilot" in properties["hs_note_body"]
    assert properties["hs_note_body"].endswith(f"<p>[{MARKER}]</p>")
    assert properties["hs_timestamp"] == "2024-05-06T07:30:00.000Z"
    assert fake.associations_of("notes", note_id) == [("123", 214)]


@pytest.mark.parametrize(
    ("object_type", "object_id", "note_type", "task_type"),
    [("deals", "123", 214, 216), ("contacts", "501", 202, 204), ("companies", "77", 190, 192)],
)
async def test_each_record_type_gets_its_documented_association_type(
    http: httpx.AsyncClient,
    fake: FakeHubSpot,
    object_type: str,
    object_id: str,
    note_type: int,
    task_type: int,
) -> None:
    destination = {"object_type": object_type, "object_id": object_id, "base_url": fake.url}
    note_id = await push_note(http, destination)
    task_id = await push_task(http, destination)
    assert fake.associations_of("notes", note_id) == [(object_id, note_type)]
    assert fake.associations_of("tasks", task_id) == [(object_id, task_type)]


async def test_second_push_updates_the_note_in_place(
    http: httpx.AsyncClient, fake: FakeHubSpot, deal: dict[str, Any]
) -> None:
    note_id = await push_note(http, deal)
    again = await push_note(http, deal, external_id=note_id)
    assert again == note_id
    assert list(fake.objects["notes"]) == [note_id]
    assert len(fake.hits("PATCH", rf"/crm/v3/objects/notes/{note_id}")) == 1


async def test_updating_a_note_deleted_in_hubspot_says_so(
    http: httpx.AsyncClient, deal: dict[str, Any]
) -> None:
    with pytest.raises(PermanentError, match="note 999 no longer exists"):
        await push_note(http, deal, external_id="999")


# ----------------------------------------------------------------- tasks


async def test_task_is_created_open_due_at_noon_utc_with_the_marker(
    http: httpx.AsyncClient, fake: FakeHubSpot, deal: dict[str, Any]
) -> None:
    task_id = await push_task(http, deal)
    properties = fake.objects["tasks"][task_id]["properties"]
    assert properties["hs_task_subject"] == "Send the quote"
    assert properties["hs_task_status"] == "NOT_STARTED"
    assert properties["hs_timestamp"] == "2024-05-10T12:00:00.000Z"
    assert "Owner: Ada" in properties["hs_task_body"]
    assert MARKER in properties["hs_task_body"]


async def test_done_task_is_completed_in_place(
    http: httpx.AsyncClient, fake: FakeHubSpot, deal: dict[str, Any]
) -> None:
    task_id = await push_task(http, deal)
    again = await push_task(http, deal, replace(TASK, status="done"), external_id=task_id)
    assert again == task_id
    assert list(fake.objects["tasks"]) == [task_id]
    assert fake.objects["tasks"][task_id]["properties"]["hs_task_status"] == "COMPLETED"


async def test_dismissed_task_is_completed_and_says_so(
    http: httpx.AsyncClient, fake: FakeHubSpot, deal: dict[str, Any]
) -> None:
    task_id = await push_task(http, deal, replace(TASK, status="dismissed"))
    properties = fake.objects["tasks"][task_id]["properties"]
    assert properties["hs_task_status"] == "COMPLETED"
    assert properties["hs_task_subject"] == "(dismissed) Send the quote"


async def test_update_without_a_due_date_keeps_the_one_in_hubspot(
    http: httpx.AsyncClient, fake: FakeHubSpot, deal: dict[str, Any]
) -> None:
    task_id = await push_task(http, deal)
    await push_task(http, deal, replace(TASK, due=None, text="Send it"), external_id=task_id)
    properties = fake.objects["tasks"][task_id]["properties"]
    assert properties["hs_timestamp"] == "2024-05-10T12:00:00.000Z"
    assert properties["hs_task_subject"] == "Send it"


async def test_task_without_a_due_date_is_due_now(
    http: httpx.AsyncClient, fake: FakeHubSpot, deal: dict[str, Any]
) -> None:
    task_id = await push_task(http, deal, replace(TASK, due=None))
    assert fake.objects["tasks"][task_id]["properties"]["hs_timestamp"].endswith("Z")


# ----------------------------------------------------------------- find


@pytest.mark.parametrize("kind", ["note", "task"])
async def test_find_returns_the_object_with_the_marker(
    http: httpx.AsyncClient, deal: dict[str, Any], kind: Literal["note", "task"]
) -> None:
    made = await (push_note(http, deal) if kind == "note" else push_task(http, deal))
    assert await TARGET.find(http, CREDENTIAL, deal, kind=kind, marker=MARKER) == made


async def test_find_without_a_match_returns_none(
    http: httpx.AsyncClient, deal: dict[str, Any]
) -> None:
    await push_note(http, deal)
    other = "minuta:0000000000000000"
    assert await TARGET.find(http, CREDENTIAL, deal, kind="note", marker=other) is None
    assert await TARGET.find(http, CREDENTIAL, deal, kind="task", marker=MARKER) is None


async def test_find_searches_the_body_with_contains_token(
    http: httpx.AsyncClient, fake: FakeHubSpot, deal: dict[str, Any]
) -> None:
    await TARGET.find(http, CREDENTIAL, deal, kind="note", marker=MARKER)
    (search,) = fake.hits("POST", r"/crm/v3/objects/notes/search")
    filters = [f for g in search.json()["filterGroups"] for f in g["filters"]]
    assert {f["operator"] for f in filters} == {"CONTAINS_TOKEN"}
    assert {f["propertyName"] for f in filters} == {"hs_note_body"}


# ----------------------------------------------------------------- test


async def test_test_names_the_deal(http: httpx.AsyncClient, deal: dict[str, Any]) -> None:
    assert await TARGET.test(http, CREDENTIAL, deal) == "deal 123 'Acme renewal'"


async def test_test_names_a_contact(http: httpx.AsyncClient, fake: FakeHubSpot) -> None:
    contact = {"object_type": "contacts", "object_id": "501", "base_url": fake.url}
    assert await TARGET.test(http, CREDENTIAL, contact) == "contact 501 'Ada Lovelace'"


async def test_test_with_a_wrong_token_says_the_token_is_wrong(
    http: httpx.AsyncClient, deal: dict[str, Any]
) -> None:
    with pytest.raises(PermanentError, match="refused the access token"):
        await TARGET.test(http, {"token": "pat-na1-wrong"}, deal)


async def test_test_without_the_read_scope_names_the_scope(
    http: httpx.AsyncClient, fake: FakeHubSpot, deal: dict[str, Any]
) -> None:
    fake.missing_scopes.add("crm.objects.deals.read")
    with pytest.raises(PermanentError, match=r"lacks the scope crm\.objects\.deals\.read"):
        await TARGET.test(http, CREDENTIAL, deal)


async def test_push_without_the_write_scope_names_the_scope(
    http: httpx.AsyncClient, fake: FakeHubSpot, deal: dict[str, Any]
) -> None:
    fake.missing_scopes.add("crm.objects.contacts.write")
    with pytest.raises(PermanentError, match=r"crm\.objects\.contacts\.write"):
        await push_note(http, deal)


async def test_test_of_a_missing_record_says_it_does_not_exist(
    http: httpx.AsyncClient, deal: dict[str, Any]
) -> None:
    with pytest.raises(PermanentError, match="deal 9 does not exist"):
        await TARGET.test(http, CREDENTIAL, {**deal, "object_id": "9"})


# ----------------------------------------------------------------- errors


async def test_server_error_is_retryable(
    http: httpx.AsyncClient, fake: FakeHubSpot, deal: dict[str, Any]
) -> None:
    fake.fail(500)
    with pytest.raises(RetryableError):
        await push_note(http, deal)


async def test_rate_limit_is_retryable_after_what_hubspot_says(
    http: httpx.AsyncClient, fake: FakeHubSpot, deal: dict[str, Any]
) -> None:
    fake.fail(429, retry_after=7)
    with pytest.raises(RetryableError) as caught:
        await push_task(http, deal)
    assert caught.value.retry_after == 7.0


async def test_unauthorized_push_is_permanent(
    http: httpx.AsyncClient, fake: FakeHubSpot, deal: dict[str, Any]
) -> None:
    fake.fail(401)
    with pytest.raises(PermanentError, match="HTTP 401"):
        await push_note(http, deal)


async def test_invalid_association_is_permanent(http: httpx.AsyncClient, fake: FakeHubSpot) -> None:
    wrong = {"object_type": "contacts", "object_id": "123", "base_url": fake.url}  # a deal
    with pytest.raises(PermanentError, match="HTTP 400"):
        await push_note(http, wrong)


async def test_stalled_hubspot_is_retryable(fake: FakeHubSpot, deal: dict[str, Any]) -> None:
    fake.stall(1.0)
    async with httpx.AsyncClient(timeout=0.2) as slow:
        with pytest.raises(RetryableError, match="timed out"):
            await push_note(slow, deal)


async def test_find_adopts_the_note_a_timed_out_push_made(
    http: httpx.AsyncClient, fake: FakeHubSpot, deal: dict[str, Any]
) -> None:
    fake.stall(1.5)
    async with httpx.AsyncClient(timeout=0.5) as slow:
        with pytest.raises(RetryableError):
            await push_note(slow, deal)
    fake.stall(0)
    (made,) = fake.objects["notes"]
    assert await TARGET.find(http, CREDENTIAL, deal, kind="note", marker=MARKER) == made


# ----------------------------------------------------------------- check_config


@pytest.mark.parametrize(
    ("credential", "destination", "field"),
    [
        ({}, {"object_type": "deals", "object_id": "1"}, "credential.token"),
        ({"token": "a b"}, {"object_type": "deals", "object_id": "1"}, "credential.token"),
        (CREDENTIAL, {"object_type": "tickets", "object_id": "1"}, "object_type"),
        (CREDENTIAL, {"object_type": "deals"}, "object_id"),
        (CREDENTIAL, {"object_type": "deals", "object_id": "12a"}, "object_id"),
        (
            CREDENTIAL,
            {"object_type": "deals", "object_id": "1", "base_url": "http://api.hubapi.com"},
            "base_url",
        ),
    ],
)
def test_check_config_names_the_bad_field(
    credential: dict[str, Any], destination: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValueError, match=field):
        TARGET.check_config(credential, destination)


def test_check_config_accepts_a_numeric_id() -> None:
    TARGET.check_config(CREDENTIAL, {"object_type": "companies", "object_id": 77})
