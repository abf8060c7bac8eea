"""The recording on the transcript page, in real Chromium against a real relay: the player
shows once the audio is uploaded (meta.upload_audio), a time stamp or an Alt+click on a
word plays from there, the speed changes, and the word being spoken is lit."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import anyio
import av
import httpx
import numpy as np
from _browser import Browser
from _relay import PASSWORD, RelayProcess, connected, wait_until
from test_web import _browser_present, blocking, row, sync_url
from test_web import relay as relay

from engine import TranscriptDoc

__all__ = ["_browser_present", "relay"]  # fixtures, shared with test_web

RATE = 16_000

# segment_id -> (t0, t1, text); the words share each segment's time evenly.
SEGMENTS = {
    "s1": (0.3, 3.9, "And so, my fellow Americans,"),
    "s2": (4.2, 7.6, "ask not what your country can do for you,"),
    "s3": (8.0, 10.8, "ask what you can do for your country."),
}


def words_of(t0: float, t1: float, text: str) -> list[tuple[str, float, float, float]]:
    parts = text.split()
    step = (t1 - t0) / len(parts)
    return [
        (w, round(t0 + i * step, 3), round(t0 + (i + 1) * step - 0.05, 3), 0.9)
        for i, w in enumerate(parts)
    ]


WORDS = {sid: words_of(*seg) for sid, seg in SEGMENTS.items()}


def word_at(segment_id: str, t: float) -> int:
    """The index of the word lit at ``t`` (the last one started)."""
    return max(i for i, w in enumerate(WORDS[segment_id]) if w[1] <= t)


def ogg_opus(source: Path) -> bytes:
    """The recording as the agent uploads it: Opus in Ogg, 16 kHz mono."""
    with av.open(str(source)) as inp:
        resampler = av.AudioResampler(format="s16", layout="mono", rate=RATE)
        pcm = np.concatenate([
            f.to_ndarray().reshape(-1)
            for frame in inp.decode(audio=0)
            for f in resampler.resample(frame)
        ])  # fmt: skip
    out = io.BytesIO()
    with av.open(out, "w", format="ogg") as container:
        stream = container.add_stream("libopus", rate=RATE, layout="mono")
        stream.bit_rate = 24_000
        for i in range(0, len(pcm), RATE):
            frame = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(pcm[i : i + RATE]).reshape(1, -1), format="s16", layout="mono"
            )
            frame.sample_rate = RATE
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return out.getvalue()


def meeting(d: TranscriptDoc) -> None:
    for sid, (t0, t1, text) in SEGMENTS.items():
        d.upsert_segment(sid, rev=1, text=text, t0=t0, t1=t1, speaker="S1", conf=0.9,
                         final=True, words=WORDS[sid])  # fmt: skip


def upload(relay: RelayProcess, token: str, transcript_id: str, data: bytes) -> None:
    digest = hashlib.sha256(data).hexdigest()
    response = httpx.put(
        f"{relay.url}/transcripts/{transcript_id}/audio/upload",
        params={"offset": 0, "size": len(data), "sha256": digest},
        content=data,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/octet-stream"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["complete"] is True


AUDIO = "document.querySelector('#player audio')"
# Where the page seeked the audio to, recorded as it happens (playing or not).
RECORD_SEEKS = f"() => {{ window.seeks = []; {AUDIO}.addEventListener('seeking', e => seeks.push(e.target.currentTime)) }}"
SEEKED_TO = "(t) => seeks.some(s => Math.abs(s - t) < 0.05)"
# The lit segment and word: [segment_id, word index, word text] (nulls when none).
LIT = """() => { const r = document.querySelector('.seg.playing');
  const w = r?.querySelector('.word.spoken');
  return [r?.dataset.segmentId ?? null, w ? Number(w.dataset.word) : null, w?.textContent ?? null] }"""
# Move the time as a seek would, with playback paused, and wait for the page to see it.
AT = f"(t) => {{ const a = {AUDIO}; a.currentTime = t; a.dispatchEvent(new Event('timeupdate')) }}"


def test_the_recording_plays_in_step_with_the_text(relay: RelayProcess, audio_dir: Path) -> None:
    ana = relay.token("ana", "acme", "editor")
    transcript_id = relay.create_transcript(ana, title="Discurso")
    audio = ogg_opus(audio_dir / "jfk.flac")
    browser = Browser(relay.url)

    async def main() -> None:
        async with connected(sync_url(relay, transcript_id)) as agent:
            await agent.change(meeting)
            await wait_until(agent.acked, 15)
            await blocking(browser.open, "ana")
            await blocking(browser.login, "ana", "ana", PASSWORD)
            await blocking(browser.call, "goto", tab="ana", hash=f"#/t/{transcript_id}")
            await blocking(
                browser.wait, "ana", "() => document.querySelectorAll('.seg').length === 3"
            )
            # No audio uploaded: no player, and a time stamp copies itself as before.
            assert await blocking(
                browser.eval, "ana", "() => document.querySelector('#player').hidden"
            )
            label = await blocking(browser.eval, "ana",
                                   "() => document.querySelector('.seg .ts').getAttribute('aria-label')")  # fmt: skip
            assert label.startswith("Copy")

            # The agent's upload completes: the relay sets meta.upload_audio, the player shows.
            await anyio.to_thread.run_sync(upload, relay, ana, transcript_id, audio)
            await wait_until(lambda: agent.doc.snapshot()["meta"]["upload_audio"], 15)
            await blocking(browser.wait, "ana", "() => !document.querySelector('#player').hidden")
            label = await blocking(browser.eval, "ana",
                                   "() => document.querySelector('.seg[data-segment-id=\"s2\"] .ts').getAttribute('aria-label')")  # fmt: skip
            assert label == "Play from 00:04"

    try:
        anyio.run(main)
        b = browser
        b.eval("ana", RECORD_SEEKS)
        # A time stamp plays from its segment's start (the audio fetched with the token).
        b.call("click", tab="ana", selector='.seg[data-segment-id="s2"] .ts')
        b.wait("ana", SEEKED_TO, SEGMENTS["s2"][0])
        b.wait("ana", f"() => {AUDIO}.readyState >= 1 && minuta.player.url?.startsWith('blob:')")
        # Speed.
        b.call("select", tab="ana", selector="#player .play-speed", value="1.5")
        assert b.eval("ana", f"() => {AUDIO}.playbackRate") == 1.5
        # Playing: a word of the segment being said is lit (headless Chromium plays to a
        # null sink, in real time).
        b.wait("ana", f"() => !{AUDIO}.paused && {AUDIO}.currentTime > 4.5")
        lit = b.wait("ana", f"() => {{ const l = ({LIT})(); return l[1] !== null && l }}")
        assert lit[0] in ("s2", "s3") and lit[2] == WORDS[lit[0]][lit[1]][0]
        b.screenshot("ana", "audio-1-playing")
        # Pause, then move the time: the lit word follows, exactly.
        b.call("click", tab="ana", selector="#player .play")
        b.wait("ana", f"() => {AUDIO}.paused")
        for t in (8.05, 9.3, 10.7):
            b.eval("ana", AT, t)
            want = ["s3", word_at("s3", t), WORDS["s3"][word_at("s3", t)][0]]
            assert b.wait("ana", f"(w) => {{ const l = ({LIT})(); return JSON.stringify(l) === JSON.stringify(w) && l }}", want) == want  # fmt: skip
        # A silence between two segments: nothing lit.
        b.eval("ana", AT, 7.8)
        b.wait("ana", "() => !document.querySelector('.seg.playing')")

        # Alt+click on a word plays from that word; a plain click only edits.
        text = SEGMENTS["s3"][2]
        at = text.index("country")
        b.call("caret", tab="ana", selector=row("s3"), index=at + 2)
        b.eval("ana", f"""() => document.querySelector('{row("s3")}')
          .dispatchEvent(new MouseEvent('click', {{bubbles: true, altKey: true}}))""")  # fmt: skip
        b.wait("ana", SEEKED_TO, WORDS["s3"][text[:at].count(" ")][1])
        b.call("click", tab="ana", selector="#player .play")  # pause
        b.wait("ana", f"() => {AUDIO}.paused")
        seeks = b.eval("ana", "() => seeks.length")
        b.call("click", tab="ana", selector=row("s2"))
        assert b.eval("ana", "() => seeks.length") == seeks
        assert (
            b.eval("ana", "() => document.activeElement.closest('.seg')?.dataset.segmentId") == "s2"
        )

        # A person's edit: the words no longer match the text, so only the segment is lit.
        b.call("caret", tab="ana", selector=row("s1"), index=None)
        b.call("type", tab="ana", selector=row("s1"), text=" hoy")
        b.call("caret", tab="ana", selector=row("s2"), index=0)  # away from s1
        b.eval("ana", AT, 1.0)
        assert b.wait("ana", f"() => {{ const l = ({LIT})(); return l[0] === 's1' && l }}") == [
            "s1", None, None
        ]  # fmt: skip
        b.eval("ana", AT, 4.3)
        assert b.wait("ana", f"() => {{ const l = ({LIT})(); return l[0] === 's2' && l }}") == [
            "s2", 0, "ask"
        ]  # fmt: skip
        assert b.errors("ana") == []

        # Leaving the transcript frees the recording's blob.
        b.eval("ana", "() => { window.blobUrl = minuta.player.url }")
        b.call("goto", tab="ana", hash="#/")
        b.wait("ana", "() => document.querySelector('section.list')")
        revoked = b.eval("ana", "() => fetch(blobUrl).then(() => false, () => true)")
        assert revoked is True
    finally:
        browser.close()
