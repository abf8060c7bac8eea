""" "Send to…" in real Chromium: an editor pushes the open transcript to a connector, and
the page follows the push until the relay's dispatcher has sent it."""

from __future__ import annotations

from collections.abc import Iterator

import anyio
import httpx
import pytest
from _browser import Browser, missing
from _relay import RelayProcess, connected, prepare, relay_env
from test_web import blocking, open_transcript, sync_url
from vendors.webhook import FakeWebhook

from engine import Origin, TranscriptDoc

SECRET = "whsec-" + "w" * 24


@pytest.fixture(autouse=True)
def _browser_present() -> None:
    if (why := missing()) is not None:
        pytest.fail(why)


@pytest.fixture
def relay(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RelayProcess]:
    data = tmp_path_factory.mktemp("web-connectors")
    env = relay_env()
    process = RelayProcess(data, env, prepare(data, env)).start()
    yield process
    process.stop()


def meeting(d: TranscriptDoc) -> None:
    d.upsert_segment("s1", rev=1, text="Jorge llama al proveedor mañana", t0=0, t1=2,
                     speaker="S1", conf=0.9, final=True)  # fmt: skip
    d.upsert_action("a-1", text="Llamar al proveedor", owner="Jorge", due="2026-12-05",
                    origin=Origin.WORKER)  # fmt: skip
    d.set_summary(bullets=["Presupuesto aprobado"], risks=[])


def test_an_editor_sends_the_transcript_from_the_page(relay: RelayProcess) -> None:
    with FakeWebhook(SECRET) as hook:
        admin = {"Authorization": f"Bearer {relay.token('root', 'acme', 'admin')}"}
        added = httpx.post(f"{relay.url}/connectors", headers=admin, json={
            "target": "webhook", "name": "Ops hook",
            "credential": {"url": hook.url + "/hook", "secret": SECRET},
        })  # fmt: skip
        assert added.status_code == 201, added.text
        transcript_id = relay.create_transcript(relay.token("ana", "acme", "editor"))
        browser = Browser(relay.url)

        async def main() -> None:
            async with connected(sync_url(relay, transcript_id)) as agent:
                await agent.change(meeting)
                await blocking(open_transcript, browser, "ana", "ana", transcript_id)
                await blocking(
                    browser.wait, "ana", "() => !document.querySelector('#send-to').hidden"
                )
                await blocking(browser.call, "click", tab="ana", selector="#send-to-button")
                await blocking(browser.call, "click", tab="ana", selector="#send-to-menu button")
                await blocking(browser.wait, "ana",
                               "() => document.querySelector('#push-state').dataset.state === 'sent'",
                               timeout_ms=30_000)  # fmt: skip
                shown = await blocking(browser.eval, "ana",
                                       "() => document.querySelector('#push-state').textContent")  # fmt: skip
                assert shown == "Sent to Ops hook (2 items)"
                await blocking(browser.screenshot, "ana", "send-to")
                # A viewer has no menu.
                await blocking(open_transcript, browser, "vi", "vi", transcript_id)
                await anyio.sleep(0.5)
                hidden = await blocking(browser.eval, "vi",
                                        "() => document.querySelector('#send-to').hidden")  # fmt: skip
                assert hidden is True
                assert browser.errors("ana") == []

        try:
            anyio.run(main)
        finally:
            browser.close()
        assert sorted(hook.by_item()) == ["a-1", "note"]
