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

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, cast

from pycrdt import Doc, Map, Subscription, Text, TransactionEvent

from ._errors import CorruptUpdateError, InvalidTranscriptError, UnknownSegmentError
from ._read import (
    EDITED_PREFIX,
    Bad,
    final_text,
    is_finite_number,
    read_actions,
    read_meta,
    read_segments,
    read_speakers,
    read_summary,
    text_at,
)
from ._schema import (
    ACTION_STATUSES,
    ACTIONS,
    META,
    META_FIELDS,
    SEGMENTS,
    SPEAKERS,
    SUMMARY,
    ActionStatus,
    Origin,
    Snapshot,
    Unreadable,
    Word,
)
from ._vocabulary import clean_vocabulary, read_vocabulary

_ORIGINS = {o.value: o for o in Origin}

# Fields of an action a person may change (each change is marked ``edited:<field>``).
HUMAN_ACTION_FIELDS = ("text", "owner", "due", "status")


def _edited_fields(action: Map[Any]) -> list[str]:
    keys = action.keys()  # a pycrdt Map: iterating it directly is not typed
    return [str(k)[len(EDITED_PREFIX) :] for k in keys if str(k).startswith(EDITED_PREFIX)]


# Text key used for a human-edited text imported from a JSON export.
IMPORTED_HUMAN_KEY = "imported"


def utc_now() -> str:
    """The current time as an ISO 8601 string in UTC, to the second."""
    return datetime.now(UTC).replace(microsecond=0).isoformat()


