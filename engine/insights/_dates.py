"""Due dates from what people say, relative to the meeting's date, and prudent.

Only expressions with one clear reading give a date: "mañana"/"tomorrow" is the next day,
"esta semana"/"this week" and "la semana que viene"/"next week" a week later, a weekday
the next such day after the meeting (on a Friday, "el viernes" is a week later), "fin de
mes"/"end of the month" the month's last day, "hoy"/"today" the day itself. Anything else
("pronto", "soon", "en algún momento") gives no date.

Example:
    >>> from datetime import date
    >>> str(resolve_due("lo envío antes del martes", "es", date(2025, 6, 16)))
    '2025-06-17'
    >>> str(resolve_due("by end of the month", "en", date(2026, 2, 10)))
    '2026-02-28'
    >>> resolve_due("soon, hopefully", "en", date(2026, 2, 10)) is None
    True
"""

from __future__ import annotations

import calendar
import re
from datetime import date, timedelta

from ._text import fold

_WEEKDAYS = {
    "lunes": 0, "martes": 1, "miercoles": 2, "jueves": 3, "viernes": 4, "sabado": 5,
    "domingo": 6, "monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4,
    "saturday": 5, "sunday": 6,
}  # fmt: skip

# Folded (lowercase, no accents) patterns, most specific first.
_MONTH_END = re.compile(
    r"\b(fin(al)?(es)? de(l)? mes|end of (the )?month|month[- ]end|end of this month)\b"
)
_NEXT_WEEK = re.compile(
    r"\b(esta semana|la semana que viene|la proxima semana|la semana proxima|"
    r"this week|next week|within the week)\b"
)
# "mañana" is also "morning": not after "esta", "por la", "de la", "cada", "toda la".
_TOMORROW = re.compile(r"(?<!\besta )(?<!\bla )(?<!\bcada )\b(manana|tomorrow)\b")
_TODAY = re.compile(
    r"\b(hoy|esta tarde|esta noche|today|tonight|this afternoon|this evening|end of (the )?day|"
    r"end a day|eod|fin del dia)\b"
)
_WEEKDAY = re.compile(r"\b(" + "|".join(_WEEKDAYS) + r")\b")


_DAY_AFTER_TOMORROW = re.compile(r"\b(pasado manana|the day after tomorrow)\b")


def resolve_due(text: str, language: str | None, today: date) -> date | None:
    """The due date ``text`` states first, or None; ``language`` is unused beyond a hint
    (both languages' words are recognised: meetings mix them).

    Example:
        >>> str(resolve_due("mañana les llamo y les cito la semana que viene", "es", date(2025, 5, 22)))
        '2025-05-23'
        >>> str(resolve_due("pasado mañana", "es", date(2025, 3, 4)))
        '2025-03-06'
    """
    folded = fold(text)
    found: list[tuple[int, date]] = []
    if m := _MONTH_END.search(folded):
        found.append(
            (m.start(), today.replace(day=calendar.monthrange(today.year, today.month)[1]))
        )
    if m := _NEXT_WEEK.search(folded):
        found.append((m.start(), today + timedelta(days=7)))
    if m := _DAY_AFTER_TOMORROW.search(folded):
        found.append((m.start(), today + timedelta(days=2)))
        folded = folded[: m.start()] + " " * (m.end() - m.start()) + folded[m.end() :]
    if m := _TOMORROW.search(folded):
        found.append((m.start(), today + timedelta(days=1)))
    if m := _WEEKDAY.search(folded):
        ahead = (_WEEKDAYS[m.group(1)] - today.weekday()) % 7 or 7
        found.append((m.start(), today + timedelta(days=ahead)))
    if m := _TODAY.search(folded):
        found.append((m.start(), today))
    return min(found)[1] if found else None
