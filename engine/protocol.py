"""The y-websocket wire protocol, parsed strictly before anything reaches yrs.

A frame is ``[message type][payload]``: SYNC (0) carries step 1 (a state vector), step 2
or an update, each a length-prefixed byte string; AWARENESS (1) carries presence: each
client's ID, clock and JSON state. Minuta adds ACK (100, which stock y-websocket clients
ignore): the relay's state vector once updates from that client are committed, then how
many of its update frames that covers; and NOTICE (101): a UTF-8 line for the client.

Checking lengths here is cheap; a frame whose lengths do not add up is refused before yrs
spends time on it (yrs can take hundreds of ms to reject a crafted update).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum

from pycrdt import write_var_uint

# Frames are capped at 2 MiB: Hypercorn and Quart hold a few copies of each frame, and a
# flood of 4 MiB frames cost one connection ~26 MiB of RSS (16 is its budget). Minuta's
# clients send nothing larger than a part.
MAX_FRAME_BYTES = 2 * 2**20
# Larger syncs go as several updates of at most this size (engine.split_update).
PART_BYTES = 2**20 - 16  # a frame of one part fits in 1 MiB, websockets' default limit
# Clients in one awareness frame: a browser announces itself, and echoes the changes it
# hears about (a handful); more is no client of ours.
MAX_AWARENESS_ENTRIES = 64
# The JSON state of a client that left (y-protocols' removeAwarenessStates).
GONE = b"null"


class Kind(IntEnum):
    SYNC_STEP1 = 0
    SYNC_STEP2 = 1
    UPDATE = 2
    AWARENESS = 10  # not on the wire: awareness frames are type 1 with no sub-type


# Frame types
SYNC = 0
AWARENESS = 1
ACK = 100
NOTICE = 101


class ProtocolError(ValueError):
    """A frame that breaks the protocol; the connection that sent it is closed."""


@dataclass(frozen=True)
class Message:
    kind: Kind
    payload: bytes  # state vector, update, or awareness data


def _read_var_uint(data: bytes, i: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        if i >= len(data):
            raise ProtocolError("truncated length")
        byte = data[i]
        i += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, i
        shift += 7
        if shift > 35:
            raise ProtocolError("length too large")


@dataclass(frozen=True)
class Presence:
    """One client's entry in an awareness frame."""

    client_id: int
    clock: int
    state: bytes  # its JSON state, as sent (UTF-8); GONE: it left


def _read_payload(data: bytes, i: int) -> bytes:
    length, i = _read_var_uint(data, i)
    if i + length != len(data):
        raise ProtocolError(f"length {length} does not match the frame's {len(data) - i} bytes")
    return data[i:]


def parse(frame: bytes, *, max_bytes: int = MAX_FRAME_BYTES) -> Message:
    """One frame from a client.

    Example:
        >>> parse(bytes([0, 2, 2, 0, 0]))
        Message(kind=<Kind.UPDATE: 2>, payload=b'\\x00\\x00')

    Raises:
        ProtocolError: too large, truncated, of an unknown type, or with trailing bytes.
    """
    if not isinstance(frame, bytes | bytearray):
        raise ProtocolError("frames must be binary")
    frame = bytes(frame)
    if len(frame) > max_bytes:
        raise ProtocolError(f"frame of {len(frame)} bytes exceeds the {max_bytes}-byte limit")
    if len(frame) < 2:
        raise ProtocolError("frame too short")
    if frame[0] == SYNC:
        sub = frame[1]
        if sub not in (Kind.SYNC_STEP1, Kind.SYNC_STEP2, Kind.UPDATE):
            raise ProtocolError(f"unknown sync message {sub}")
        return Message(Kind(sub), _read_payload(frame, 2))
    if frame[0] == AWARENESS:
        return Message(Kind.AWARENESS, _read_payload(frame, 1))
    raise ProtocolError(f"unknown message type {frame[0]}")


