"""Names shared by every layer: origins, root types and the plain shapes of a snapshot.

The Yjs layout itself is described in the docstring of :mod:`engine._doc_base`.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal, NotRequired, TypedDict


class Origin(StrEnum):
    """Who made a change. Every transaction carries one, so observers can skip their own echoes.

    Example:
        >>> Origin.HUMAN == "human"
        True
    """

    AGENT = "agent"
    HUMAN = "human"
    WORKER = "worker"
    RELAY = "relay"


# Root types of the document.
META = "meta"
SEGMENTS = "segments"
SPEAKERS = "speakers"
ACTIONS = "actions"
SUMMARY = "summary"

META_FIELDS = (
    "transcript_id",
    "org_id",
    "title",
    "language",
    "started_at",
    "model",
    "upload_audio",
    "retention_days",
    "vocabulary",
)

ActionStatus = Literal["open", "done", "dismissed"]
ACTION_STATUSES: tuple[ActionStatus, ...] = ("open", "done", "dismissed")

# A word with its timing: [word, t0, t1, prob].
Word = tuple[str, float, float, float]


class Meta(TypedDict):
    transcript_id: str
    org_id: str | None
    title: str
    language: str | None
    started_at: str | None
    model: str | None
    upload_audio: bool
    retention_days: int | None
    vocabulary: list[str]


class Segment(TypedDict):
    segment_id: str
    text: str
    t0: float
    t1: float
    speaker: str | None  # the display name (after renames)
    speaker_id: str | None  # the ASR's label, e.g. "S1"
    conf: float | None
    rev: int
    final: bool
    words: list[Word]
    lang: str | None
    source: Literal["asr", "human"]
    edited_by: str | None
    edited_at: str | None
    asr_text: str | None


class Action(TypedDict):
    action_id: str
    text: str
    owner: str | None
    due: str | None
    status: ActionStatus
    conf: float | None
    segment_ids: list[str]
    source_span: NotRequired[dict[str, float] | None]  # seconds of the recording
    origin: Literal["worker", "human"]
    # Present only when set: the worker no longer finds it (evidence deleted or changed),
    # and the fields a person changed (the worker never writes those again).
    stale: NotRequired[bool]
    edited_fields: NotRequired[list[str]]


class Summary(TypedDict):
    bullets: list[str]
    risks: list[str]
    topics: list[str]
    updated_at: str | None
    model: str | None


class Unreadable(TypedDict):
    """A part of the doc that is not of the documented shape, so was left out of a snapshot.

    ``root`` is the root type (``segments``, ``actions``, ``summary``, ``meta``,
    ``speakers``), ``key`` the entry or field in it, ``reason`` what is wrong with it.
    """

    root: str
    key: str
    reason: str


class Snapshot(TypedDict):
    meta: Meta
    segments: list[Segment]
    actions: list[Action]
    summary: Summary | None
    unreadable: list[Unreadable]  # empty for a doc only Minuta's own writers wrote
