"""The relay's authentication primitives (relay.auth): Argon2id passwords and JWT pairs.

Every time check runs against an explicit ``now=`` (or against tokens issued in 2024,
long expired by any real clock), so nothing here depends on how fast the tests run.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest

from relay.auth import (
    MIN_PASSWORD_LENGTH,
    Claims,
    TokenConfig,
    TokenError,
    hash_password,
    issue_pair,
    resolve_secret,
    verify,
    verify_password,
)

# 64 bytes: long enough for HS512 too (PyJWT warns about shorter HMAC keys).
SECRET = "minuta-test-secret-" + "0123456789" * 4 + "abcde"
OTHER_SECRET = "another-secret-entirely-" + "9876543210" * 4 + "x"
CONFIG = TokenConfig(SECRET)
T0 = datetime(2024, 3, 1, 9, 30, tzinfo=UTC)


def pair_at(now: datetime = T0, config: TokenConfig = CONFIG) -> dict[str, Any]:
    return issue_pair(config, username="ana", org_id="acme", role="editor", now=now)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def claims_payload(now: datetime = T0, **changes: Any) -> dict[str, Any]:
    """A payload like the relay's own access token, with ``changes`` applied
    (a value of None removes the claim)."""
    payload: dict[str, Any] = {
        "iss": "minuta-relay",
        "sub": "ana",
        "org": "acme",
        "role": "editor",
        "typ": "access",
        "iat": now,
        "exp": now + timedelta(minutes=15),
        "jti": "0" * 32,
    }
    payload.update(changes)
    return {k: v for k, v in payload.items() if v is not None}


def assert_refused(token: str | None, reason: str, kind: str = "access", **kw: Any) -> TokenError:
    with pytest.raises(TokenError) as info:
        verify(CONFIG, token, kind, **kw)  # type: ignore[arg-type]
    assert info.value.reason == reason, str(info.value)
    assert str(info.value)
    return info.value


# ----------------------------------------------------------------------------- passwords


def test_hash_and_verify_round_trip() -> None:
    password_hash = hash_password("correct horse battery")
    assert password_hash.startswith("$argon2id$")
    assert "correct horse" not in password_hash
    assert verify_password(password_hash, "correct horse battery") is True


def test_hashes_are_salted() -> None:
    first, second = hash_password("correct horse"), hash_password("correct horse")
    assert first != second
    assert verify_password(first, "correct horse") and verify_password(second, "correct horse")


def test_unicode_password_round_trip() -> None:
    password_hash = hash_password("contraseña-ñandú-🔑")
    assert verify_password(password_hash, "contraseña-ñandú-🔑") is True
    assert verify_password(password_hash, "contrasena-nandu-🔑") is False


@pytest.mark.parametrize(
    "attempt", ["correct horse batter", "Correct horse battery", "", "correct horse battery "]
)
def test_wrong_password_is_false(attempt: str) -> None:
    assert verify_password(hash_password("correct horse battery"), attempt) is False


@pytest.mark.parametrize(
    "garbage",
    [
        "",
        "not a hash",
        "\x00",
        "$argon2id$v=19$m=65536,t=3,p=4$garbage",
        "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaA",
        "$2b$12$abcdefghijklmnopqrstuu5Ff1R0oFk1r2l5y5g9p2H9QqP2Y5c1i",
    ],
    ids=["empty", "text", "nul", "truncated", "short-hash", "bcrypt"],
)
def test_garbage_hash_is_false(garbage: str) -> None:
    assert verify_password(garbage, "correct horse battery") is False


def test_truncated_real_hash_is_false() -> None:
    assert verify_password(hash_password("correct horse")[:-4], "correct horse") is False


def test_short_password_is_refused() -> None:
    assert MIN_PASSWORD_LENGTH == 8
    with pytest.raises(ValueError, match="at least 8 characters"):
        hash_password("1234567")
    with pytest.raises(ValueError):
        hash_password("")
    assert verify_password(hash_password("12345678"), "12345678")


# ----------------------------------------------------------------------------- secrets


@pytest.mark.parametrize("secret", [None, ""])
def test_missing_secret_is_refused_outside_dev(secret: str | None) -> None:
    with pytest.raises(ValueError, match="JWT_SECRET") as info:
        resolve_secret(secret, dev=False)
    assert "not set" in str(info.value)


def test_short_secret_is_refused_outside_dev() -> None:
    with pytest.raises(ValueError, match="JWT_SECRET") as info:
        resolve_secret("s" * 31, dev=False)
    assert "too short" in str(info.value)
    assert "32" in str(info.value)


@pytest.mark.parametrize("secret", [None, "", "short"])
def test_dev_gets_a_random_secret(secret: str | None) -> None:
    first, second = resolve_secret(secret, dev=True), resolve_secret(secret, dev=True)
    assert len(first) >= 32 and len(second) >= 32
    assert first != second
    assert not secret or secret not in first


@pytest.mark.parametrize("dev", [False, True])
def test_good_secret_is_returned_as_is(dev: bool) -> None:
    assert resolve_secret(SECRET, dev=dev) == SECRET
    assert resolve_secret("s" * 32, dev=dev) == "s" * 32


def test_a_dev_secret_signs_tokens_without_warnings() -> None:
    """PyJWT warns (an error under -W error) about HMAC keys under 32 bytes."""
    config = TokenConfig(resolve_secret(None, dev=True))
    pair = issue_pair(config, username="ana", org_id="acme", role="admin", now=T0)
    assert verify(config, pair["access_token"], now=T0).role == "admin"


# ----------------------------------------------------------------------------- issuing


def test_issue_pair_shape() -> None:
    pair = pair_at()
    assert set(pair) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert pair["token_type"] == "Bearer"
    assert pair["expires_in"] == 900
    assert isinstance(pair["expires_in"], int)
    assert pair["access_token"] != pair["refresh_token"]
    assert all(
        isinstance(pair[k], str) and pair[k].count(".") == 2
        for k in ("access_token", "refresh_token")
    )


def test_expires_in_follows_the_config() -> None:
    config = TokenConfig(SECRET, access_ttl=timedelta(minutes=5), refresh_ttl=timedelta(hours=1))
    assert pair_at(config=config)["expires_in"] == 300


def test_each_token_is_unique() -> None:
    first, second = pair_at(), pair_at()
    assert first["access_token"] != second["access_token"]
    assert first["refresh_token"] != second["refresh_token"]


def test_access_claims() -> None:
    claims = verify(CONFIG, pair_at()["access_token"], now=T0 + timedelta(minutes=1))
    assert claims == Claims(
        username="ana",
        org_id="acme",
        role="editor",
        kind="access",
        expires_at=T0 + timedelta(minutes=15),
    )


def test_refresh_claims() -> None:
    claims = verify(CONFIG, pair_at()["refresh_token"], "refresh", now=T0 + timedelta(hours=1))
    assert claims == Claims("ana", "acme", "editor", "refresh", T0 + timedelta(hours=24))


def test_default_kind_is_access() -> None:
    pair = pair_at()
    assert verify(CONFIG, pair["access_token"], now=T0).kind == "access"
    assert_refused(pair["refresh_token"], "invalid", now=T0)


def test_claims_in_the_token_payload() -> None:
    payload = jwt.decode(
        pair_at()["access_token"], SECRET, algorithms=["HS256"], options={"verify_exp": False}
    )
    assert payload["iss"] == "minuta-relay"
    assert (payload["sub"], payload["org"], payload["role"], payload["typ"]) == (
        "ana",
        "acme",
        "editor",
        "access",
    )
    assert payload["iat"] == int(T0.timestamp())
    assert payload["exp"] == int((T0 + timedelta(minutes=15)).timestamp())
    assert jwt.get_unverified_header(pair_at()["access_token"])["alg"] == "HS256"


# ----------------------------------------------------------------------------- kinds


def test_access_token_is_refused_as_refresh() -> None:
    error = assert_refused(pair_at()["access_token"], "invalid", "refresh", now=T0)
    assert "access token" in str(error)


def test_refresh_token_is_refused_as_access() -> None:
    error = assert_refused(pair_at()["refresh_token"], "invalid", "access", now=T0)
    assert "refresh token" in str(error)


# ----------------------------------------------------------------------------- expiry


def test_access_token_expires_after_15_minutes() -> None:
    token = pair_at()["access_token"]
    assert verify(CONFIG, token, now=T0 + timedelta(minutes=15) - timedelta(seconds=1))
    assert_refused(token, "expired", now=T0 + timedelta(minutes=15, seconds=1))
    assert_refused(token, "expired", now=T0 + timedelta(minutes=15))


def test_refresh_token_lasts_24_hours() -> None:
    token = pair_at()["refresh_token"]
    assert verify(CONFIG, token, "refresh", now=T0 + timedelta(hours=23)).username == "ana"
    assert_refused(token, "expired", "refresh", now=T0 + timedelta(hours=24, seconds=1))


def test_refresh_outlives_access() -> None:
    pair = pair_at()
    later = T0 + timedelta(hours=1)
    assert_refused(pair["access_token"], "expired", now=later)
    assert verify(CONFIG, pair["refresh_token"], "refresh", now=later).kind == "refresh"


def test_expiry_against_the_real_clock() -> None:
    """Without ``now=``, PyJWT checks ``exp`` itself: tokens from 2024 are long expired,
    and tokens issued just now are not."""
    old = pair_at()
    assert_refused(old["access_token"], "expired")
    assert_refused(old["refresh_token"], "expired", "refresh")
    fresh = issue_pair(CONFIG, username="ana", org_id="acme", role="viewer")
    assert verify(CONFIG, fresh["access_token"]).role == "viewer"
    assert verify(CONFIG, fresh["refresh_token"], "refresh").role == "viewer"


def test_verify_now_is_the_clock_for_every_time_claim() -> None:
    future = datetime(2100, 1, 1, tzinfo=UTC)
    token = pair_at(now=future)["access_token"]
    assert verify(CONFIG, token, now=future + timedelta(minutes=1)).username == "ana"


# ----------------------------------------------------------------------------- bad tokens


@pytest.mark.parametrize("token", [None, ""])
def test_missing_token(token: str | None) -> None:
    assert_refused(token, "missing")
    assert_refused(token, "missing", "refresh")


def test_tampered_signature() -> None:
    header, payload, signature = pair_at()["access_token"].split(".")
    # The first character: the last one carries padding bits that may not change the bytes.
    flipped = ("B" if signature[0] == "A" else "A") + signature[1:]
    assert_refused(f"{header}.{payload}.{flipped}", "invalid", now=T0)
    assert_refused(f"{header}.{payload}.", "invalid", now=T0)


def test_tampered_payload() -> None:
    header, payload, signature = pair_at()["access_token"].split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["role"] = "admin"
    forged = b64(json.dumps(claims).encode())
    assert_refused(f"{header}.{forged}.{signature}", "invalid", now=T0)


def test_token_signed_with_another_secret() -> None:
    token = pair_at(config=TokenConfig(OTHER_SECRET))["access_token"]
    error = assert_refused(token, "invalid", now=T0)
    assert "signature" in str(error).lower()


def test_alg_none_token() -> None:
    header = b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    body = dict(claims_payload(), iat=int(T0.timestamp()), exp=int(T0.timestamp()) + 900)
    token = f"{header}.{b64(json.dumps(body).encode())}."
    assert_refused(token, "invalid", now=T0)


def test_other_hmac_algorithm() -> None:
    token = jwt.encode(claims_payload(), SECRET, algorithm="HS512")
    assert_refused(token, "invalid", now=T0)


def test_a_well_formed_token_of_our_own_is_accepted() -> None:
    """The control for the hand-made tokens below."""
    token = jwt.encode(claims_payload(), SECRET, algorithm="HS256")
    assert verify(CONFIG, token, now=T0).org_id == "acme"


@pytest.mark.parametrize(
    "changes",
    [
        {"iss": "someone-else"},
        {"iss": None},
        {"typ": "admin"},
        {"typ": None},
        {"org": None},
        {"sub": None},
        {"role": None},
        {"exp": None},
        {"iat": None},
    ],
    ids=lambda c: "-".join(f"{k}={v}" for k, v in c.items()),
)
def test_wrong_or_missing_claims(changes: dict[str, Any]) -> None:
    token = jwt.encode(claims_payload(**changes), SECRET, algorithm="HS256")
    assert_refused(token, "invalid", now=T0)


@pytest.mark.parametrize(
    "token",
    ["garbage", "not.a.token", "a.b", "....", "eyJhbGciOiJIUzI1NiJ9.e30.", "ñ.ñ.ñ", " "],
)
def test_garbage_token(token: str) -> None:
    assert_refused(token, "invalid", now=T0)
    assert_refused(token, "invalid")


def test_token_error_is_an_exception_with_a_reason() -> None:
    error = TokenError("expired", "the token has expired")
    assert isinstance(error, Exception)
    assert error.reason == "expired"
    assert str(error) == "the token has expired"
