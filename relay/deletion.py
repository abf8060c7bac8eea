"""Deleting a transcript for good: asked for by an admin, or at the end of its retention.

One transaction removes its update log, connector rows and its ``transcripts`` row (the
segments, actions and search index go with it by cascade and trigger), leaves a tombstone
so the id is never stored again, and writes the audit event. The audio file goes after
the commit: were the relay to stop in between, :func:`sweep_audio` removes it later.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy import delete as sa_delete
from sqlalchemy.orm import Session

from .audio import AudioStore
from .db import (
    AuditEvent,
    ConnectorLink,
    ConnectorPush,
    DeletedTranscript,
    DocUpdate,
    Transcript,
    writer,
)


def forget(
    engine: Engine,
    transcript_id: str,
    *,
    action: str,
    username: str | None = None,
    audio: AudioStore | None = None,
    **detail: Any,
) -> bool:
    """Delete the transcript and record ``action`` in the audit log; False if it was gone
    already. Blocking: call it from a worker thread."""
    with Session(writer(engine)) as session, session.begin():
        # Locked first: an update log commit in flight for this transcript either lands
        # before (and is deleted below) or sees the tombstone and is refused.
        row = session.get(Transcript, transcript_id, with_for_update=True)
        if row is None:
            return False
        session.add(DeletedTranscript(transcript_id=transcript_id, org_id=row.org_id))
        for table in (DocUpdate, ConnectorPush, ConnectorLink):
            session.execute(sa_delete(table).where(table.transcript_id == transcript_id))
        had_audio = audio is not None and audio.has(transcript_id)
        event = AuditEvent(
            org_id=row.org_id, username=username, action=action,
            transcript_id=transcript_id, detail={**detail, "audio": had_audio},
        )  # fmt: skip
        session.add(event)
        session.delete(row)
    if audio is not None:
        audio.delete(transcript_id)
    return True


def sweep_audio(engine: Engine, audio: AudioStore) -> int:
    """Remove the audio of transcripts that were deleted (a stop between the commit and
    the file's removal); how many."""
    ids = audio.transcript_ids()
    if not ids:
        return 0
    with Session(engine) as session:
        gone = set(
            session.scalars(
                select(DeletedTranscript.transcript_id).where(
                    DeletedTranscript.transcript_id.in_(list(ids))
                )
            )
        )
    for transcript_id in gone:
        audio.delete(transcript_id)
    return len(gone)
