"""Password hashing with Argon2id, at OWASP's 12 MiB, 3 passes, 1 lane.

argon2-cffi's default (RFC 9106's low-memory profile) takes 64 MiB a hash: a relay that
verifies logins one at a time still grew by that much under a login flood, four times what
one connection may cost it. OWASP's Password Storage Cheat Sheet lists this setting as
equal in strength to 46 MiB and 1 pass. Hashes made with other parameters carry them and
still verify.
"""

from __future__ import annotations

import secrets
import threading

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# Stateless: it only carries the cost parameters, the same for every call.
_HASHER = PasswordHasher(time_cost=3, memory_cost=12 * 1024, parallelism=1)

MIN_PASSWORD_LENGTH = 8


def hash_password(password: str) -> str:
    """An Argon2id hash with its own salt and parameters.

    Example:
        >>> verify_password(hash_password("correct horse"), "correct horse")
        True
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    return _HASHER.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Whether ``password`` matches; False for a wrong password or an unreadable hash."""
    try:
        return _HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


_DUMMY: list[str] = []
_DUMMY_LOCK = threading.Lock()


def dummy_hash() -> str:
    """A hash of a random password, with the same parameters as every user's: verifying
    against it costs what a real verification costs, so an unknown username does not
    answer faster than a known one."""
    # A lock, not functools.cache: the login gate warms this on a thread while the first
    # login may ask for it, and the cache lets both compute and answer different hashes.
    with _DUMMY_LOCK:
        if not _DUMMY:
            _DUMMY.append(_HASHER.hash(secrets.token_urlsafe(24)))
        return _DUMMY[0]
