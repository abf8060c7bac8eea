"""Segments and speakers: what the ASR writes and what people correct.

Why the two never touch the same Y.Text is told in :mod:`engine._doc_base`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from pycrdt import Map, Text

from ._checks import check_conf, check_rev, check_segment_id, check_times, check_words
from ._doc_base import DocRoots, utc_now
from ._errors import CorruptUpdateError, InvalidTranscriptError
from ._read import Bad, final_text, text_at
from ._schema import Origin

# Text key used for a human-edited text imported from a JSON export.
IMPORTED_HUMAN_KEY = "imported"


class SegmentsPart(DocRoots):
    """The ``segments`` and ``speakers`` roots."""

    # ----------------------------------------------------------------- segments (ASR)

    def upsert_segment(
        self,
        segment_id: str,
        *,
        rev: int,
        text: str,
        t0: float,
        t1: float,
        speaker: str | None = None,
        conf: float | None = None,
        final: bool = False,
        words: Sequence[Sequence[Any]] | None = None,
        lang: str | None = None,
        origin: Origin = Origin.AGENT,
    ) -> bool:
        """Write an ASR hypothesis for a segment. Returns whether anything changed.

        A ``rev`` at or below the stored one changes nothing. Once a person has edited the
        segment, the new text is kept as ``asr_text`` and the displayed text stays theirs.
        """
        check_segment_id(segment_id)
        check_rev(rev)
        check_times(t0, t1, what=f"segment {segment_id!r}")
        check_conf(conf)
        clean_words = check_words(words if words is not None else [], segment_id)
        with self._doc.transaction(origin=origin):
            seg = self._segment_map(segment_id)
            if seg is None:
                seg = Map({"segment_id": segment_id, "texts": Map()})
                self._segments[segment_id] = seg
                old: dict[str, Any] = {}
            else:
                old = _asr_of(seg)
                if rev <= int(old.get("rev", 0)):
                    return False
            text_key = self._text_key_for(seg, old, rev, text) if final else None
            seg["asr"] = {
                "rev": rev,
                "text": text,
                # Milliseconds are plenty, and keep float noise (20.509999999999998) out.
                "t0": round(float(t0), 3),
                "t1": round(float(t1), 3),
                "speaker": speaker,
                "conf": None if conf is None else float(conf),
                "final": bool(final),
                "words": clean_words,
                "lang": lang,
                "text_key": text_key,
                "deleted": False,
            }
        return True

    def _text_key_for(self, seg: Map[Any], old: dict[str, Any], rev: int, text: str) -> str:
        """The Y.Text of a final hypothesis: the current one if unchanged, else a new one."""
        texts = _texts_of(seg)
        old_key = old.get("text_key")
        human_key = seg.get("human_key")
        if isinstance(old_key, str) and old_key != human_key and str(texts.get(old_key)) == text:
            return str(old_key)
        key = str(rev)
        texts[key] = Text(text)
        return key

    def finalize_segment(self, segment_id: str, *, origin: Origin = Origin.AGENT) -> bool:
        """Mark a segment final without changing its text (a new revision).

        Returns whether anything changed (False if it was final already).
        """
        with self._doc.transaction(origin=origin):
            seg = self._require_segment(segment_id)
            asr = _asr_of(seg)
            if asr.get("final"):
                return False
            seg["asr"] = {**asr, "final": True, "rev": int(asr["rev"]) + 1}
        return True

    def delete_segment(
        self, segment_id: str, *, origin: Origin = Origin.HUMAN, user: str | None = None
    ) -> None:
        """Delete a segment.

        A person's delete hides it for good. The ASR's delete (a retracted hypothesis) is
        ignored for a segment a person has edited, even when the two happen concurrently.
        """
        with self._doc.transaction(origin=origin):
            seg = self._require_segment(segment_id)
            if origin == Origin.AGENT:
                asr = _asr_of(seg)
                seg["asr"] = {**asr, "deleted": True, "rev": int(asr["rev"]) + 1}
            else:
                seg["deleted_by"] = user or str(origin)

    # ----------------------------------------------------------------- segments (people)

    def text_of(self, segment_id: str) -> Text | None:
        """The displayed Y.Text of a segment, which people edit.

        None while the segment is a partial hypothesis nobody has edited: its text is then
        ``asr.text``, and the first edit makes a Y.Text for it.
        """
        seg = self._require_segment(segment_id)
        key = _shown_key(seg, _asr_of(seg))
        return None if key is None else _ytext(seg, key)

    def edited_by_person(self, segment_id: str) -> bool:
        """Whether a person has edited or deleted the segment (the ASR must not extend it)."""
        seg = self._require_segment(segment_id)
        return seg.get("human_key") is not None or seg.get("deleted_by") is not None

    def shown_text(self, segment_id: str) -> str:
        """The text displayed for a segment."""
        seg = self._require_segment(segment_id)
        return _shown_text(seg, _asr_of(seg))

    def edit_text(
        self,
        segment_id: str,
        index: int,
        delete: int = 0,
        insert: str = "",
        *,
        user: str,
        at: str | None = None,
    ) -> None:
        """A person's character-level edit: delete ``delete`` chars at ``index``, then insert.

        Indices count Python characters (code points), whatever the text's script.

        The first edit claims the segment for people: from then on ASR revisions only
        update ``asr_text``.
        """
        if not user:
            raise InvalidTranscriptError("a human edit needs a user")
        with self._doc.transaction(origin=Origin.HUMAN):
            seg = self._require_segment(segment_id)
            asr = _asr_of(seg)
            current = _shown_text(seg, asr)
            if not (0 <= index <= len(current)) or delete < 0 or index + delete > len(current):
                raise InvalidTranscriptError(
                    f"edit out of range for segment {segment_id!r}: "
                    f"index {index}, delete {delete}, length {len(current)}"
                )
            texts = _texts_of(seg)
            key = _shown_key(seg, asr)
            if key is None:
                # A partial: this person's own copy, so no one else's first edit collides.
                key = f"{asr['rev']}.{self._doc.client_id}"
                texts[key] = Text(current)
            ytext = _ytext(seg, key)
            if seg.get("human_key") is None:
                seg["human_key"] = key
            seg["edited_by"] = user
            seg["edited_at"] = at or utc_now()
            # pycrdt addresses Y.Text in UTF-8 bytes; this API speaks Python characters.
            start = len(current[:index].encode())
            if delete:
                end = start + len(current[index : index + delete].encode())
                del ytext[start:end]
            if insert:
                ytext.insert(start, insert)

    def set_text(self, segment_id: str, text: str, *, user: str, at: str | None = None) -> None:
        """A person's whole-text correction, applied as the smallest character edit.

        Example:
            >>> from engine import TranscriptDoc
            >>> t = TranscriptDoc.create("t-1")
            >>> _ = t.upsert_segment("s", rev=1, text="the cat sat", t0=0.0, t1=1.0)
            >>> t.set_text("s", "the dog sat", user="bo")
            >>> t.snapshot()["segments"][0]["text"]
            'the dog sat'
        """
        old = self.shown_text(segment_id)
        start = 0
        limit = min(len(old), len(text))
        while start < limit and old[start] == text[start]:
            start += 1
        end_old, end_new = len(old), len(text)
        while end_old > start and end_new > start and old[end_old - 1] == text[end_new - 1]:
            end_old -= 1
            end_new -= 1
        if old == text:
            return
        self.edit_text(segment_id, start, end_old - start, text[start:end_new], user=user, at=at)

    def import_human_text(
        self, segment_id: str, text: str, *, user: str, at: str | None = None
    ) -> None:
        """Record ``text`` as a person's version of a segment, as read from an export.

        The ASR's text stays as it is (it becomes ``asr_text`` if it differs).
        """
        with self._doc.transaction(origin=Origin.HUMAN):
            seg = self._require_segment(segment_id)
            key = _shown_key(seg, _asr_of(seg))
            texts = _texts_of(seg)
            if key is None or str(texts.get(key)) != text:
                key = IMPORTED_HUMAN_KEY
                texts[key] = Text(text)
            seg["human_key"] = key
            seg["edited_by"] = user
            seg["edited_at"] = at or utc_now()

    def rename_speaker(self, speaker: str, name: str, *, origin: Origin = Origin.HUMAN) -> None:
        """Show ``speaker`` as ``name`` on every segment of that speaker."""
        if not speaker or not name:
            raise InvalidTranscriptError("speaker and name must not be empty")
        with self._doc.transaction(origin=origin):
            self._speakers[speaker] = name

    def segment_ids(self) -> list[str]:
        return list(self._segments.keys())

    def final_texts(self) -> dict[str, str]:
        """segment_id -> displayed text of every visible final segment: cheaper than a
        snapshot, for noticing what changed (the workers poll it).

        Example:
            >>> from engine import TranscriptDoc
            >>> t = TranscriptDoc.create("t-1")
            >>> _ = t.upsert_segment("s1", rev=1, text="hola", t0=0, t1=1, final=True)
            >>> _ = t.upsert_segment("s2", rev=1, text="parcial", t0=1, t1=2)
            >>> t.final_texts()
            {'s1': 'hola'}
        """
        texts: dict[str, str] = {}
        for segment_id, seg in self._segments.items():
            text = final_text(seg)
            if text is not None:
                texts[str(segment_id)] = text
        return texts


def _shown_key(seg: Map[Any], asr: dict[str, Any]) -> str | None:
    """The key of the displayed Y.Text; None for an unedited partial."""
    key = seg.get("human_key") or asr.get("text_key")
    if key is not None and not isinstance(key, str):
        raise CorruptUpdateError(f"segment {seg.get('segment_id')!r} names its text by {key!r}")
    return key


def _shown_text(seg: Map[Any], asr: dict[str, Any]) -> str:
    key = _shown_key(seg, asr)
    if key is None:
        return str(asr.get("text", ""))
    try:
        return text_at(seg.get("texts"), key, "its text key")
    except Bad as exc:
        raise CorruptUpdateError(f"segment {seg.get('segment_id')!r}: {exc}") from None


def _ytext(seg: Map[Any], key: str) -> Text:
    text = _texts_of(seg).get(key)
    if not isinstance(text, Text):
        raise CorruptUpdateError(f"segment {seg.get('segment_id')!r} has no Y.Text {key!r}")
    return text


def _texts_of(seg: Map[Any]) -> Map[Text]:
    texts = seg.get("texts")
    if not isinstance(texts, Map):
        raise CorruptUpdateError(f"segment {seg.get('segment_id')!r} has no texts map")
    return cast(Map[Text], texts)


def _asr_of(seg: Map[Any]) -> dict[str, Any]:
    asr = seg.get("asr")
    if not isinstance(asr, dict):
        raise CorruptUpdateError(f"segment {seg.get('segment_id')!r} has no ASR fields")
    return asr
