"""Action items and the summary: what the workers write and people correct."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from pycrdt import Map

from ._checks import check_conf, check_span
from ._doc_base import DocRoots, utc_now
from ._errors import InvalidTranscriptError
from ._read import EDITED_PREFIX
from ._schema import ACTION_STATUSES, ActionStatus, Origin

# Fields of an action a person may change (each change is marked ``edited:<field>``).
HUMAN_ACTION_FIELDS = ("text", "owner", "due", "status")


def _edited_fields(action: Map[Any]) -> list[str]:
    keys = action.keys()  # a pycrdt Map: iterating it directly is not typed
    return [str(k)[len(EDITED_PREFIX) :] for k in keys if str(k).startswith(EDITED_PREFIX)]


class ActionsPart(DocRoots):
    """The ``actions`` and ``summary`` roots."""

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
        check_conf(conf)
        check_span(source_span)
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
            >>> from engine import TranscriptDoc
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
