"""The live pipeline: audio chunks -> VAD -> ASR -> segments in the transcript doc.

Two tasks share one event loop, which owns the doc (pycrdt objects stay on the thread
that made them):

- the *reader* feeds audio to the VAD and queues each utterance it closes;
- the *transcriber* runs faster-whisper in a worker thread and writes the result.

Finals always go first, one utterance per ASR call (optionally packed several to a call
when they queue up: faster, slightly less accurate). An utterance that follows the last
final after a short pause *joins* it: the two are decoded again as one stretch of speech
and the last final's segment is revised to hold both. The VAD closes an utterance at every
200 ms pause, and Whisper reads a sentence cut into pieces measurably worse than whole
(``bench/asr.py``); joining gives it the sentence back without delaying the first
piece's final. While an utterance is open, a partial
hypothesis is written about once a second (``final=False``) and revised in place
(``rev+1``), but only when the ASR is idle, has not been busy more than ``max_busy`` of
the recent past, and stays within its real-time ``budget``: every call costs a 30-second
window whatever its length, so on a slow CPU partials give way to finals. A partial that
already heard the whole utterance becomes its final without a second call. Every call is
given the doc's vocabulary (meta ``vocabulary``) as it is at that moment, so a term a
person adds from the relay helps the very next utterance.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from typing import TypeVar

import anyio
import numpy as np

from engine import Origin, TranscriptDoc

from ._heard import Heard, Recent, Run, sure
from .asr import MAX_PACKED_S, PACK_GAP_S, Hypothesis, IncrementalTranscriber
from .stream import FinalWritten as FinalWritten
from .stream import Resume as Resume
from .stream import SessionStats as SessionStats
from .stream import StreamOptions as StreamOptions
from .vad import SAMPLE_RATE, Segmenter, Utterance, VadOptions, as_int16

_T = TypeVar("_T")

# A pause this long inside an utterance starts its transcription before the VAD closes it.
ANTICIPATE_S = 0.09

# An utterance heard again after a resume that ends this close after the start of the
# segment being rewritten is still the one before it, cut a frame or two differently.
RESUME_SLACK_S = 0.1

# Seconds of closed-but-untranscribed audio at which the reader waits for the ASR.
MAX_BACKLOG_S = 60.0


@dataclass
class _Pending:
    utterance: Utterance
    closed_at: float
    lead: np.ndarray | None  # the real audio of the last join_gap_s before it, if held


class TranscriptionSession:
    """Transcribe a stream of 16 kHz mono chunks into ``doc``.

    ``resume`` goes on from an interrupted session in the same doc: it shifts every time
    by ``resume.start`` and numbers new segment ids from ``resume.first_segment``; the
    last final segment it names is rewritten by the first utterance heard after its start.
    """

    def __init__(
        self,
        doc: TranscriptDoc,
        asr: IncrementalTranscriber,
        *,
        vad: VadOptions | None = None,
        options: StreamOptions | None = None,
        resume: Resume | None = None,
        on_final: Callable[[FinalWritten], None] | None = None,
    ) -> None:
        self.doc = doc
        self.asr = asr
        self.options = options or StreamOptions()
        self.segmenter = Segmenter(vad)
        resume = resume or Resume()
        self.t_offset = resume.start
        self._revise = resume if resume.segment_id is not None else None
        self.stats = SessionStats()
        self._next_id = resume.first_segment
        self._on_final = on_final
        self._finals: deque[_Pending] = deque()
        self._ids: dict[float, tuple[str, int]] = {}  # utterance t0 -> (segment_id, rev)
        # utterance t0 -> (latest partial, stream position its audio reached)
        self._partials: dict[float, Heard] = {}
        self._pad_s = self.segmenter.options.pad_ms / 1000
        self._run: Run | None = None
        self._recent = Recent(self.options.join_max_s + 1.0)
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
                    x = as_int16(chunk)
                    self.stats.audio_seconds += len(x) / SAMPLE_RATE
                    self._recent.append(x)
                    self._enqueue(self.segmenter.feed(x))
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
            if not self._heard_before(u):
                self._finals.append(_Pending(u, now, self._lead(u)))
        self._wake.set()

    def _heard_before(self, u: Utterance) -> bool:
        """Whether ``u`` ends before the segment a resume rewrites: it is in the doc."""
        revise = self._revise
        return revise is not None and u.t1 + self.t_offset <= revise.t0 + RESUME_SLACK_S

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
                await self._run_partial(*partial)
                continue
            if not self._reading:
                return
            self._wake = anyio.Event()
            await self._wake.wait()

    async def _run_finals(self) -> None:
        first = self._finals[0]
        joined = self._joined(first.utterance, first.lead)
        if joined is not None and await self._run_joined(first, joined):
            return
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
        terms = self.doc.vocabulary()
        results = await self._call(lambda: self.asr.transcribe_many(utterances, vocabulary=terms))
        for pending, hyp in zip(batch, results, strict=True):
            self._write_final(pending, hyp)

    def _lead(self, u: Utterance) -> np.ndarray | None:
        """The audio of the ``join_gap_s`` before ``u``, taken while it is still held.

        Taken when ``u`` closes, not when it is decoded: by then the reader may be a minute
        further on, and what a join decodes must not depend on how far.
        """
        gap = self.options.join_gap_s
        if gap is None:
            return None
        end = round(u.t0 * SAMPLE_RATE)
        return self._recent.slice(max(0, end - round(gap * SAMPLE_RATE)), end)

    def _joined(self, u: Utterance, lead: np.ndarray | None) -> np.ndarray | None:
        """The last final's audio, the pause and ``u``'s, if ``u`` may join that final."""
        run, limit = self._run, self.options.join_gap_s
        if run is None or limit is None or self.options.pack:
            return None
        gap = u.t0 - run.t1
        if not 0 <= gap <= limit or u.t1 - run.t0 > self.options.join_max_s:
            return None
        if self.doc.edited_by_person(run.segment_id):
            return None  # a person's text is theirs: new speech goes in a new segment
        # The real pause, not silence: a soft onset the VAD heard late ("ask not" after
        # "my fellow Americans") starts in it.
        n = round(gap * SAMPLE_RATE)
        if lead is not None and lead.size >= n:
            pause = lead[lead.size - n :]
        else:
            pause = np.zeros(n, dtype=np.int16)
        return np.concatenate([run.audio, pause, u.audio])

    async def _run_joined(self, pending: _Pending, audio: np.ndarray) -> bool:
        """Decode the last final and ``pending`` as one; False if that heard nothing."""
        run, u = self._run, pending.utterance
        assert run is not None
        heard = self._partials.pop(u.t0, None)
        if heard is not None and heard.joined and heard.until >= u.t1 - self._pad_s and sure(heard):
            hyp: Hypothesis | None = heard.hypothesis  # it heard every word already
            self.stats.promoted += 1
        else:
            t0, terms = run.t0 + self.t_offset, self.doc.vocabulary()
            hyp = await self._call(lambda: self.asr.transcribe(audio, t0=t0, vocabulary=terms))
        if hyp is None:
            return False  # decoded alone instead, in a segment of its own
        self._finals.popleft()
        self._room.set()
        known = self._ids.pop(u.t0, None)
        if known is not None:  # its partial is now part of the joined segment
            self.doc.delete_segment(known[0], origin=Origin.AGENT)
        run.rev += 1
        self._upsert(run.segment_id, run.rev, replace(hyp, t1=u.t1 + self.t_offset), final=True)
        run.t1, run.audio = u.t1, audio
        self.stats.finals += 1
        self.stats.joined += 1
        if self._on_final is not None:
            now = time.monotonic()
            self._on_final(FinalWritten(run.segment_id, u, hyp, pending.closed_at, now))
        return True

    def _promotable(self, u: Utterance) -> Hypothesis | None:
        seen = self._partials.pop(u.t0, None)
        # Speech ends where the pad starts.
        if seen is None or seen.joined or seen.until < u.t1 - self._pad_s or not sure(seen):
            return None
        return replace(seen.hypothesis, t1=u.t1 + self.t_offset)

    def _partial_due(self) -> tuple[Utterance, bool] | None:
        """The open utterance if a partial is due, and whether the speaker just paused."""
        interval = self.options.partial_interval_s
        if interval is None or not self._reading:
            return None
        u = self.segmenter.open_utterance()
        if u is None or self._revise is not None or self._busy_share() > self.options.max_busy:
            # Not before a resume's rewrite: a retracted partial would take its segment.
            return None
        ended = self.segmenter.speech_end
        if ended is not None and u.t1 - ended >= ANTICIPATE_S and self._last_partial_end < ended:
            # The speaker paused: transcribe now. If the pause closes the utterance, this
            # partial becomes its final, ~min_silence_ms sooner and with no second call.
            # Latency comes first here, so the budget does not apply.
            return u, True
        if u.t1 - max(self._last_partial_end, u.t0) < interval:
            return None
        heard = max(self.stats.audio_seconds, self.options.busy_window_s)
        if self.stats.asr_seconds + self._last_call_s > self.options.budget * heard:
            return None
        return u, False

    async def _run_partial(self, u: Utterance, paused: bool) -> None:
        self._last_partial_end = u.t1
        joined = self._joined(u, self._lead(u)) if paused else None
        if joined is not None and self._run is not None:
            # Likely this utterance's final, which will join the last one: decode it so,
            # and keep it for that final. Its text covers both, so it is not shown as u's.
            t0, terms = self._run.t0 + self.t_offset, self.doc.vocabulary()
            hyp = await self._call(lambda: self.asr.transcribe(joined, t0=t0, vocabulary=terms))
            if hyp is not None:
                self._partials[u.t0] = Heard(hyp, u.t1, joined=True)
            return
        t0, terms = u.t0 + self.t_offset, self.doc.vocabulary()
        hyp = await self._call(
            lambda: self.asr.transcribe(u.audio, t0=t0, vocabulary=terms, partial=not paused)
        )
        if hyp is None:
            return
        self._partials[u.t0] = Heard(hyp, u.t1, joined=False)
        still_open = self.segmenter.open_utterance()
        if still_open is None or still_open.t0 != u.t0:
            return  # the utterance closed meanwhile: its final is queued
        segment_id, rev = self._ids.get(u.t0) or self._new_id()
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
            self._run = None
            self._revise = None  # it heard nothing: the segment stays as it was
            return
        segment_id, rev = known or self._new_id()
        self._upsert(segment_id, rev + 1, hyp, final=True)
        self._run = Run(segment_id, rev + 1, u.t0, u.t1, u.audio)
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

    def _new_id(self) -> tuple[str, int]:
        """A segment for a new utterance, and the rev it holds (0: none yet)."""
        revised, self._revise = self._revise, None
        if revised is not None and revised.segment_id is not None:
            return revised.segment_id, revised.rev
        segment_id = f"seg-{self._next_id:05d}"
        self._next_id += 1
        return segment_id, 0

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
