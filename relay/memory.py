"""Giving large blocks back to the system as soon as they are freed.

glibc serves a large ``malloc`` with its own ``mmap`` and unmaps it on ``free``, but the
first such free raises that threshold to the block's size, after which blocks that large
come from an arena that keeps the memory. Each thread has its own arena: a login flood
(one 12 MiB Argon2 verification at a time, on whichever worker thread is free) left
12 MiB in every thread that had run one, +25 MiB of relay RSS in ``bench/relay.py
--attacks`` 9 and +48 MiB after four at once. A fixed threshold keeps blocks of 1 MiB and
more (hashes, 2 MiB frames, encoded docs) out of the arenas.

Example:
    >>> release_large_blocks() in (True, False)
    True
"""

from __future__ import annotations

import ctypes
import ctypes.util

M_MMAP_THRESHOLD = -3  # glibc's malloc.h
LARGE_BLOCK_BYTES = 2**20


def release_large_blocks(threshold: int = LARGE_BLOCK_BYTES) -> bool:
    """Fix glibc's mmap threshold for this process; False where there is no glibc."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError):  # musl and macOS have no mallopt
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, threshold))
