"""Checks on what a request brings, each failing with a 400 that names the field.

A string field must be a string of at most ``max_chars`` characters that can be stored
anywhere: no NUL (PostgreSQL refuses it) and no lone surrogate (JSON allows ``"\\ud800"``,
but it is not UTF-8: yrs panics on it and SQL drivers refuse it).

Example:
    >>> text_field({"title": "Reunión"}, "title", max_chars=500)
    'Reunión'
    >>> text_field({"title": "x" * 501}, "title", max_chars=500)
    Traceback (most recent call last):
    ...
    relay.errors.ApiError: title: at most 500 characters
"""

from __future__ import annotations

from typing import Any, TypeGuard

from .errors import ApiError

TITLE_CHARS = 500  # the column's size
LANGUAGE_CHARS = 16
# Query parameters that are offsets or counts stay well inside a signed 64-bit integer.
MAX_INT_ARG = 2**31 - 1


def json_object(body: Any) -> dict[str, Any]:
    """The request's JSON body, which must be an object."""
    if not isinstance(body, dict):
        raise ApiError(400, "send a JSON object")
    return body


def storable(value: str, name: str) -> str:
    """``value`` unchanged, if it holds neither NUL nor a lone surrogate."""
    if "\x00" in value:
        raise ApiError(400, f"{name}: no NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ApiError(400, f"{name}: not valid Unicode text (a lone surrogate)") from None
    return value


def text_field(
    body: dict[str, Any], name: str, *, max_chars: int, default: str | None = None
) -> str | None:
    """The string at ``body[name]`` (``default`` if absent or null), checked."""
    value = body.get(name)
    if value is None:
        return default
    if not isinstance(value, str):
        raise ApiError(400, f"{name} must be a string")
    if len(value) > max_chars:
        raise ApiError(400, f"{name}: at most {max_chars} characters")
    return storable(value, name)


def int_arg(raw: str | None, name: str, *, default: int, low: int, high: int) -> int:
    """A query parameter that must be an integer in ``[low, high]`` (``default`` if absent)."""
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, f"{name} must be an integer") from None
    if not low <= value <= high:
        raise ApiError(400, f"{name} must be between {low} and {high}")
    return value


def integer(value: Any) -> int | None:
    """An integer, as JSON has it (``32`` or ``32.0``); None for anything else."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and not value.is_integer():
        return None
    return int(value)


def number(value: Any) -> TypeGuard[int | float]:
    """A JSON number (``true`` and ``false`` are not numbers here)."""
    return isinstance(value, int | float) and not isinstance(value, bool)
