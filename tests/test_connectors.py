"""The connectors' outbox and dispatcher on a real SQLite database, sending over real HTTP
to local servers that speak each vendor's API (tests/vendors/)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import anyio
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from vendors._server import Answer, FakeVendor, Request
from vendors.webhook import FakeWebhook

from engine import Origin, TranscriptDoc
from relay.connectors import (
    ConnectorError,
    ConnectorSpec,
    Dispatcher,
    DispatchOptions,
    SecretBox,
    add_connector,
    enqueue,
    list_connectors,
    pushes,
)
from relay.db import AuditEvent, Connector, Org, connect, upgrade, writer

SECRET = "whsec-" + "k" * 24
FAST = DispatchOptions(poll_s=0.05, base_delay_s=0.05, max_delay_s=0.2, timeout_s=2)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """A migrated database, SQLite and PostgreSQL (conftest's ``db_url``)."""
    engine = connect(db_url)
    upgrade(engine)
    with Session(writer(engine)) as session, session.begin():
        session.add(Org(org_id="acme", name="Acme"))
    yield engine
    engine.dispose()


@pytest.fixture
def box() -> SecretBox:
    return SecretBox(bytes(range(32)))


@pytest.fixture
def hook() -> Iterator[FakeWebhook]:
    with FakeWebhook(SECRET) as fake:
        yield fake


def meeting() -> TranscriptDoc:
    doc = TranscriptDoc.create(
        "t-1", title="Kickoff", language="en", org_id="acme", started_at="2026-12-04T10:00:00Z"
    )
    doc.upsert_segment("s1", rev=1, text="Ana will send the deck by Friday.", t0=0, t1=2,
                       speaker="Ana", final=True)  # fmt: skip
    doc.set_summary(bullets=["Budget agreed at 40k"], risks=["Legal has not signed off"])
    doc.upsert_action("a1", text="Send the deck", owner="Ana", due="2026-12-11")
    doc.upsert_action("a2", text="Book the venue", owner="Bo")
    return doc


def webhook(engine: Engine, box: SecretBox, hook: FakeWebhook, **extra: Any) -> dict[str, Any]:
    spec = ConnectorSpec("webhook", {"url": hook.url + "/hook", "secret": SECRET}, **extra)
    return {**add_connector(engine, box, "acme", spec, created_by="root"), "org_id": "acme"}


def dispatch(engine: Engine, box: SecretBox, options: DispatchOptions = FAST) -> int:
    """Rounds until nothing is due (retries included); returns the rows tried."""

    async def main() -> int:
        dispatcher, tried = Dispatcher(engine, box, options), 0
        for _ in range(200):
            done = await dispatcher.run_once()
            tried += done
            states = {p["state"] for p in pushes(engine, "acme", None)}
            if not done and not states & {"queued", "sending"}:
                break
            await anyio.sleep(0.02)
        return tried

    return anyio.run(main)


def states(engine: Engine) -> dict[str, str]:
    return {p["item"]: p["state"] for p in pushes(engine, "acme", "t-1")}


def test_a_push_sends_the_note_and_each_action_once(
    engine: Engine, box: SecretBox, hook: FakeWebhook
) -> None:
    connector = webhook(engine, box, hook)
    rows = enqueue(engine, connector, meeting().snapshot(), requested_by="ana")
    assert [r["item"] for r in rows] == ["note", "action:a1", "action:a2"]
    assert {r["state"] for r in rows} == {"queued"}
    dispatch(engine, box)
    assert states(engine) == {"note": "sent", "action:a1": "sent", "action:a2": "sent"}
    items = hook.by_item()
    assert sorted(items) == ["a1", "a2", "note"]
    note = items["note"][0]
    assert note["context"] == ["Budget agreed at 40k"]
    assert note["needs"] == ["Legal has not signed off"]
    assert note["next_steps"] == ["Ana: Send the deck (due 2026-12-11)", "Bo: Book the venue"]
    assert items["a1"][0]["due"] == "2026-12-11"
    assert len(hook.deliveries) == 3


def test_only_text_and_metadata_leave_unless_the_transcript_is_asked_for(
    engine: Engine, box: SecretBox, hook: FakeWebhook
) -> None:
    enqueue(engine, webhook(engine, box, hook), meeting().snapshot(), requested_by="ana")
    dispatch(engine, box)
    bodies = b"".join(r.body for r in hook.requests)
    assert b"Ana will send the deck by Friday" not in bodies  # the segment's text
    assert b'transcript"' not in bodies
    assert all(r.headers["content-type"] == "application/json" for r in hook.requests)
    hook.requests.clear()
    asked = webhook(engine, box, hook, include_transcript=True, send="note")
    enqueue(engine, asked, meeting().snapshot(), requested_by="ana")
    dispatch(engine, box)
    (event,) = [e for e in hook.events.values() if "transcript" in e]
    assert event["transcript"] == "Ana: Ana will send the deck by Friday."


def test_pushing_again_unchanged_sends_nothing_new(
    engine: Engine, box: SecretBox, hook: FakeWebhook
) -> None:
    connector = webhook(engine, box, hook)
    enqueue(engine, connector, meeting().snapshot(), requested_by="ana")
    again = enqueue(engine, connector, meeting().snapshot(), requested_by="ana")
    assert len(again) == 3  # the same rows, still queued: not new ones
    dispatch(engine, box)
    third = enqueue(engine, connector, meeting().snapshot(), requested_by="ana")
    assert [(r["push_id"], r["state"]) for r in third] == [(r["push_id"], "sent") for r in again]
    dispatch(engine, box)
    assert len(hook.deliveries) == 3
    assert len(pushes(engine, "acme", "t-1")) == 3


def test_an_edited_action_is_sent_again_and_a_dismissed_one_closed(
    engine: Engine, box: SecretBox, hook: FakeWebhook
) -> None:
    connector = webhook(engine, box, hook)
    doc = meeting()
    enqueue(engine, connector, doc.snapshot(), requested_by="ana")
    dispatch(engine, box)
    doc.edit_action("a1", user="ana", due="2026-12-18")
    doc.edit_action("a2", user="ana", status="dismissed")
    rows = enqueue(engine, connector, doc.snapshot(), requested_by="ana")
    assert sorted(r["item"] for r in rows) == ["action:a1", "action:a2", "note"]
    dispatch(engine, box)
    items = hook.by_item()
    assert [e["due"] for e in items["a1"]] == ["2026-12-11", "2026-12-18"]
    assert [e["status"] for e in items["a2"]] == ["open", "dismissed"]
    assert "Bo: Book the venue" not in items["note"][-1]["next_steps"]


def test_an_action_dismissed_before_its_first_push_is_not_sent(
    engine: Engine, box: SecretBox, hook: FakeWebhook
) -> None:
    doc = meeting()
    doc.edit_action("a2", user="ana", status="dismissed")
    rows = enqueue(engine, webhook(engine, box, hook, send="actions"), doc.snapshot(),
                   requested_by="ana")  # fmt: skip
    assert [r["item"] for r in rows] == ["action:a1"]


def test_a_500_is_retried_with_backoff_and_then_sent(
    engine: Engine, box: SecretBox, hook: FakeWebhook
) -> None:
    enqueue(engine, webhook(engine, box, hook, send="note"), meeting().snapshot(),
            requested_by="ana")  # fmt: skip
    hook.fail(500, times=2)
    dispatch(engine, box)
    (row,) = pushes(engine, "acme", "t-1")
    assert row["state"] == "sent" and row["attempts"] == 3
    assert len(hook.deliveries) == 1


def test_a_429_waits_for_its_retry_after(engine: Engine, box: SecretBox, hook: FakeWebhook) -> None:
    enqueue(engine, webhook(engine, box, hook, send="note"), meeting().snapshot(),
            requested_by="ana")  # fmt: skip
    hook.fail(429, retry_after=30)
    anyio.run(Dispatcher(engine, box, FAST).run_once)
    (row,) = pushes(engine, "acme", "t-1")
    assert row["state"] == "queued" and "HTTP 429" in row["last_error"]
    from datetime import datetime

    wait = datetime.fromisoformat(row["next_at"]) - datetime.fromisoformat(row["created_at"])
    assert 29 < wait.total_seconds() < 40  # not the 0.05 s backoff


def test_a_401_fails_for_good_with_its_reason_and_an_audit_row(
    engine: Engine, box: SecretBox, hook: FakeWebhook
) -> None:
    enqueue(engine, webhook(engine, box, hook, send="note"), meeting().snapshot(),
            requested_by="ana")  # fmt: skip
    hook.fail(401, body={"error": "bad signature"})
    dispatch(engine, box)
    (row,) = pushes(engine, "acme", "t-1")
    assert row["state"] == "failed" and row["attempts"] == 1
    assert "401" in row["last_error"] and "bad signature" in row["last_error"]
    audit = audit_rows(engine)
    assert [(a.action, a.detail["state"]) for a in audit] == [("push_failed", "failed")]


def test_a_push_is_dead_after_its_last_attempt(
    engine: Engine, box: SecretBox, hook: FakeWebhook
) -> None:
    enqueue(engine, webhook(engine, box, hook, send="note"), meeting().snapshot(),
            requested_by="ana")  # fmt: skip
    hook.fail(503, times=100)
    dispatch(engine, box, DispatchOptions(**{**FAST.__dict__, "max_attempts": 3}))
    (row,) = pushes(engine, "acme", "t-1")
    assert row["state"] == "dead" and row["attempts"] == 3
    assert row["last_error"].startswith("gave up after 3 attempts: HTTP 503")
    assert [a.detail["state"] for a in audit_rows(engine)] == ["dead"]
    # Asked again, it starts over.
    hook._failures.clear()
    connector = list_connectors(engine, "acme")[0]
    enqueue(engine, {**connector, "org_id": "acme"}, meeting().snapshot(), requested_by="ana")
    dispatch(engine, box)
    assert states(engine) == {"note": "sent"}


def test_a_timeout_is_retried_and_the_receiver_sees_one_event(
    engine: Engine, box: SecretBox, hook: FakeWebhook
) -> None:
    enqueue(engine, webhook(engine, box, hook, send="note"), meeting().snapshot(),
            requested_by="ana")  # fmt: skip
    hook.stall(1.0)
    anyio.run(Dispatcher(engine, box, DispatchOptions(timeout_s=0.3)).run_once)
    hook.stall(0)
    assert states(engine) == {"note": "queued"}
    dispatch(engine, box)
    assert states(engine) == {"note": "sent"}
    # Delivered twice (the first answer was lost), one event: the same event_id.
    assert len(hook.deliveries) == 2 and len(hook.events) == 1


def test_credentials_are_sealed_at_rest_and_never_listed(
    engine: Engine, box: SecretBox, hook: FakeWebhook
) -> None:
    connector = webhook(engine, box, hook)
    with Session(engine) as session:
        sealed = session.scalars(select(Connector.secret)).one()
    assert SECRET.encode() not in sealed and b"whsec" not in sealed
    assert SECRET not in repr(list_connectors(engine, "acme"))
    assert "credential" not in connector


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        (ConnectorSpec("jira", {}), "unknown target"),
        (ConnectorSpec("webhook", {"url": "ftp://x", "secret": "s" * 20}), r"http\(s\) URL"),
        (ConnectorSpec("webhook", {"url": "http://x/", "secret": "short"}), "16 characters"),
        (ConnectorSpec("webhook", {"url": "http://x/", "secret": "s" * 20}, send="all"), "send"),
    ],
)
def test_a_connector_that_cannot_work_is_refused_with_the_reason(
    engine: Engine, box: SecretBox, spec: ConnectorSpec, says: str
) -> None:
    with pytest.raises(ConnectorError, match=says):
        add_connector(engine, box, "acme", spec, created_by="root")


