"""Errors raised by the engine. Every one carries a message fit for a user."""

from __future__ import annotations


class TranscriptError(ValueError):
    """Base class: the input does not describe a valid transcript."""


class CorruptUpdateError(TranscriptError):
    """Bytes that are not a Yjs update, or a Yjs doc that is not a Minuta transcript."""


class InvalidTranscriptError(TranscriptError):
    """A JSON export or an API call with missing or impossible fields."""


class UnknownSegmentError(InvalidTranscriptError):
    """An edit or lookup named a segment the transcript does not have."""


class CommandError(Exception):
    """A ``minuta`` command's user-facing error, from either side's commands: printed as
    one line, exit status 2."""
