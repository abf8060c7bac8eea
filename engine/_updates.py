"""A cheap structural check of Yjs updates before yrs sees them.

yrs trusts the counts in an update: a header claiming 4 billion clients in an 8-byte
frame keeps it busy for about half a second while it holds the GIL, which stalls every
room of the relay (measured: ``bench/relay.py --flood``). This walks the update v1 (and
state vector) encoding in pure Python, checking that every count and length fits in the
bytes that are left, that every content type is one Yjs defines and that nothing trails.
It never builds anything, so a bad update costs microseconds to refuse.

Example:
    >>> from pycrdt import Doc, Text
    >>> doc = Doc()
    >>> doc["t"] = Text("hola")
    >>> check_update(doc.get_update())
    >>> check_update(bytes.fromhex("ffffff7c01070182"))
    Traceback (most recent call last):
    ...
    engine._updates.InvalidUpdateError: 262143999 clients cannot fit in 4 bytes
"""

from __future__ import annotations

from typing import NamedTuple

# JavaScript clients cannot represent larger integers exactly.
MAX_SAFE_INTEGER = 2**53 - 1
MAX_ANY_DEPTH = 64
# Item content references (the low 5 bits of an item's info byte) and type references.
_GC, _SKIP = 0, 10
_DELETED, _JSON, _BINARY, _STRING, _EMBED, _FORMAT, _TYPE, _ANY, _DOC = range(1, 10)
_XML_ELEMENT, _XML_HOOK, _LAST_TYPE_REF = 3, 5, 6


class InvalidUpdateError(ValueError):
    """Not a well-formed Yjs update (or state vector)."""


class _Reader:
    __slots__ = ("data", "i")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.i = 0

    def left(self) -> int:
        return len(self.data) - self.i

    def byte(self) -> int:
        if self.i >= len(self.data):
            raise InvalidUpdateError("truncated")
        value = self.data[self.i]
        self.i += 1
        return value

    def uint(self) -> int:
        value, shift = 0, 0
        while True:
            byte = self.byte()
            value |= (byte & 0x7F) << shift
            if byte < 0x80:
                if value > MAX_SAFE_INTEGER:
                    raise InvalidUpdateError(f"integer {value} is too large")
                return value
            shift += 7
            if shift > 56:
                raise InvalidUpdateError("integer too long")

    def count(self, what: str) -> int:
        """A number of items that each take at least one byte."""
        n = self.uint()
        if n > self.left():
            raise InvalidUpdateError(f"{n} {what} cannot fit in {self.left()} bytes")
        return n

    def skip(self, n: int) -> None:
        if n > self.left():
            raise InvalidUpdateError(f"a length of {n} runs past the end")
        self.i += n

    def buf(self) -> None:
        self.skip(self.uint())

    def string(self) -> int:
        """Skip a string; returns its length in UTF-16 code units (Yjs's clock units)."""
        length = self.uint()
        start = self.i
        self.skip(length)
        try:
            text = self.data[start : self.i].decode()
        except UnicodeDecodeError:
            raise InvalidUpdateError("a string is not UTF-8") from None
        return len(text) if text.isascii() else len(text.encode("utf-16-le")) // 2

    def var_int(self) -> None:
        byte = self.byte()
        shift = 6
        while byte & 0x80:
            byte = self.byte()
            shift += 7
            if shift > 62:
                raise InvalidUpdateError("integer too long")

    def any(self, depth: int = 0) -> None:
        if depth > MAX_ANY_DEPTH:
            raise InvalidUpdateError("value nested too deep")
        kind = self.byte()
        if kind in (127, 126, 121, 120):  # undefined, null, false, true
            return
        if kind == 125:
            self.var_int()
        elif kind == 124:
            self.skip(4)
        elif kind in (123, 122):  # float64, bigint64
            self.skip(8)
        elif kind == 119:
            self.string()
        elif kind == 118:
            for _ in range(self.count("object entries")):
                self.string()
                self.any(depth + 1)
        elif kind == 117:
            for _ in range(self.count("array items")):
                self.any(depth + 1)
        elif kind == 116:
            self.buf()
        else:
            raise InvalidUpdateError(f"unknown value type {kind}")


def _content(r: _Reader, ref: int) -> int:
    """Skip an item's content; returns how many clock ticks it takes."""
    if ref == _DELETED:
        return r.uint()
    if ref == _JSON:
        n = r.count("JSON values")
        for _ in range(n):
            r.string()
        return n
    if ref == _BINARY:
        r.buf()
    elif ref == _STRING:
        return r.string()
    elif ref == _EMBED:
        r.string()
    elif ref == _FORMAT:
        r.string()
        r.string()
    elif ref == _TYPE:
        type_ref = r.uint()
        if type_ref > _LAST_TYPE_REF:
            raise InvalidUpdateError(f"unknown shared type {type_ref}")
        if type_ref in (_XML_ELEMENT, _XML_HOOK):
            r.string()
    elif ref == _ANY:
        n = r.count("values")
        for _ in range(n):
            r.any()
        return n
    elif ref == _DOC:
        r.string()
        r.any()
    else:
        raise InvalidUpdateError(f"unknown content type {ref}")
    return 1


