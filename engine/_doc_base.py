"""The transcript as a Yjs document, with a typed API over it.

Layout of the document (root types and what lives in them):

``meta`` (Y.Map)
    transcript_id, org_id, title, language, started_at, model, upload_audio (false),
    retention_days, vocabulary (a list of terms the ASR should expect). Plain values.
``segments`` (Y.Map: segment_id -> Y.Map)
    ``segment_id``
        the key again, so a segment map is self-describing.
    ``asr``
        one plain map, written only by the ASR, replaced whole at every revision:
        ``{rev, text, t0, t1, speaker, conf, final, words, lang, text_key, deleted}``.
        Packing the machine's fields into one value costs one tombstone per revision
        instead of ten, which keeps a 2-hour doc loading in tens of milliseconds.
    ``texts`` (Y.Map: text_key -> Y.Text)
        the editable texts. The ASR adds one for each *final* hypothesis whose text
        changed (``asr.text_key`` names the latest) and never edits or removes one.
        A partial hypothesis lives only in ``asr.text``; a person who edits a partial
        adds a Y.Text of their own, keyed ``"<rev>.<client_id>"``.
    ``human_key``, ``edited_by``, ``edited_at``
        written by people. ``human_key`` names the Y.Text a person edited.
    ``deleted_by``
        set when a person deletes the segment.
``speakers`` (Y.Map: speaker -> display name)
    renaming a speaker is one write here, and renames every segment of that speaker.
``actions`` (Y.Map: action_id -> Y.Map)
    text, owner, due, status, conf, segment_ids, source_span (seconds: {from, to}), origin.
``summary`` (Y.Map)
    bullets, risks, topics, updated_at, model.

Why the ASR never edits a Y.Text: a human edit must survive any ASR revision, including
one made concurrently on another replica. If the ASR rewrote a shared Y.Text in place, a
concurrent human edit would merge character by character with the machine's deletions and
the person's intended text would be lost. Here the ASR only ever *adds* texts, and a person
edits the text they were shown and records it in ``human_key``; once that key exists the
displayed text is the human one, whatever order updates arrive in, and the ASR's latest
hypothesis stays readable as ``asr_text``. Two people who start editing one segment at the
same moment from different hypotheses (or from the same partial) each keep their Y.Text, and
the last-writer-wins value of ``human_key`` decides which is shown, identically everywhere.

Indices of text edits count Python characters. (pycrdt itself counts UTF-8 bytes, and
yjs in the browser UTF-16 units; the CRDT merges by item, so replicas agree regardless.)

Other clients may write anything: the writes here validate what they write, and the reads
(:mod:`engine._read`) leave out and list whatever is not of this layout.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pycrdt import Doc, Map, Subscription, TransactionEvent

from ._errors import CorruptUpdateError, UnknownSegmentError
from ._schema import ACTIONS, META, SEGMENTS, SPEAKERS, SUMMARY, Origin

_ORIGINS = {o.value: o for o in Origin}


def utc_now() -> str:
    """The current time as an ISO 8601 string in UTC, to the second."""
    return datetime.now(UTC).replace(microsecond=0).isoformat()


class DocRoots:
    """The document and its five roots, with what every part of the API shares: sync,
    observation and finding a segment. :class:`engine.TranscriptDoc` builds on it, one
    module per root (``_doc_segments``, ``_doc_actions``)."""

    def __init__(self, doc: Doc[Any] | None = None) -> None:
        self._doc: Doc[Any] = doc if doc is not None else Doc()
        self._meta = self._doc.get(META, type=Map)
        self._segments = self._doc.get(SEGMENTS, type=Map)
        self._speakers = self._doc.get(SPEAKERS, type=Map)
        self._actions = self._doc.get(ACTIONS, type=Map)
        self._summary = self._doc.get(SUMMARY, type=Map)

    # ----------------------------------------------------------------- sync

    @property
    def doc(self) -> Doc[Any]:
        """The underlying pycrdt document (for providers and rooms)."""
        return self._doc

    @property
    def transcript_id(self) -> str:
        return str(self._meta.get("transcript_id") or "")

    def encode_update(self, state: bytes | None = None) -> bytes:
        """The update that brings a replica at ``state`` (a state vector) up to date."""
        return self._doc.get_update(state)

    @property
    def client_id(self) -> int:
        """This replica's Yjs client id (the key of its own entry in state vectors)."""
        return int(self._doc.client_id)

    def state_vector(self) -> bytes:
        return self._doc.get_state()

    def apply_update(self, update: bytes, origin: Origin = Origin.RELAY) -> None:
        """Merge an update from another replica.

        Raises:
            CorruptUpdateError: the bytes are not a valid Yjs update.
        """
        try:
            with self._doc.transaction(origin=origin):
                self._doc.apply_update(update)
        except Exception as exc:  # yrs reports bad bytes as ValueError or RuntimeError
            raise CorruptUpdateError(f"corrupt Yjs update: {exc}") from None

    def observe(self, callback: Callable[[bytes, Origin | None], None]) -> Subscription:
        """Call ``callback(update, origin)`` after every transaction that changed the doc.

        ``origin`` is None for a transaction that did not name one of :class:`Origin`.

        The callback must not write to this doc (pycrdt forbids it inside an observer).
        """

        def on_event(event: TransactionEvent) -> None:
            raw = event.transaction.origin()  # type: ignore[attr-defined]
            # pycrdt keeps the origin objects by hash for the life of the transaction.
            origin = self._doc._origins.get(raw) if raw is not None else None
            known = origin if isinstance(origin, Origin) else _ORIGINS.get(str(origin))
            callback(event.update, known)

        return self._doc.observe(on_event)

    def unobserve(self, subscription: Subscription) -> None:
        self._doc.unobserve(subscription)

    # ----------------------------------------------------------------- helpers

    def _segment_map(self, segment_id: str) -> Map[Any] | None:
        seg = self._segments.get(segment_id)
        if seg is None:
            return None
        if not isinstance(seg, Map):
            raise CorruptUpdateError(f"segment {segment_id!r} is not a map")
        return seg

    def _require_segment(self, segment_id: str) -> Map[Any]:
        seg = self._segment_map(segment_id)
        if seg is None:
            raise UnknownSegmentError(f"no segment {segment_id!r}")
        return seg
