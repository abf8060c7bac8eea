"""Cut segments into subtitle cues: at most ``max_lines`` lines of about ``max_chars``.

Long segments become several cues. Cue times come from word timestamps when the text is
still the ASR's own (the words match), and otherwise are proportional to character count.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

from .._schema import Segment


@dataclass(frozen=True)
class CueOptions:
    """How cues are cut.

    Attributes:
        max_chars: characters per line (about 42 is the broadcast norm).
        max_lines: lines per cue.
    """

    max_chars: int = 42
    max_lines: int = 2


@dataclass(frozen=True)
class Cue:
    t0: float
    t1: float
    lines: tuple[str, ...]
    speaker: str | None
    turn_start: bool  # first cue of a new speaker's turn


def wrap(words: Sequence[str], max_chars: int, max_lines: int) -> list[str] | None:
    """Balanced lines of at most ``max_chars``, or None if the words need more lines.

    A single word longer than ``max_chars`` gets a line of its own.

    Example:
        >>> wrap("the quick brown fox".split(), 10, 2)
        ['the quick', 'brown fox']
    """
    if not words:
        return []
    prefix = _prefix(words)
    found = _breaks(prefix, 0, len(words), max_chars, max_lines)
    if found is None:
        return None
    cuts = [0, *found[1], len(words)]
    return [" ".join(words[a:b]) for a, b in pairwise(cuts)]


def _prefix(words: Sequence[str]) -> list[int]:
    """prefix[k] = total length of words[:k]; a run's width is then O(1) to compute."""
    prefix = [0]
    for w in words:
        prefix.append(prefix[-1] + len(w))
    return prefix


def _width(prefix: list[int], i: int, j: int) -> int:
    return prefix[j] - prefix[i] + (j - i - 1)


def _breaks(
    prefix: list[int], i: int, j: int, max_chars: int, lines: int
) -> tuple[int, list[int]] | None:
    """(widest line, line starts after the first) of the most balanced wrap of words i..j."""
    width = _width(prefix, i, j)
    if width <= max_chars or j - i == 1:
        return width, []
    if lines <= 1:
        return None
    best: tuple[int, list[int]] | None = None
    for cut in range(i + 1, j):
        head = _width(prefix, i, cut)
        if head > max_chars and cut > i + 1:
            break
        rest = _breaks(prefix, cut, j, max_chars, lines - 1)
        if rest is not None and (best is None or max(head, rest[0]) < best[0]):
            best = (max(head, rest[0]), [cut, *rest[1]])
    return best


def _fill(sizes: list[int], options: CueOptions, lead: int, budget: float) -> list[int]:
    """Greedy cue ends: each cue takes words while they fit its lines and ``budget`` chars.

    Filling lines greedily uses the fewest lines, so a run of words fits in ``max_lines``
    exactly when the greedy fill does. The first ``lead`` words (a speaker's name) always
    share a cue with the first spoken word, over the limits if they must.
    """
    ends: list[int] = []
    start, n = 0, len(sizes)
    while start < n:
        lines, width = 1, sizes[start]
        chars, end = width, start + 1
        while end < n:
            size = sizes[end]
            if chars + 1 + size > budget and end > lead:
                break
            if width + 1 + size <= options.max_chars:
                width += 1 + size
            elif lines < options.max_lines:
                lines, width = lines + 1, size
            elif end > lead:
                break
            else:
                width += 1 + size
            chars += 1 + size
            end += 1
        ends.append(end)
        start = end
    return ends