class TranscriptDoc:
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

    def __init__(self, doc: Doc[Any] | None = None) -> None:
        self._doc: Doc[Any] = doc if doc is not None else Doc()
        self._meta = self._doc.get(META, type=Map)
        self._segments = self._doc.get(SEGMENTS, type=Map)
        self._speakers = self._doc.get(SPEAKERS, type=Map)
        self._actions = self._doc.get(ACTIONS, type=Map)
        self._summary = self._doc.get(SUMMARY, type=Map)

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
        _check_segment_id(segment_id)
        _check_rev(rev)
        _check_times(t0, t1, what=f"segment {segment_id!r}")
        _check_conf(conf)
        clean_words = _check_words(words if words is not None else [], segment_id)
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

    # ----------------------------------------------------------------- actions and summary

    def upsert_action(
        self,
        action_id: str,
        *,
        text: str,
        owner: str | None = None,
        due: str | None = None,
        status: ActionStatus = "open",
        conf: float | None = None,
        segment_ids: Iterable[str] = (),
        source_span: dict[str, float] | None = None,
        origin: Origin = Origin.WORKER,
    ) -> None:
        """Create or update an action item (``origin`` says who: worker or human)."""
        if not action_id or not text:
            raise InvalidTranscriptError("an action needs an action_id and a text")
        if status not in ACTION_STATUSES:
            raise InvalidTranscriptError(f"unknown action status {status!r}")
        _check_conf(conf)
        _check_span(source_span)
        fields: dict[str, Any] = {
            "action_id": action_id,
            "text": text,
            "owner": owner,
            "due": due,
            "status": status,
            "conf": conf,
            "segment_ids": list(segment_ids),
            "source_span": dict(source_span) if source_span else None,
            "origin": "human" if origin == Origin.HUMAN else "worker",
        }
        with self._doc.transaction(origin=origin):
            existing = self._actions.get(action_id)
            if not isinstance(existing, Map):
                self._actions[action_id] = Map(fields)
                return
            if origin != Origin.HUMAN:
                if existing.get("origin") == "human":
                    return  # a person's own action: the machine leaves it alone
                # Fields a person changed are theirs for good.
                for key in _edited_fields(existing):
                    fields.pop(key, None)
                fields.pop("origin", None)
            for key, value in fields.items():
                if existing.get(key) != value:
                    existing[key] = value

    def edit_action(self, action_id: str, *, user: str, **changes: Any) -> None:
        """A person's change to an action's text, owner, due or status.

        The changed fields are marked as the person's, so no later worker run writes
        them again.

        Example:
            >>> t = TranscriptDoc.create("t-1")
            >>> t.upsert_action("a-1", text="Enviar el acta", owner="Ana")
            >>> t.edit_action("a-1", user="bo", owner="Bo", status="done")
            >>> t.upsert_action("a-1", text="Enviar el acta", owner="Ana")  # a worker rerun
            >>> a = t.snapshot()["actions"][0]
            >>> a["owner"], a["status"], a["edited_fields"]
            ('Bo', 'done', ['owner', 'status'])
        """
        unknown = set(changes) - set(HUMAN_ACTION_FIELDS)
        if unknown:
            raise InvalidTranscriptError(f"an action's {sorted(unknown)} cannot be edited")
        if "status" in changes and changes["status"] not in ACTION_STATUSES:
            raise InvalidTranscriptError(f"unknown action status {changes['status']!r}")
        if "text" in changes and not changes["text"]:
            raise InvalidTranscriptError("an action needs a text")
        with self._doc.transaction(origin=Origin.HUMAN):
            action = self._actions.get(action_id)
            if not isinstance(action, Map):
                raise InvalidTranscriptError(f"no action {action_id!r}")
            for key, value in changes.items():
                if action.get(key) != value:
                    action[key] = value
                # One key per field: concurrent edits of different fields both stay.
                action[EDITED_PREFIX + key] = user

    def mark_stale(self, action_id: str, stale: bool = True) -> None:
        """The worker no longer finds this action (its evidence was deleted or changed)."""
        with self._doc.transaction(origin=Origin.WORKER):
            action = self._actions.get(action_id)
            if isinstance(action, Map) and bool(action.get("stale")) != stale:
                action["stale"] = stale

    def set_summary(
        self,
        *,
        bullets: Sequence[str],
        risks: Sequence[str] = (),
        topics: Sequence[str] = (),
        model: str | None = None,
        updated_at: str | None = None,
        origin: Origin = Origin.WORKER,
    ) -> None:
        with self._doc.transaction(origin=origin):
            self._summary["bullets"] = list(bullets)
            self._summary["risks"] = list(risks)
            self._summary["topics"] = list(topics)
            self._summary["model"] = model
            self._summary["updated_at"] = updated_at or utc_now()

    # ----------------------------------------------------------------- reading

    def segment_ids(self) -> list[str]:
        return list(self._segments.keys())

    def final_texts(self) -> dict[str, str]:
        """segment_id -> displayed text of every visible final segment: cheaper than a
        snapshot, for noticing what changed (the workers poll it).

        Example:
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


def _check_segment_id(segment_id: str) -> None:
    if not isinstance(segment_id, str) or not segment_id:
        raise InvalidTranscriptError("segment_id must be a non-empty string")


def _check_rev(rev: int) -> None:
    if isinstance(rev, bool) or not isinstance(rev, int) or rev < 1:
        raise InvalidTranscriptError(f"rev must be an integer >= 1, got {rev!r}")


def _check_times(t0: float, t1: float, *, what: str) -> None:
    for name, value in (("t0", t0), ("t1", t1)):
        if not is_finite_number(value):
            raise InvalidTranscriptError(f"{what}: {name} must be a finite number, got {value!r}")
        if value < 0:
            raise InvalidTranscriptError(f"{what}: {name} is negative ({value})")
    if t1 < t0:
        raise InvalidTranscriptError(f"{what}: t1 ({t1}) is before t0 ({t0})")


def _check_conf(conf: float | None) -> None:
    if conf is None:
        return
    if not is_finite_number(conf) or not 0.0 <= conf <= 1.0:
        raise InvalidTranscriptError(f"conf must be a number in [0, 1], got {conf!r}")


def _check_span(span: object) -> None:
    if span is None:
        return
    if not isinstance(span, dict) or set(span) != {"from", "to"}:
        raise InvalidTranscriptError(f"source_span must be {{from, to}}, got {span!r}")
    lo, hi = span["from"], span["to"]
    if not (is_finite_number(lo) and is_finite_number(hi)) or not 0 <= lo <= hi:
        raise InvalidTranscriptError(
            f"source_span must hold seconds of the recording, 0 <= from <= to, got {span!r}"
        )


def _check_words(words: object, segment_id: str) -> list[list[Any]]:
    if not isinstance(words, list | tuple):
        raise InvalidTranscriptError(f"segment {segment_id!r}: words must be a list")
    clean: list[list[Any]] = []
    for i, w in enumerate(words):
        if not isinstance(w, list | tuple) or len(w) != 4 or not isinstance(w[0], str):
            raise InvalidTranscriptError(
                f"segment {segment_id!r}: word {i} must be [word, t0, t1, prob], got {w!r}"
            )
        _check_times(w[1], w[2], what=f"segment {segment_id!r} word {i}")
        if not is_finite_number(w[3]):
            raise InvalidTranscriptError(f"segment {segment_id!r}: word {i} prob must be a number")
        clean.append([w[0], round(float(w[1]), 3), round(float(w[2]), 3), round(float(w[3]), 3)])
    return clean


# A Word is a tuple in snapshots; keep the name exported for callers building words.
__all__ = ["TranscriptDoc", "Word", "is_finite_number", "utc_now"]
