"""What a push sends, read from a transcript's snapshot: only text and metadata.

The note is the ``crm_note`` form: context (the summary's bullets), needs (its risks and
dependencies) and next steps (the open actions, with owner and date). The transcript's
text goes only to a connector that asked for it; audio never leaves.

Example:
    >>> snap = {"meta": {"transcript_id": "t1", "title": "Kickoff", "started_at": None,
    ...                  "language": "en"},
    ...         "segments": [{"speaker": "Ana", "text": "hi", "final": True}],
    ...         "summary": {"bullets": ["Budget agreed"], "risks": ["Legal review"]},
    ...         "actions": [{"action_id": "a1", "text": "Send the deck", "owner": "Ana",
    ...                      "due": "2026-12-10", "status": "open"}]}
    >>> note_of(snap, include_transcript=False).next_steps
    ['Ana: Send the deck (due 2026-12-10)']
    >>> [t.action_id for t in tasks_of(snap)]
    ['a1']
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from typing import Any, cast

from .targets._base import Note, Task

NOTE_ITEM = "note"
ACTION_ITEM = "action:"


def note_of(snapshot: Mapping[str, Any], *, include_transcript: bool) -> Note:
    meta = snapshot.get("meta") or {}
    summary = snapshot.get("summary") or {}
    segments = [s for s in snapshot.get("segments") or [] if s.get("final", True)]
    participants: list[str] = []
    for seg in segments:
        speaker = seg.get("speaker")
        if speaker and speaker not in participants:
            participants.append(str(speaker))
    transcript = None
    if include_transcript:
        transcript = "\n".join(
            f"{s['speaker']}: {s['text']}" if s.get("speaker") else str(s.get("text", ""))
            for s in segments
        )
    return Note(
        transcript_id=str(meta.get("transcript_id", "")),
        title=str(meta.get("title") or ""),
        started_at=meta.get("started_at"),
        language=meta.get("language"),
        context=[str(b) for b in summary.get("bullets") or []],
        needs=[str(r) for r in summary.get("risks") or []],
        next_steps=[_step(t) for t in tasks_of(snapshot) if t.status == "open"],
        participants=participants,
        transcript=transcript,
    )


def tasks_of(snapshot: Mapping[str, Any]) -> list[Task]:
    """Every action as a task; one the worker no longer finds (``stale``) counts as
    dismissed, so a task pushed for it earlier is closed."""
    meta = snapshot.get("meta") or {}
    tasks = []
    for action in snapshot.get("actions") or []:
        status = "dismissed" if action.get("stale") else action.get("status", "open")
        tasks.append(
            Task(
                transcript_id=str(meta.get("transcript_id", "")),
                action_id=str(action["action_id"]),
                text=str(action.get("text", "")),
                owner=action.get("owner"),
                due=action.get("due"),
                status=cast(Any, status if status in ("open", "done", "dismissed") else "open"),
                meeting_title=str(meta.get("title") or ""),
            )
        )
    return tasks


def _step(task: Task) -> str:
    text = f"{task.owner}: {task.text}" if task.owner else task.text
    return f"{text} (due {task.due})" if task.due else text


def as_payload(item: Note | Task) -> dict[str, Any]:
    return {"kind": "note" if isinstance(item, Note) else "task", **dataclasses.asdict(item)}


def from_payload(payload: Mapping[str, Any]) -> Note | Task:
    fields = {k: v for k, v in payload.items() if k != "kind"}
    return Note(**fields) if payload.get("kind") == "note" else Task(**fields)


def digest(payload: Mapping[str, Any]) -> str:
    """What identifies a version of an item's content: an unchanged item is not sent again."""
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def marker(connector_id: str, transcript_id: str, item: str) -> str:
    """The token every object made for this item carries at the vendor (see
    :meth:`Target.find`): the same for every version of the item."""
    token = hashlib.sha256(f"{connector_id}\0{transcript_id}\0{item}".encode()).hexdigest()
    return f"minuta:{token[:16]}"