def _chunks(
    words: list[str], options: CueOptions, *, lead: int = 0
) -> list[tuple[int, int, list[str]]]:
    """Cut words into as few cues as fit, of even length; (first word, end word, lines).

    Filling cues greedily would leave a short orphan at the end ("addendum."), so once the
    number of cues is known, the smallest per-cue character budget that still needs no
    more cues is searched for, and the cues are filled again with it.
    """
    sizes = [len(w) for w in words]
    ends = _fill(sizes, options, lead, budget=math.inf)
    if len(ends) > 1:
        # The answer lies between an even share and the widest cue the greedy fill made.
        starts = [0, *ends[:-1]]
        lo = -(-(sum(sizes) + len(sizes) - 1) // len(ends))
        hi = max(sum(sizes[a:b]) + (b - a - 1) for a, b in zip(starts, ends, strict=True))
        while lo < hi:  # fewer cues for a larger budget: binary search the smallest
            mid = (lo + hi) // 2
            if len(_fill(sizes, options, lead, mid)) <= len(ends):
                hi = mid
            else:
                lo = mid + 1
        ends = _fill(sizes, options, lead, lo)
    out: list[tuple[int, int, list[str]]] = []
    start = 0
    for end in ends:
        balanced = wrap(words[start:end], options.max_chars, options.max_lines)
        out.append((start, end, balanced or [" ".join(words[start:end])]))
        start = end
    return out


def _word_times(seg: Segment, words: list[str]) -> list[tuple[float, float]] | None:
    """Per-word times from the ASR, when they describe exactly this text."""
    if seg["source"] != "asr" or len(seg["words"]) != len(words):
        return None
    if [w[0].strip() for w in seg["words"]] != words:
        return None
    lo, hi = seg["t0"], seg["t1"]
    return [(min(max(w[1], lo), hi), min(max(w[2], lo), hi)) for w in seg["words"]]


def _one_line(name: str | None) -> str | None:
    """A speaker name with any line break as a space: a blank line would end the cue."""
    return None if name is None else " ".join(name.split())


def segment_cues(seg: Segment, options: CueOptions, *, prefix: str = "") -> list[Cue]:
    """The cues for one segment; ``prefix`` (e.g. ``"Ana:"``) leads its first cue."""
    words = seg["text"].split()
    if not words:
        return []
    lead = [prefix] if prefix else []
    times = _word_times(seg, words)
    # Character offsets of each word, for proportional timing.
    offsets: list[int] = []
    pos = 0
    for w in words:
        offsets.append(pos)
        pos += len(w) + 1
    total = max(pos - 1, 1)
    duration = seg["t1"] - seg["t0"]
    cues: list[Cue] = []
    all_words = lead + words
    for start, end, lines in _chunks(all_words, options, lead=len(lead)):
        # Indices into ``words`` (the prefix is not a spoken word).
        w0 = max(start - len(lead), 0)
        w1 = max(end - len(lead), 1)
        if times is not None:
            t0, t1 = times[w0][0], times[w1 - 1][1]
        else:
            t0 = seg["t0"] + duration * offsets[w0] / total
            t1 = seg["t0"] + duration * (offsets[w1 - 1] + len(words[w1 - 1])) / total
            if w1 == len(words):
                t1 = seg["t1"]
        cues.append(Cue(t0, max(t0, t1), tuple(lines), _one_line(seg["speaker"]), start == 0))
    return cues


def build_cues(
    segments: Sequence[Segment], options: CueOptions | None = None, *, speaker_prefix: bool
) -> list[Cue]:
    """All cues of a transcript, in order.

    ``speaker_prefix`` writes ``Name:`` before the first cue of each speaker's turn (for
    SRT, which has no speaker markup), or the subtitler's ``-`` when the new speaker is
    unknown.
    """
    options = options or CueOptions()
    cues: list[Cue] = []
    previous: str | None = None
    for seg in segments:
        turn = seg["speaker"] != previous
        name = _one_line(seg["speaker"])
        prefix = (f"{name}:" if name else "-") if speaker_prefix and turn else ""
        seg_cues = segment_cues(seg, options, prefix=prefix)
        if seg_cues:
            first = seg_cues[0]
            seg_cues[0] = Cue(first.t0, first.t1, first.lines, first.speaker, turn)
            previous = seg["speaker"]
        cues.extend(seg_cues)
    return cues
