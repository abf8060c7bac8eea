"""What the workers add to a transcript: action items and a summary, by heuristics.

Pure functions over a snapshot's segments (no I/O, no model), in Spanish and English.

Example:
    >>> from datetime import date
    >>> [a.text for a in extract_actions(
    ...     [{"segment_id": "s1", "speaker": "Raj", "text": "I'll ping the vendor tomorrow."}],
    ...     language="en", today=date(2026, 1, 14))]
    ["I'll ping the vendor tomorrow"]
"""

from ._actions import MIN_CONF as MIN_CONF
from ._actions import ActionItem as ActionItem
from ._actions import extract_actions as extract_actions
from ._dates import resolve_due as resolve_due
from ._span import span_seconds as span_seconds
from ._summary import SummaryResult as SummaryResult
from ._summary import summarize as summarize

__all__ = [
    "MIN_CONF",
    "ActionItem",
    "SummaryResult",
    "extract_actions",
    "resolve_due",
    "span_seconds",
    "summarize",
]
