"""Each of the five targets, end to end: the outbox and a real dispatcher on SQLite,
sending over HTTP to a local server that speaks the vendor's API (tests/vendors/).

For every target: a meeting's note and actions arrive exactly once; pushed again after
edits, they are updated in place (a dismissed action closed); vendor errors (500, 429
with Retry-After) on the way change nothing; and ``kill -9`` of ``minuta connectors
dispatch`` while the vendor is answering leaves no duplicate once another dispatcher
takes over."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import pytest
from _relay import CONNECTOR_KEY, MINUTA, relay_env, run_minuta
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from vendors import hubspot, pipedrive
from vendors._server import FakeVendor
from vendors.notion import FakeNotion
from vendors.trello import FakeTrello
from vendors.webhook import FakeWebhook

from engine import TranscriptDoc
from relay.connectors import (
    ConnectorSpec,
    Dispatcher,
    DispatchOptions,
    SecretBox,
    add_connector,
    enqueue,
    pushes,
)
from relay.db import Org, connect, default_database_url, upgrade, writer

WEBHOOK_SECRET = "whsec-" + "t" * 24
FAST = DispatchOptions(poll_s=0.05, base_delay_s=0.05, max_delay_s=0.2, timeout_s=3)


@dataclass(frozen=True)
class Vendor:
    """How a test drives one vendor's fake and reads what it holds."""

    fake: Callable[[], FakeVendor]
    credential: Callable[[Any], dict[str, Any]]
    destination: Callable[[Any], dict[str, Any]]
    notes: Callable[[Any], list[Any]]
    tasks: Callable[[Any], list[Any]]
    closed: Callable[[Any], bool]


def _webhook_latest(fake: FakeWebhook, kind: str) -> list[Any]:
    """A receiver's view: the latest event of each item (it keeps each event_id once)."""
    latest: dict[str, Any] = {}
    for event in fake.events.values():
        if event.get("type") == kind:
            latest[str(event["item_id"])] = event
    return list(latest.values())


VENDORS: dict[str, Vendor] = {
    "hubspot": Vendor(
        fake=hubspot.FakeHubSpot,
        credential=lambda f: {"token": hubspot.TOKEN},
        destination=lambda f: {"object_type": "deals", "object_id": "123", "base_url": f.url},
        notes=lambda f: list(f.objects["notes"].values()),
        tasks=lambda f: list(f.objects["tasks"].values()),
        closed=lambda t: t["properties"]["hs_task_status"] == "COMPLETED",
    ),
    "notion": Vendor(
        fake=FakeNotion,
        credential=lambda f: {"token": f.token},
        destination=lambda f: {"database_id": f.database_id, "base_url": f.url},
        notes=lambda f: [
            {"page": p, "blocks": f.texts_of(p["id"])}
            for p in f.pages.values()
            if not p.get("archived")
        ],
        tasks=lambda f: [
            b for b in f.blocks.values() if b["type"] == "to_do" and not b.get("archived")
        ],
        closed=lambda t: bool(t["to_do"]["checked"]),
    ),
    "trello": Vendor(
        fake=FakeTrello,
        credential=lambda f: {"key": f.key, "token": f.token},
        destination=lambda f: {"list_id": f.list_id, "base_url": f.url},
        notes=lambda f: [c for c in f.cards.values() if c["name"].startswith("Notes:")],
        tasks=lambda f: [c for c in f.cards.values() if not c["name"].startswith("Notes:")],
        closed=lambda t: bool(t["closed"]),
    ),
    "pipedrive": Vendor(
        fake=pipedrive.FakePipedrive,
        credential=lambda f: {"api_token": pipedrive.TOKEN},
        destination=lambda f: {"deal_id": 42, "base_url": f.url},
        notes=lambda f: list(f.notes.values()),
        tasks=lambda f: list(f.activities.values()),
        closed=lambda t: bool(t["done"]),
    ),
    "webhook": Vendor(
        fake=lambda: FakeWebhook(WEBHOOK_SECRET),
        credential=lambda f: {"url": f.url + "/hook", "secret": WEBHOOK_SECRET},
        destination=lambda f: {},
        notes=lambda f: _webhook_latest(f, "note"),
        tasks=lambda f: _webhook_latest(f, "action"),
        closed=lambda t: t["status"] == "dismissed",
    ),
}


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = connect(default_database_url(tmp_path))
    upgrade(engine)
    with Session(writer(engine)) as session, session.begin():
        session.add(Org(org_id="acme", name="Acme"))
    yield engine
    engine.dispose()


@pytest.fixture
def box() -> SecretBox:
    return SecretBox.from_env({"MINUTA_CONNECTOR_KEY": CONNECTOR_KEY})


