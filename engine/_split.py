"""Split a Yjs update into several smaller ones, for a transport with a frame limit.

A long meeting with many revisions encodes to more than the relay's frame limit, so its
sync is sent as parts. A part is an ordinary update (v1): some structs of some clients,
cut at struct boundaries, and the delete set at the end (alone if it does not fit). A
string, JSON or ``any`` item larger than a part is cut in two as Yjs itself cuts items
(the right half's origin is the left half's last character), so only an item that is
one value (a binary, an embed, a subdocument) can make a part larger than asked.

Applied in order, the parts build what the update builds. Send them in order: out of
order, yrs does not always integrate what waited for a dependency (``tests/test_split.py``).

Example:
    >>> from pycrdt import Doc, Text
    >>> doc = Doc()
    >>> doc["t"] = text = Text()
    >>> text.insert(0, "palabra " * 100)
    >>> parts = split_update(doc.get_update(), max_bytes=300)
    >>> len(parts) > 1, all(len(part) <= 300 for part in parts)
    (True, True)
    >>> copy = Doc()
    >>> for part in parts:
    ...     copy.apply_update(part)
    >>> str(copy.get("t", type=Text)) == str(text)
    True
"""

from __future__ import annotations

from pycrdt import write_var_uint

from ._updates import _ANY, _JSON, _SKIP, _STRING, InvalidUpdateError, Struct, _Reader, walk
from ._updates import deleted_ranges as _deleted_ranges

# Room for a client's header in a part (its struct count, ID and first clock), and for
# a part's client count and empty delete set.
_CLIENT_OVERHEAD = 30
_PART_OVERHEAD = 12


def split_update(data: bytes, *, max_bytes: int) -> list[bytes]:
    """Updates of at most ``max_bytes`` each that together are ``data``; ``[data]``
    when it is that small already. Only a part holding a single indivisible item
    (see the module's docstring) may be larger.

    Raises:
        InvalidUpdateError: ``data`` is not a well-formed update (v1).
    """
    if len(data) <= max_bytes:
        return [data]
    if max_bytes < 4 * _CLIENT_OVERHEAD:
        raise ValueError(f"max_bytes={max_bytes} leaves no room for content")
    found = walk(data)
    parts = _Parts(max_bytes)
    budget = max_bytes - _CLIENT_OVERHEAD - _PART_OVERHEAD
    for run in found.clients:
        for struct in run:
            if struct.ref == _SKIP:
                parts.skip(struct)
            elif struct.end - struct.start > budget:
                for clock, piece, length in _cut(data, struct, budget):
                    parts.add(struct.client, clock, piece, length)
            else:
                parts.add(
                    struct.client, struct.clock, data[struct.start : struct.end], struct.length
                )
    ranges = _deleted_ranges(data, found.deletes)
    return parts.finish(_delete_sets(ranges, max_bytes))


class _Parts:
    """Parts being filled: each holds one run of structs per client, in clock order."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.done: list[list[tuple[int, int, list[bytes]]]] = []
        self.part: list[tuple[int, int, list[bytes]]] = []  # (client, first clock, structs)
        self.size = _PART_OVERHEAD
        self.next_clock: dict[int, int] = {}  # per client in this part: its next clock

    def add(self, client: int, clock: int, struct: bytes, length: int) -> None:
        same_run = self.next_clock.get(client) == clock
        cost = len(struct) + (0 if same_run else _CLIENT_OVERHEAD)
        # A client appears once in an update: a run that cannot go on starts a part.
        broken = client in self.next_clock and not same_run
        if self.part and (broken or self.size + cost > self.max_bytes):
            self.flush()
            same_run, cost = False, len(struct) + _CLIENT_OVERHEAD
        if same_run:
            self._run(client)[2].append(struct)
        else:
            self.part.append((client, clock, [struct]))
        self.size += cost
        self.next_clock[client] = clock + length

    def skip(self, struct: Struct) -> None:
        """A gap in a client's clocks: kept inside a run, and starts none."""
        encoded = bytes([_SKIP]) + write_var_uint(struct.length)
        if (
            self.next_clock.get(struct.client) == struct.clock
            and self.size + len(encoded) <= self.max_bytes
        ):
            self.add(struct.client, struct.clock, encoded, struct.length)

    def _run(self, client: int) -> tuple[int, int, list[bytes]]:
        return next(run for run in self.part if run[0] == client)

    def flush(self) -> None:
        if self.part:
            self.done.append(self.part)
        self.part, self.size, self.next_clock = [], _PART_OVERHEAD, {}

    def finish(self, delete_sets: list[bytes]) -> list[bytes]:
        """The encoded parts: the delete set goes into the last, or after it."""
        first, rest = delete_sets[0], delete_sets[1:]
        if self.part and self.size + len(first) > self.max_bytes:
            self.flush()
            rest = [first, *rest]
            first = b"\x00"
        self.flush()
        parts = [_encode(part, b"\x00") for part in self.done]
        if parts:
            parts[-1] = parts[-1][:-1] + first  # each ends with an empty delete set
        else:
            parts = [b"\x00" + first]
        return parts + [b"\x00" + ds for ds in rest]


