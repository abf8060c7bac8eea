"""The transcript as a Yjs document, with a typed API over it.

The layout of the document, and why the ASR never edits a Y.Text, are told in
:mod:`engine._doc_base`. Each root's writes live in a module of their own
(:mod:`engine._doc_segments`, :mod:`engine._doc_actions`); this one assembles them and
adds meta and the reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pycrdt import Doc

from ._doc_actions import HUMAN_ACTION_FIELDS as HUMAN_ACTION_FIELDS
from ._doc_actions import ActionsPart
from ._doc_base import utc_now as utc_now
from ._doc_segments import IMPORTED_HUMAN_KEY as IMPORTED_HUMAN_KEY
from ._doc_segments import SegmentsPart
from ._errors import CorruptUpdateError, InvalidTranscriptError
from ._read import (
    is_finite_number,
    read_actions,
    read_meta,
    read_segments,
    read_speakers,
    read_summary,
)
from ._schema import META_FIELDS, Origin, Snapshot, Unreadable, Word
from ._vocabulary import clean_vocabulary, read_vocabulary


class TranscriptDoc(SegmentsPart, ActionsPart):
    """A transcript: typed reads and writes over a pycrdt ``Doc``.

    Every write runs in one transaction tagged with an :class:`Origin`.

    Example:
        >>> t = TranscriptDoc.create("t-1", title="Weekly", language="es")
        >>> t.upsert_segment("s-1", rev=1, text="hola a todos", t0=0.0, t1=1.5, speaker="S1")
        True
        >>> t.edit_text("s-1", 0, 1, "H", user="ana")
        >>> t.upsert_segment("s-1", rev=2, text="ola a todos", t0=0.0, t1=1.5)
        True
        >>> seg = t.snapshot()["segments"][0]
        >>> seg["text"], seg["asr_text"], seg["source"]
        ('Hola a todos', 'ola a todos', 'human')
    """

    # ----------------------------------------------------------------- construction

    @classmethod
    def create(
        cls,
        transcript_id: str,
        *,
        title: str = "",
        language: str | None = None,
        started_at: str | None = None,
        model: str | None = None,
        org_id: str | None = None,
        retention_days: int | None = None,
        vocabulary: Sequence[str] = (),
        origin: Origin = Origin.AGENT,
        client_id: int | None = None,
    ) -> TranscriptDoc:
        """A new transcript with its meta filled in.

        ``client_id`` fixes the Yjs client id (tests use it to make merges repeatable).
        """
        if not transcript_id:
            raise InvalidTranscriptError("transcript_id must not be empty")
        t = cls(Doc(client_id=client_id))
        t.set_meta(
            origin=origin,
            transcript_id=transcript_id,
            org_id=org_id,
            title=title,
            language=language,
            started_at=started_at or utc_now(),
            model=model,
            upload_audio=False,
            retention_days=retention_days,
            vocabulary=list(vocabulary),
        )
        return t

    @classmethod
    def from_update(cls, update: bytes) -> TranscriptDoc:
        """Load a transcript from a stored Yjs update.

        Raises:
            CorruptUpdateError: the bytes are not an update, or not of a transcript.
        """
        t = cls()
        t.apply_update(update, origin=Origin.RELAY)
        if not isinstance(t._meta.get("transcript_id"), str) or not t.transcript_id:
            raise CorruptUpdateError(
                "not a Minuta transcript: the document has no meta.transcript_id"
            )
        return t

    # ----------------------------------------------------------------- meta

    def set_meta(self, *, origin: Origin = Origin.HUMAN, **fields: Any) -> None:
        """Set meta fields (only the documented ones).

        Example:
            >>> t = TranscriptDoc.create("t-1")
            >>> t.set_meta(title="Retro")
            >>> t.snapshot()["meta"]["title"]
            'Retro'
        """
        unknown = set(fields) - set(META_FIELDS)
        if unknown:
            raise InvalidTranscriptError(f"unknown meta field(s): {', '.join(sorted(unknown))}")
        if "vocabulary" in fields:
            fields["vocabulary"] = clean_vocabulary(fields["vocabulary"])
        with self._doc.transaction(origin=origin):
            for key, value in fields.items():
                self._meta[key] = value

    # ----------------------------------------------------------------- reading

    def snapshot(self) -> Snapshot:
        """The transcript as plain data: visible segments ordered by t0, then id.

        Never raises: whatever another client wrote that is not of the documented shape
        is left out and listed in ``unreadable`` (see :mod:`engine._read`).
        """
        unreadable: list[Unreadable] = []
        speakers = read_speakers(self._speakers, unreadable)
        snapshot: Snapshot = {
            "meta": read_meta(self._meta, unreadable),
            "segments": read_segments(self._segments, speakers, unreadable),
            "actions": read_actions(self._actions, unreadable),
            "summary": read_summary(self._summary, unreadable),
            "unreadable": unreadable,
        }
        unreadable.sort(key=lambda u: (u["root"], u["key"]))
        return snapshot

    def vocabulary(self) -> list[str]:
        """The terms the ASR should expect (meta ``vocabulary``), cheap to read often.

        Example:
            >>> TranscriptDoc.create("t-1", vocabulary=["Aoife", " Kubeflow"]).vocabulary()
            ['Aoife', 'Kubeflow']
        """
        return read_vocabulary(self._meta.get("vocabulary"))


# A Word is a tuple in snapshots; keep the name exported for callers building words.
__all__ = ["TranscriptDoc", "Word", "is_finite_number", "utc_now"]
