"""The live pipeline: audio chunks -> VAD -> ASR -> segments in the transcript doc.

Two tasks share one event loop, which owns the doc (pycrdt objects stay on the thread
that made them):

- the *reader* feeds audio to the VAD and queues each utterance it closes;
- the *transcriber* runs faster-whisper in a worker thread and writes the result.

Finals always go first, one utterance per ASR call (optionally packed several to a call
when they queue up: faster, slightly less accurate). While an utterance is open, a partial
hypothesis is written about once a second (``final=False``) and revised in place
(``rev+1``), but only when the ASR is idle, has not been busy more than ``max_busy`` of
the recent past, and stays within its real-time ``budget``: every call costs a 30-second
window whatever its length, so on a slow CPU partials give way to finals. A partial that
already heard the whole utterance becomes its final without a second call.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from typing import TypeVar

import anyio
import numpy as np

from engine import Origin, TranscriptDoc

from .asr import MAX_PACKED_S, PACK_GAP_S, Hypothesis, IncrementalTranscriber
from .vad import SAMPLE_RATE, Segmenter, Utterance, VadOptions

_T = TypeVar("_T")

# A pause this long inside an utterance starts its transcription before the VAD closes it.
ANTICIPATE_S = 0.09

# Seconds of closed-but-untranscribed audio at which the reader waits for the ASR.
MAX_BACKLOG_S = 60.0


@dataclass(frozen=True)
class StreamOptions:
    """How often the pipeline publishes what it hears.

    Attributes:
        partial_interval_s: seconds of new speech between partial hypotheses; None for
            none (batch-like file transcription).
        max_busy: partials are skipped while the ASR was busy more than this share of
            the last ``busy_window_s`` seconds.
        busy_window_s: the window for ``max_busy``.
        budget: periodic partials are also skipped while the session's ASR time would
            exceed this share of the audio heard so far (its real-time factor). A partial
            at a pause in speech, which usually becomes the final, is not.
        pack: when finals queue up, transcribe up to ~28 s of them in one call. About
            1.5x faster on files, but measured ~15% worse WER (``bench/asr.py``): Whisper
            decodes a window of stitched-together utterances less well than each alone.
    """

    partial_interval_s: float | None = 1.0
    max_busy: float = 0.5
    busy_window_s: float = 10.0
    budget: float = 0.25
    pack: bool = False


@dataclass
class FinalWritten:
    """What the session reports for each final segment (for progress and benchmarks)."""

    segment_id: str
    utterance: Utterance
    hypothesis: Hypothesis | None
    closed_at: float  # monotonic time the VAD closed the utterance
    written_at: float  # monotonic time the text was in the doc


@dataclass
class SessionStats:
    finals: int = 0
    partials: int = 0
    promoted: int = 0  # finals that reused their last partial instead of a new ASR call
    dropped: int = 0
    asr_calls: int = 0
    asr_seconds: float = 0.0
    audio_seconds: float = 0.0
    dropped_reasons: dict[str, int] = field(default_factory=dict)


@dataclass
class _Pending:
    utterance: Utterance
    closed_at: float


class TranscriptionSession:
    """Transcribe a stream of 16 kHz mono chunks into ``doc``.

    ``t_offset`` shifts every time (a resumed file starts where the last final ended);
    ``first_segment`` numbers the segment ids (``seg-00001``…).
    """

    def __init__(
        self,
        doc: TranscriptDoc,
        asr: IncrementalTranscriber,
        *,
        vad: VadOptions | None = None,
        options: StreamOptions | None = None,
        t_offset: float = 0.0,
        first_segment: int = 1,
        on_final: Callable[[FinalWritten], None] | None = None,
    ) -> None:
        self.doc = doc
        self.asr = asr
        self.options = options or StreamOptions()
        self.segmenter = Segmenter(vad)
        self.t_offset = t_offset
        self.stats = SessionStats()
        self._next_id = first_segment
        self._on_final = on_final
        self._finals: deque[_Pending] = deque()
        self._ids: dict[float, tuple[str, int]] = {}  # utterance t0 -> (segment_id, rev)
        # utterance t0 -> (latest partial, stream position its audio reached)
        self._partials: dict[float, tuple[Hypothesis, float]] = {}
        self._pad_s = self.segmenter.options.pad_ms / 1000
        self._last_partial_end = 0.0  # stream position of the last partial's audio end
        self._busy: deque[tuple[float, float]] = deque()  # (start, end) of recent ASR calls
        self._last_call_s = 0.0
        self._wake = anyio.Event()
        self._room = anyio.Event()
        self._reading = True

    # ------------------------------------------------------------------ public

    async def run(self, chunks: AsyncIterator[np.ndarray]) -> SessionStats:
        """Consume ``chunks`` to the end, then finish every utterance and return stats."""
        async with anyio.create_task_group() as tg:
            tg.start_soon(self._transcribe_loop)
            try:
                async for chunk in chunks:
                    self.stats.audio_seconds += len(chunk) / SAMPLE_RATE
                    self._enqueue(self.segmenter.feed(chunk))
                    while self._backlog() > MAX_BACKLOG_S:
                        self._room = anyio.Event()
                        await self._room.wait()
                self._enqueue(self.segmenter.flush())
            finally:
                self._reading = False
                self._wake.set()
        return self.stats

    # ------------------------------------------------------------------ reader side

    def _enqueue(self, closed: list[Utterance]) -> None:
        now = time.monotonic()
        for u in closed:
            self._finals.append(_Pending(u, now))
        self._wake.set()

    def _backlog(self) -> float:
        return sum(len(p.utterance.audio) for p in self._finals) / SAMPLE_RATE

    # ------------------------------------------------------------------ transcriber side

    async def _transcribe_loop(self) -> None:
        while True:
            if self._finals:
                await self._run_finals()
                continue
            partial = self._partial_due()
            if partial is not None:
                await self._run_partial(partial)
                continue
            if not self._reading:
                return
            self._wake = anyio.Event()
            await self._wake.wait()

    async def _run_finals(self) -> None:
        first = self._finals[0]
        promoted = self._promotable(first.utterance)
        if promoted is not None:
            # The last partial heard every word: it is the final, no second call needed.
            self._finals.popleft()
            self._room.set()
            self.stats.promoted += 1
            self._write_final(first, promoted)
            return
        batch = [self._finals.popleft()]
        if self.options.pack:
            seconds = batch[0].utterance.duration
            while self._finals and seconds + self._finals[0].utterance.duration <= MAX_PACKED_S:
                seconds += self._finals[0].utterance.duration + PACK_GAP_S
                batch.append(self._finals.popleft())
        self._room.set()
        utterances = [(p.utterance.t0 + self.t_offset, p.utterance.audio) for p in batch]
        results = await self._call(lambda: self.asr.transcribe_many(utterances))
        for pending, hyp in zip(batch, results, strict=True):
            self._write_final(pending, hyp)

    def _promotable(self, u: Utterance) -> Hypothesis | None:
        seen = self._partials.pop(u.t0, None)
        if seen is None or seen[1] < u.t1 - self._pad_s:  # speech ends where the pad starts
            return None
        return replace(seen[0], t1=u.t1 + self.t_offset)

    def _partial_due(self) -> Utterance | None:
        interval = self.options.partial_interval_s
        if interval is None or not self._reading:
            return None
        u = self.segmenter.open_utterance()
        if u is None or self._busy_share() > self.options.max_busy:
            return None
        ended = self.segmenter.speech_end
        if ended is not None and u.t1 - ended >= ANTICIPATE_S and self._last_partial_end < ended:
            # The speaker paused: transcribe now. If the pause closes the utterance, this
            # partial becomes its final, ~min_silence_ms sooner and with no second call.
            # Latency comes first here, so the budget does not apply.
            return u
        if u.t1 - max(self._last_partial_end, u.t0) < interval:
            return None
        heard = max(self.stats.audio_seconds, self.options.busy_window_s)
        if self.stats.asr_seconds + self._last_call_s > self.options.budget * heard:
            return None
        return u

    async def _run_partial(self, u: Utterance) -> None:
        self._last_partial_end = u.t1
        hyp = await self._call(lambda: self.asr.transcribe(u.audio, t0=u.t0 + self.t_offset))
        if hyp is None:
            return
        self._partials[u.t0] = (hyp, u.t1)
        still_open = self.segmenter.open_utterance()
        if still_open is None or still_open.t0 != u.t0:
            return  # the utterance closed meanwhile: its final is queued
        segment_id, rev = self._ids.get(u.t0) or (self._new_id(), 0)
        self._ids[u.t0] = (segment_id, rev + 1)
        self._upsert(segment_id, rev + 1, hyp, final=False)
        self.stats.partials += 1

    def _write_final(self, pending: _Pending, hyp: Hypothesis | None) -> None:
        u = pending.utterance
        known = self._ids.pop(u.t0, None)
        self._partials.pop(u.t0, None)
        if hyp is None or hyp.dropped is not None:
            if hyp is not None and hyp.dropped:
                self.stats.dropped += 1
                reasons = self.stats.dropped_reasons
                reasons[hyp.dropped] = reasons.get(hyp.dropped, 0) + 1
            if known is not None:  # a partial was shown: retract it
                self.doc.delete_segment(known[0], origin=Origin.AGENT)
            return
        segment_id, rev = known or (self._new_id(), 0)
        self._upsert(segment_id, rev + 1, hyp, final=True)
        self.stats.finals += 1
        if self._on_final is not None:
            self._on_final(FinalWritten(segment_id, u, hyp, pending.closed_at, time.monotonic()))

    def _upsert(self, segment_id: str, rev: int, hyp: Hypothesis, *, final: bool) -> None:
        self.doc.upsert_segment(
            segment_id,
            rev=rev,
            text=hyp.text,
            t0=hyp.t0,
            t1=hyp.t1,
            conf=hyp.conf,
            final=final,
            words=[list(w) for w in hyp.words],
            lang=hyp.lang,
            origin=Origin.AGENT,
        )

    def _new_id(self) -> str:
        segment_id = f"seg-{self._next_id:05d}"
        self._next_id += 1
        return segment_id

    async def _call(self, fn: Callable[[], _T]) -> _T:
        start = time.monotonic()
        try:
            return await anyio.to_thread.run_sync(fn)
        finally:
            end = time.monotonic()
            self._last_call_s = end - start
            self.stats.asr_calls += 1
            self.stats.asr_seconds += end - start
            self._busy.append((start, end))

    def _busy_share(self) -> float:
        now = time.monotonic()
        horizon = now - self.options.busy_window_s
        while self._busy and self._busy[0][1] < horizon:
            self._busy.popleft()
        busy = sum(end - max(start, horizon) for start, end in self._busy)
        return busy / self.options.busy_window_s