def _id(r: _Reader) -> None:
    r.uint()  # client
    r.uint()  # clock


class Struct(NamedTuple):
    """Where one struct of an update lies: ``data[start:end]``, its content from
    ``content`` on (``content == end`` for a GC or skip), and the clocks it takes."""

    client: int
    clock: int
    length: int
    ref: int
    start: int
    content: int
    end: int


class Walk(NamedTuple):
    """An update's structs per client, in order, and where its delete set starts."""

    clients: list[list[Struct]]
    deletes: int


def _struct(r: _Reader) -> tuple[int, int, int]:
    """Read one struct: its ref, where its content starts and the clocks it takes."""
    info = r.byte()
    ref = info & 0x1F
    if ref in (_GC, _SKIP):
        length = r.uint()
        return ref, r.i, length
    if info & 0x80:
        _id(r)  # origin
    if info & 0x40:
        _id(r)  # right origin
    if not info & 0xC0:  # no origins: the parent is written out
        if r.uint() == 1:
            r.string()  # a root type's name
        else:
            _id(r)
        if info & 0x20:
            r.string()  # the key in a map
    content = r.i
    return ref, content, _content(r, ref)


def walk(data: bytes) -> Walk:
    """Every struct of an update (v1), checking its structure on the way.

    Raises:
        InvalidUpdateError: not a well-formed update (v1).
    """
    r = _Reader(data)
    clients = []
    for _ in range(r.count("clients")):
        structs = r.count("structs")
        client = r.uint()
        clock = r.uint()
        run = []
        for _ in range(structs):
            start = r.i
            ref, content, length = _struct(r)
            run.append(Struct(client, clock, length, ref, start, content, r.i))
            clock += length
        clients.append(run)
    return Walk(clients, r.i)


def deleted_ranges(data: bytes, start: int) -> list[tuple[int, int, int]]:
    """The delete set of an update, from ``start`` (:attr:`Walk.deletes`): per range,
    its client, clock and length.

    Raises:
        InvalidUpdateError: not a well-formed delete set, or bytes after it.
    """
    r = _Reader(data)
    r.i = start
    ranges = []
    for _ in range(r.count("deleting clients")):
        client = r.uint()
        for _ in range(r.count("deleted ranges")):
            clock, length = r.uint(), r.uint()
            if clock + length > MAX_SAFE_INTEGER:
                raise InvalidUpdateError("deleted range too large")
            ranges.append((client, clock, length))
    if r.left():
        raise InvalidUpdateError(f"{r.left()} bytes after the end of the update")
    return ranges


def check_update(data: bytes) -> None:
    """Raise :class:`InvalidUpdateError` unless ``data`` is a well-formed update (v1)."""
    clock_ends(data)


def clock_ends(data: bytes) -> dict[int, int]:
    """Per client, the clock just past the last item ``data`` holds or deletes: a doc
    whose state vector is below it for some client keeps part of the update waiting for
    a dependency (yrs neither applies nor reports it).

    Example:
        >>> from pycrdt import Doc, Text
        >>> doc = Doc(client_id=7)
        >>> doc["t"] = text = Text("hola")
        >>> state = doc.get_state(); del text[0:2]
        >>> clock_ends(doc.get_update()), clock_ends(doc.get_update(state))
        ({7: 4}, {7: 2})

    Raises:
        InvalidUpdateError: not a well-formed update (v1).
    """
    # On the ingress path for every update: count, build nothing per struct.
    ends: dict[int, int] = {}
    r = _Reader(data)
    for _ in range(r.count("clients")):
        structs = r.count("structs")
        client = r.uint()
        clock = r.uint()
        end = 0
        for _ in range(structs):
            ref, _, length = _struct(r)
            clock += length
            if ref != _SKIP:  # a skip is a gap, not content
                end = clock
        if end > ends.get(client, 0):
            ends[client] = end
    for client, clock, length in deleted_ranges(data, r.i):
        ends[client] = max(ends.get(client, 0), clock + length)
    return ends


def check_state_vector(data: bytes) -> None:
    """Raise :class:`InvalidUpdateError` unless ``data`` is a well-formed state vector."""
    r = _Reader(data)
    for _ in range(r.count("clients")):
        r.uint()
        r.uint()
    if r.left():
        raise InvalidUpdateError(f"{r.left()} bytes after the end of the state vector")