def meeting() -> TranscriptDoc:
    doc = TranscriptDoc.create("t-1", title="Acme renewal call", language="en",
                               started_at="2026-12-04T10:00:00Z")  # fmt: skip
    doc.set_summary(bullets=["Renewal at 40k agreed"], risks=["Legal review pending"])
    doc.upsert_action("a1", text="Send the quote", owner="Ada", due="2026-12-11")
    doc.upsert_action("a2", text="Book the kickoff", owner="Bo")
    return doc


def connect_vendor(engine: Engine, box: SecretBox, name: str, fake: FakeVendor) -> dict[str, Any]:
    vendor = VENDORS[name]
    spec = ConnectorSpec(name, vendor.credential(fake), vendor.destination(fake))
    return {**add_connector(engine, box, "acme", spec, created_by="root"), "org_id": "acme"}


def dispatch(engine: Engine, box: SecretBox) -> None:
    async def main() -> None:
        dispatcher = Dispatcher(engine, box, FAST)
        for _ in range(300):
            await dispatcher.run_once()
            if not {p["state"] for p in pushes(engine, "acme", None)} & {"queued", "sending"}:
                return
            await anyio.sleep(0.02)
        raise AssertionError(f"still waiting: {pushes(engine, 'acme', None)}")

    anyio.run(main)


def blob(item: Any) -> str:
    return json.dumps(item, ensure_ascii=False)


def task_for(vendor: Vendor, fake: FakeVendor, text: str) -> Any:
    (task,) = [t for t in vendor.tasks(fake) if text in blob(t)]
    return task


@pytest.mark.parametrize("name", sorted(VENDORS))
def test_a_meeting_arrives_once_and_is_updated_in_place(
    engine: Engine, box: SecretBox, name: str
) -> None:
    vendor = VENDORS[name]
    with vendor.fake() as fake:
        connector = connect_vendor(engine, box, name, fake)
        fake.fail(500)
        fake.fail(429, retry_after=0.1)
        doc = meeting()
        enqueue(engine, connector, doc.snapshot(), requested_by="ana")
        dispatch(engine, box)
        assert {p["state"] for p in pushes(engine, "acme", "t-1")} == {"sent"}
        assert len(vendor.notes(fake)) == 1 and len(vendor.tasks(fake)) == 2
        (note,) = vendor.notes(fake)
        assert "Renewal at 40k agreed" in blob(note) and "Legal review pending" in blob(note)
        assert "2026-12-11" in blob(task_for(vendor, fake, "Send the quote"))
        # Edited and dismissed in the doc, then pushed again: the same objects change.
        doc.edit_action("a1", user="ana", due="2026-12-18")
        doc.edit_action("a2", user="ana", status="dismissed")
        doc.set_summary(bullets=["Renewal at 45k agreed"], risks=[])
        enqueue(engine, connector, doc.snapshot(), requested_by="ana")
        dispatch(engine, box)
        assert len(vendor.notes(fake)) == 1 and len(vendor.tasks(fake)) == 2
        assert "45k" in blob(vendor.notes(fake)[0])
        assert "2026-12-18" in blob(task_for(vendor, fake, "Send the quote"))
        assert vendor.closed(task_for(vendor, fake, "Book the kickoff"))
        assert not vendor.closed(task_for(vendor, fake, "Send the quote"))


@pytest.mark.parametrize("name", sorted(VENDORS))
def test_kill_9_mid_flight_makes_no_duplicate(
    tmp_path: Path, engine: Engine, box: SecretBox, name: str
) -> None:
    vendor = VENDORS[name]
    env = relay_env()
    flags = ["--data-dir", str(tmp_path)]
    with vendor.fake() as fake:
        connector = connect_vendor(engine, box, name, fake)
        enqueue(engine, connector, meeting().snapshot(), requested_by="ana")
        fake.stall(30)  # the vendor does the work, and answers too late
        dispatcher = subprocess.Popen(
            [str(MINUTA), "connectors", "dispatch", "--lease", "1", *flags], env=env
        )
        deadline = time.monotonic() + 20
        while not vendor.notes(fake):
            assert time.monotonic() < deadline and dispatcher.poll() is None
            time.sleep(0.02)
        dispatcher.send_signal(signal.SIGKILL)
        dispatcher.wait(timeout=10)
        fake.stall(0)
        assert "sending" in {p["state"] for p in pushes(engine, "acme", "t-1")}
        time.sleep(1.1)  # the dead dispatcher's leases run out
        for _ in range(3):  # the note, then (for a target that needs it) the tasks
            run_minuta("connectors", "dispatch", "--once", *flags, env=env)
        assert {p["state"] for p in pushes(engine, "acme", "t-1")} == {"sent"}
        assert len(vendor.notes(fake)) == 1 and len(vendor.tasks(fake)) == 2