def _encode(part: list[tuple[int, int, list[bytes]]], delete_set: bytes) -> bytes:
    out = [write_var_uint(len(part))]
    for client, clock, structs in part:
        out += [write_var_uint(len(structs)), write_var_uint(client), write_var_uint(clock)]
        out += structs
    out.append(delete_set)
    return b"".join(out)


def _delete_sets(ranges: list[tuple[int, int, int]], max_bytes: int) -> list[bytes]:
    """The delete set, encoded in one piece or, if larger than a part, in several."""
    pieces: list[bytes] = []
    groups: list[tuple[int, list[bytes]]] = []
    size = _PART_OVERHEAD
    for client, clock, length in ranges:
        entry = write_var_uint(clock) + write_var_uint(length)
        if groups and size + len(entry) + _CLIENT_OVERHEAD > max_bytes:
            pieces.append(_encode_deletes(groups))
            groups, size = [], _PART_OVERHEAD
        if not groups or groups[-1][0] != client:
            groups.append((client, []))
            size += _CLIENT_OVERHEAD
        groups[-1][1].append(entry)
        size += len(entry)
    pieces.append(_encode_deletes(groups))
    return pieces


def _encode_deletes(groups: list[tuple[int, list[bytes]]]) -> bytes:
    out = [write_var_uint(len(groups))]
    for client, entries in groups:
        out += [write_var_uint(client), write_var_uint(len(entries)), *entries]
    return b"".join(out)


def _cut(data: bytes, struct: Struct, budget: int) -> list[tuple[int, bytes, int]]:
    """A large item as several, each ``(clock, encoded item, length)``; an item that
    is a single value comes back whole."""
    values = _values(data, struct, step=max(1, min(4096, budget // 8)))
    if values is None:
        return [(struct.clock, data[struct.start : struct.end], struct.length)]
    info = data[struct.start]
    head = data[struct.start : struct.content]
    pieces: list[tuple[int, bytes, int]] = []
    chunk: list[bytes] = []
    clock, chunk_len, chunk_bytes = struct.clock, 0, 0
    for value, ticks in values:
        if chunk and chunk_bytes + len(value) + len(head) + 12 > budget:
            pieces.append((clock, _item(head, struct.ref, chunk), chunk_len))
            # What follows continues the item: its origin is the piece just made.
            origin = write_var_uint(struct.client) + write_var_uint(clock + chunk_len - 1)
            head = bytes([(info & 0x7F) | 0x80]) + origin + _right_origin(data, struct)
            clock += chunk_len
            chunk, chunk_len, chunk_bytes = [], 0, 0
        chunk.append(value)
        chunk_len += ticks
        chunk_bytes += len(value)
    pieces.append((clock, _item(head, struct.ref, chunk), chunk_len))
    return pieces


def _item(head: bytes, ref: int, values: list[bytes]) -> bytes:
    if ref == _STRING:
        text = b"".join(values)
        return head + write_var_uint(len(text)) + text
    return head + write_var_uint(len(values)) + b"".join(values)


def _right_origin(data: bytes, struct: Struct) -> bytes:
    info = data[struct.start]
    if not info & 0x40:
        return b""
    r = _Reader(data)
    r.i = struct.start + 1
    if info & 0x80:
        r.uint()
        r.uint()
    start = r.i
    r.uint()
    r.uint()
    return data[start : r.i]


def _values(data: bytes, struct: Struct, step: int) -> list[tuple[bytes, int]] | None:
    """The content of a string, JSON or ``any`` item as its values, each with the clock
    ticks it takes (a string's characters in UTF-16 units); None for any other item."""
    r = _Reader(data)
    r.i = struct.content
    if struct.ref == _STRING:
        length = r.uint()
        text = data[r.i : r.i + length].decode()
        # In chunks of ``step`` characters: one is never cut in two.
        return [
            (piece.encode(), len(piece.encode("utf-16-le")) // 2)
            for piece in (text[i : i + step] for i in range(0, len(text), step))
        ]
    if struct.ref not in (_JSON, _ANY):
        return None
    values = []
    for _ in range(r.uint()):
        start = r.i
        if struct.ref == _JSON:
            r.string()
        else:
            r.any()
        values.append((data[start : r.i], 1))
    if r.i != struct.end:
        raise InvalidUpdateError("an item's content does not end where it should")
    return values
