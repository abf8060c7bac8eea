"""Who may do what: password hashes, org-scoped JWT access and refresh tokens, and the
limits on logins."""

from ._login import AuthError as AuthError
from ._login import LoginGate as LoginGate
from ._login import read_object as read_object
from ._login_limits import LoginLimits as LoginLimits
from ._passwords import MIN_PASSWORD_LENGTH as MIN_PASSWORD_LENGTH
from ._passwords import hash_password as hash_password
from ._passwords import verify_password as verify_password
from ._tokens import Claims as Claims
from ._tokens import TokenConfig as TokenConfig
from ._tokens import TokenError as TokenError
from ._tokens import issue_pair as issue_pair
from ._tokens import resolve_secret as resolve_secret
from ._tokens import verify as verify

__all__ = [
    "MIN_PASSWORD_LENGTH",
    "AuthError",
    "Claims",
    "LoginGate",
    "LoginLimits",
    "TokenConfig",
    "TokenError",
    "hash_password",
    "issue_pair",
    "read_object",
    "resolve_secret",
    "verify",
    "verify_password",
]
