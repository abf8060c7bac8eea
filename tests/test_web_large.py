"""A transcript over the relay's frame limit, in real Chromium: the page receives it in
parts, and sends its own offline edits of it in parts.

Before, the relay refused such a sync both ways: the page never showed the transcript,
and edits made offline never reached the relay.
"""

from __future__ import annotations

import anyio
from _browser import Browser
from _relay import RelayProcess, connected, wait_until
from test_web import (
    SAVED,
    _browser_present,
    blocking,
    browser,
    new_transcript,
    open_transcript,
    sync_url,
    texts,
)
from test_web import relay as relay

from engine import TranscriptDoc, protocol

__all__ = ["_browser_present", "browser", "relay"]  # fixtures, shared with test_web

SEGMENTS = 2500
ADDED = " y además " * 160  # 1,600 characters per segment: about 4 MiB in all


def long_meeting(doc: TranscriptDoc) -> None:
    for i in range(SEGMENTS):
        doc.upsert_segment(
            f"s{i:04d}", rev=1, text=f"segmento {i} " + "palabra " * 250, t0=i * 4.0,
            t1=i * 4.0 + 3.5, speaker=f"S{i % 2 + 1}", final=True,
        )  # fmt: skip


# Appends ADDED to every segment as a person typing would (one edit each), offline.
EDIT_ALL = """(added) => { const t = minuta.transcript;
  for (const id of t.segments.keys()) t.editText(id, t.view(id).text.length, 0, added, 'ana') }"""


def test_a_transcript_over_the_frame_limit_loads_and_takes_large_offline_edits(
    relay: RelayProcess, browser: Browser
) -> None:
    transcript_id = new_transcript(relay, title="Larga")

    async def main() -> None:
        async with connected(sync_url(relay, transcript_id)) as agent:
            await agent.change(long_meeting)
            assert len(agent.doc.encode_update()) > protocol.MAX_FRAME_BYTES
            await blocking(open_transcript, browser, "ana", "ana", transcript_id)
            await blocking(browser.wait, "ana", f"() => minuta.list.items.length === {SEGMENTS}")
            await blocking(browser.call, "offline", tab="ana", offline=True)
            await blocking(browser.wait, "ana", "() => minuta.sync.status === 'offline'")
            await blocking(browser.eval, "ana", EDIT_ALL, ADDED)
            await blocking(browser.call, "offline", tab="ana", offline=False)
            await wait_until(
                lambda: all(text.endswith(ADDED) for text in texts(agent.doc).values()), 60
            )
            await blocking(browser.wait, "ana", SAVED, timeout_ms=60_000)
            closed = await blocking(browser.eval, "ana", "() => minuta.sync.status")
            assert closed == "live"

    anyio.run(main)
