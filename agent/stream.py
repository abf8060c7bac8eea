"""The live pipeline's options, and what it reports (``agent.session`` uses them)."""

from __future__ import annotations

from dataclasses import dataclass, field

from .asr import Hypothesis
from .vad import Utterance


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
        join_gap_s: an utterance that starts within this many seconds of the last final's
            end joins it (see above); None never joins.
        join_max_s: ...unless the two would span more than this many seconds.
    """

    partial_interval_s: float | None = 1.0
    max_busy: float = 0.5
    busy_window_s: float = 10.0
    budget: float = 0.25
    pack: bool = False
    join_gap_s: float | None = 1.5
    join_max_s: float = 20.0


@dataclass(frozen=True)
class Resume:
    """Where a session goes on from an interrupted one in the same doc.

    Attributes:
        start: where the new session's audio starts, in seconds of the old stream (its
            ``t_offset``; on a VAD frame of that stream, so both cut the same frames).
        first_segment: the number of the next new segment id (``seg-00042``).
        segment_id: the last final segment, to be rewritten from its start as if never
            interrupted (the speech after it would have joined it); None for none.
        rev: that segment's rev: the rewrite is ``rev + 1``.
        t0: that segment's start. Utterances heard again before it (``start`` is a few
            seconds earlier, so the speech detector has settled) are already in the doc.
    """

    start: float = 0.0
    first_segment: int = 1
    segment_id: str | None = None
    rev: int = 0
    t0: float = 0.0


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
    joined: int = 0  # finals decoded with the one before and written into its segment
    dropped: int = 0
    asr_calls: int = 0
    asr_seconds: float = 0.0
    audio_seconds: float = 0.0
    dropped_reasons: dict[str, int] = field(default_factory=dict)
