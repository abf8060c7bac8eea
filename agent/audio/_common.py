"""What both audio sources share: the rate everything is delivered at, and the error."""

from __future__ import annotations

SAMPLE_RATE = 16_000


class AudioError(Exception):
    """A user-facing problem with audio input: one clear sentence, with the fix when there is one."""
