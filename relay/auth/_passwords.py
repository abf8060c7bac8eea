"""Password hashing with Argon2id (argon2-cffi's recommended parameters)."""

from __future__ import annotations

import functools
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# Stateless: it only carries the cost parameters, the same for every call.
_HASHER = PasswordHasher()

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


@functools.cache
def dummy_hash() -> str:
    """A hash of a random password, with the same parameters as every user's: verifying
    against it costs what a real verification costs, so an unknown username does not
    answer faster than a known one."""
    return _HASHER.hash(secrets.token_urlsafe(24))
