"""The outbox of one peer (:mod:`relay.fanout`): a sync answer in parts, and the bounds.

The parts of a large doc's sync are the room's cached encoding: queued for a peer, they
must not count as its falling behind (a newcomer on a doc of more than ``behind_bytes``
would be dropped at every connect), and a peer that does not read may have one answer
queued at a time, not one per sync step 1 it sends.
"""

from __future__ import annotations

import anyio
from _relay import wait_until

from relay.fanout import Outbox, SendBudget
from relay.limits import ConnectionLimits

LIMITS = ConnectionLimits(behind_bytes=1000, behind_frames=10)


class Peer:
    """A socket whose reads the test lets through one frame at a time."""

    def __init__(self) -> None:
        self.got: list[bytes] = []
        self.send_more, self.allowed = anyio.create_memory_object_stream[None](100)

    async def send(self, frame: bytes) -> None:
        await self.allowed.receive()
        self.got.append(frame)

    async def close(self, code: int, reason: str) -> None:
        self.got.append(f"close {code}".encode())

    def done(self) -> None:
        self.send_more.close()
        self.allowed.close()


def test_the_parts_of_a_sync_answer_do_not_count_as_falling_behind() -> None:
    peer = Peer()
    parts = [bytes([n]) * 800 for n in range(5)]  # 4,000 bytes: four times behind_bytes

    async def main() -> Outbox:
        box = Outbox(peer.send, peer.close, LIMITS, SendBudget(10_000))
        async with anyio.create_task_group() as tg:
            tg.start_soon(box.run)
            await box.send_parts(parts)
            await box.send(b"an update after the sync")  # in order, after the parts
            for _ in range(6):
                peer.send_more.send_nowait(None)
            await box.close(1000, "bye")
            peer.send_more.send_nowait(None)
        return box

    assert not anyio.run(main).behind
    peer.done()
    assert peer.got == [*parts, b"an update after the sync", b"close 1000"]


def test_a_peer_that_does_not_read_has_one_sync_answer_queued_at_a_time() -> None:
    peer = Peer()
    answered: list[int] = []

    async def main() -> None:
        box = Outbox(peer.send, peer.close, LIMITS, SendBudget(10_000))

        async def ask(n: int) -> None:
            await box.send_parts([b"part" * 100, b"last" * 100])
            answered.append(n)

        async with anyio.create_task_group() as tg:
            tg.start_soon(box.run)
            await ask(1)
            tg.start_soon(ask, 2)
            await anyio.sleep(0.05)
            assert answered == [1]  # the second waits: the first is not written yet
            peer.send_more.send_nowait(None)
            peer.send_more.send_nowait(None)
            await wait_until(lambda: answered == [1, 2])
            tg.cancel_scope.cancel()

    anyio.run(main)
    peer.done()
    assert peer.got == [b"part" * 100, b"last" * 100]
