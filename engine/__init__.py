"""Minuta's transcript engine: the Yjs document model and its exports. Pure logic, no I/O.

Example:
    >>> from engine import TranscriptDoc, export
    >>> t = TranscriptDoc.create("t-1", title="Demo", language="en")
    >>> t.upsert_segment("s-1", rev=1, text="Hello there.", t0=0.0, t1=1.4, speaker="S1")
    True
    >>> export(t.snapshot(), "srt").splitlines()[2]
    'S1: Hello there.'
"""

from ._doc import TranscriptDoc as TranscriptDoc
from ._doc import utc_now as utc_now
from ._errors import CommandError as CommandError
from ._errors import CorruptUpdateError as CorruptUpdateError
from ._errors import InvalidTranscriptError as InvalidTranscriptError
from ._errors import TranscriptError as TranscriptError
from ._errors import UnknownSegmentError as UnknownSegmentError
from ._json import dumps as dumps_json
from ._json import from_json as from_json
from ._json import loads as loads_json
from ._json import to_json as to_json
from ._schema import Action as Action
from ._schema import Meta as Meta
from ._schema import Origin as Origin
from ._schema import Segment as Segment
from ._schema import Snapshot as Snapshot
from ._schema import Summary as Summary
from ._schema import Unreadable as Unreadable
from ._schema import Word as Word
from ._split import split_update as split_update
from ._state import covers as covers
from ._state import decode_state as decode_state
from ._updates import InvalidUpdateError as InvalidUpdateError
from ._updates import check_state_vector as check_state_vector
from ._updates import check_update as check_update
from ._updates import clock_ends as clock_ends
from ._vocabulary import clean_vocabulary as clean_vocabulary
from .exports import EXTENSIONS as EXTENSIONS
from .exports import FORMATS as FORMATS
from .exports import MEDIA_TYPES as MEDIA_TYPES
from .exports import Format as Format
from .exports import export as export

__all__ = [
    "EXTENSIONS",
    "FORMATS",
    "MEDIA_TYPES",
    "Action",
    "CommandError",
    "CorruptUpdateError",
    "Format",
    "InvalidTranscriptError",
    "InvalidUpdateError",
    "Meta",
    "Origin",
    "Segment",
    "Snapshot",
    "Summary",
    "TranscriptDoc",
    "TranscriptError",
    "UnknownSegmentError",
    "Unreadable",
    "Word",
    "check_state_vector",
    "check_update",
    "clean_vocabulary",
    "clock_ends",
    "covers",
    "decode_state",
    "dumps_json",
    "export",
    "from_json",
    "loads_json",
    "split_update",
    "to_json",
    "utc_now",
]