def audit_rows(engine: Engine) -> list[AuditEvent]:
    with Session(engine) as session:
        return list(session.scalars(select(AuditEvent).order_by(AuditEvent.event_id)))


def test_a_person_edit_made_in_the_doc_reaches_the_next_push(
    engine: Engine, box: SecretBox, hook: FakeWebhook
) -> None:
    connector = webhook(engine, box, hook, send="note")
    doc = meeting()
    enqueue(engine, connector, doc.snapshot(), requested_by="ana")
    dispatch(engine, box)
    doc.set_summary(bullets=["Budget agreed at 45k"], origin=Origin.HUMAN)
    enqueue(engine, connector, doc.snapshot(), requested_by="ana")
    dispatch(engine, box)
    assert [e["context"] for e in hook.by_item()["note"]] == [
        ["Budget agreed at 40k"],
        ["Budget agreed at 45k"],
    ]


def test_two_dispatchers_at_once_send_each_row_once(
    engine: Engine, box: SecretBox, hook: FakeWebhook
) -> None:
    connector = webhook(engine, box, hook)
    for n in range(6):
        doc = meeting()
        doc.set_meta(transcript_id=f"t-{n}")
        enqueue(engine, connector, doc.snapshot(), requested_by="ana")
    hook.stall(0.05)  # calls overlap: both dispatchers hold rows at the same time

    async def both() -> None:
        first = Dispatcher(engine, box, DispatchOptions(**{**FAST.__dict__, "batch": 4}))
        second = Dispatcher(engine, box, DispatchOptions(**{**FAST.__dict__, "batch": 4}))
        for _ in range(20):
            async with anyio.create_task_group() as tg:
                tg.start_soon(first.run_once)
                tg.start_soon(second.run_once)

    anyio.run(both)
    assert {p["state"] for p in pushes(engine, "acme", None)} == {"sent"}
    assert len(hook.deliveries) == len(hook.events) == 18


class _Endless(FakeVendor):
    """A webhook receiver that answers with more than any answer needs."""

    def routes(self) -> list[tuple[str, str, Callable[[Request], Answer]]]:
        return [("POST", r"/hook", lambda request: (200, {"pad": "x" * (5 * 2**20)}))]


def test_an_answer_without_end_is_cut_off_and_retried(engine: Engine, box: SecretBox) -> None:
    with _Endless() as endless:
        spec = ConnectorSpec("webhook", {"url": endless.url + "/hook", "secret": SECRET},
                             send="note")  # fmt: skip
        connector = {
            **add_connector(engine, box, "acme", spec, created_by="root"),
            "org_id": "acme",
        }
        enqueue(engine, connector, meeting().snapshot(), requested_by="ana")
        anyio.run(Dispatcher(engine, box, FAST).run_once)
    (row,) = pushes(engine, "acme", "t-1")
    assert row["state"] == "queued" and "over 4 MiB" in row["last_error"]
