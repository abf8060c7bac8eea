"""What a clause commits to, as the forms (``_forms.py``) find it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Commitment:
    """What a clause commits to: who (``kind``, ``name``), the verb, and how sure."""

    # "self", "named", "addressed", "we", "marker" ("Action item: …", no one named) or
    # "who" (an open "who will…?").
    kind: str
    name: str | None
    verb: str
    conf: float
    at: int  # index of the clause's token where the task's text starts
    explicit_time: bool = False  # the form needs a time to commit (present for future)