def parse_awareness(payload: bytes, *, max_state_bytes: int | None = None) -> list[Presence]:
    """The entries of an awareness payload: a count, then per client its ID, its clock
    and its JSON state as a length-prefixed string. States longer than ``max_state_bytes``
    are not parsed (the caller refuses them: parsing a MiB of JSON costs more than that).

    Example:
        >>> parse_awareness(encode_awareness([Presence(7, 1, b'{"user":"ana"}')]))
        [Presence(client_id=7, clock=1, state=b'{"user":"ana"}')]

    Raises:
        ProtocolError: truncated, trailing bytes, too many entries, or a state that is
            not JSON.
    """
    count, i = _read_var_uint(payload, 0)
    if count > MAX_AWARENESS_ENTRIES:
        raise ProtocolError(f"{count} awareness entries (at most {MAX_AWARENESS_ENTRIES})")
    entries = []
    for _ in range(count):
        client_id, i = _read_var_uint(payload, i)
        clock, i = _read_var_uint(payload, i)
        length, i = _read_var_uint(payload, i)
        if i + length > len(payload):
            raise ProtocolError("truncated awareness state")
        state = payload[i : i + length]
        i += length
        if max_state_bytes is not None and length > max_state_bytes:
            entries.append(Presence(client_id, clock, state))
            continue
        try:
            # Browsers JSON.parse it: no NaN or Infinity, which Python would let through.
            json.loads(state.decode(), parse_constant=_no_constant)
        except (ValueError, RecursionError):  # bad UTF-8 or JSON; absurdly deep nesting
            raise ProtocolError("an awareness state that is not JSON") from None
        entries.append(Presence(client_id, clock, state))
    if i != len(payload):
        raise ProtocolError("trailing bytes after the awareness entries")
    return entries


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def encode_awareness(entries: Iterable[Presence]) -> bytes:
    """An awareness payload (wrap it with :func:`awareness` to send it)."""
    entries = list(entries)
    parts = [write_var_uint(len(entries))]
    for entry in entries:
        parts += [
            write_var_uint(entry.client_id),
            write_var_uint(entry.clock),
            write_var_uint(len(entry.state)),
            entry.state,
        ]
    return b"".join(parts)


def parse_payload(frame: bytes) -> bytes:
    """The payload of a frame with a one-byte type (ACK, NOTICE, AWARENESS).

    Example:
        >>> parse_payload(notice("hola"))
        b'hola'
    """
    return _read_payload(frame, 1)


def _frame(prefix: bytes, payload: bytes) -> bytes:
    return prefix + write_var_uint(len(payload)) + payload


def sync_step1(state: bytes) -> bytes:
    return _frame(bytes([SYNC, Kind.SYNC_STEP1]), state)


def sync_step2(update: bytes) -> bytes:
    return _frame(bytes([SYNC, Kind.SYNC_STEP2]), update)


def update(data: bytes) -> bytes:
    return _frame(bytes([SYNC, Kind.UPDATE]), data)


def awareness(data: bytes) -> bytes:
    return _frame(bytes([AWARENESS]), data)


def ack(state: bytes, frames: int = 1) -> bytes:
    """Everything in ``state`` (a state vector) is committed on the relay, and so are the
    client's next ``frames`` update frames since the last ACK (a browser reads only the
    state, and ignores what follows it)."""
    return _frame(bytes([ACK]), state) + write_var_uint(frames)


def parse_ack(frame: bytes) -> tuple[bytes, int]:
    """The state vector of an ACK, and how many update frames it covers.

    Example:
        >>> parse_ack(ack(b"\\x01\\x02", frames=3))
        (b'\\x01\\x02', 3)
    """
    length, i = _read_var_uint(frame, 1)
    if i + length > len(frame):
        raise ProtocolError("truncated ACK")
    state, i = frame[i : i + length], i + length
    frames, i = _read_var_uint(frame, i) if i < len(frame) else (1, i)  # relays before 2026-12
    if i != len(frame):
        raise ProtocolError("trailing bytes after the ACK")
    return state, frames


def notice(text: str) -> bytes:
    return _frame(bytes([NOTICE]), text.encode())
