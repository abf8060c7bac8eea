"""Yjs state vectors as plain maps (what each client's clock has reached)."""

from __future__ import annotations


def decode_state(state: bytes) -> dict[int, int]:
    """A Yjs state vector as {client id: clock}.

    Example:
        >>> decode_state(bytes([1, 5, 3]))
        {5: 3}
    """
    values: list[int] = []
    value = shift = 0
    for byte in state:
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            values.append(value)
            value = shift = 0
    count, pairs = (values[0], values[1:]) if values else (0, [])
    return {pairs[2 * i]: pairs[2 * i + 1] for i in range(min(count, len(pairs) // 2))}


def covers(state: dict[int, int], other: dict[int, int]) -> bool:
    """Whether ``state`` has seen everything ``other`` has.

    Example:
        >>> covers({1: 5, 2: 1}, {1: 4}), covers({1: 5}, {1: 4, 2: 1})
        (True, False)
    """
    return all(state.get(client, 0) >= clock for client, clock in other.items())
