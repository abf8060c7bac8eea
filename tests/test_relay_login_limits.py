"""The login limits as units: lockouts on a fake clock, the dummy hash, the hash limiter.

The real relay's answers (429, Retry-After, bounded audit rows) are tested in
test_relay_auth_hardening.py; here each rule is checked exactly, without waiting.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import anyio
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from relay.auth import AuthError, LoginGate, LoginLimits, TokenConfig, hash_password, verify
from relay.auth import _login as login_module
from relay.auth._login_limits import Backoff, Lockout, LoginLimiter, TooManyAttempts
from relay.auth._passwords import dummy_hash
from relay.db import AuditEvent, Org, User, connect, upgrade

PASSWORD = "correct horse battery"
TOKENS = TokenConfig("unit-test-secret-" + "z" * 40)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def fail(lock: Lockout, key: str, times: int = 1) -> None:
    for _ in range(times):
        assert lock.begin(key) == 0.0
        lock.end(key, ok=False)


# ----------------------------------------------------------------------------- lockout


def test_backoff_doubles_after_the_free_mistakes_and_is_capped() -> None:
    backoff = Backoff(free=5, first_s=1, max_s=300)
    assert [backoff.lock_s(n) for n in range(1, 11)] == [0, 0, 0, 0, 0, 1, 2, 4, 8, 16]
    assert backoff.lock_s(20) == 300 and backoff.lock_s(10_000) == 300


def test_a_locked_key_is_refused_even_with_the_right_password_until_the_lock_ends() -> None:
    clock = Clock()
    lock = Lockout(Backoff(free=5), clock=clock)
    fail(lock, "ana", 6)
    assert lock.begin("ana") == 1.0  # refused: no verdict, nothing counted
    clock.now += 0.5
    assert lock.begin("ana") == 0.5
    clock.now += 0.5
    assert lock.begin("ana") == 0.0
    lock.end("ana", ok=False)  # the 7th mistake: 2 s
    assert lock.begin("ana") == 2.0
    assert lock.begin("bo") == 0.0  # other keys are not affected


def test_a_success_clears_the_mistakes() -> None:
    clock = Clock()
    lock = Lockout(Backoff(free=2), clock=clock)
    fail(lock, "ana", 2)
    assert lock.begin("ana") == 0.0
    lock.end("ana", ok=True)
    fail(lock, "ana", 2)
    assert lock.begin("ana") == 0.0  # counted from zero again


def test_mistakes_are_forgotten_after_a_quiet_while() -> None:
    clock = Clock()
    lock = Lockout(Backoff(free=2), forget_after_s=900, clock=clock)
    fail(lock, "ana", 3)
    clock.now += 901
    fail(lock, "ana", 2)
    assert lock.begin("ana") == 0.0


def test_past_its_free_mistakes_a_key_tries_one_password_at_a_time() -> None:
    lock = Lockout(Backoff(free=2), clock=Clock())
    fail(lock, "ana", 1)
    assert lock.begin("ana") == 0.0  # in flight
    assert lock.begin("ana") == 1.0  # a second one in parallel waits
    lock.end("ana", ok=False)
    assert lock.begin("ana") == 0.0


def test_the_lockout_keeps_at_most_max_keys() -> None:
    lock = Lockout(Backoff(free=1), max_keys=100, clock=Clock())
    for i in range(10_000):
        fail(lock, f"user-{i}")
    assert len(lock) == 100


def test_the_limiter_refuses_both_keys_and_a_success_does_not_clear_the_address() -> None:
    clock = Clock()
    limiter = LoginLimiter(
        LoginLimits(per_username=Backoff(free=10), per_address=Backoff(free=3)), clock=clock
    )
    for name in ("a", "b", "c", "d"):
        limiter.begin(name, "10.0.0.1")
        limiter.end(name, "10.0.0.1", ok=False)
    with pytest.raises(TooManyAttempts) as info:
        limiter.begin("e", "10.0.0.1")
    assert info.value.status == 429 and info.value.retry_after_s == 1.0
    limiter.begin("e", "10.0.0.2")  # another address may
    limiter.end("e", "10.0.0.2", ok=True)
    clock.now += 1
    limiter.begin("ana", "10.0.0.1")
    limiter.end("ana", "10.0.0.1", ok=True)
    limiter.begin("f", "10.0.0.1")
    limiter.end("f", "10.0.0.1", ok=False)  # the 5th mistake of the address: 2 s
    with pytest.raises(TooManyAttempts):
        limiter.begin("ana", "10.0.0.1")


def test_audits_of_rejects_are_rate_limited_per_address() -> None:
    clock = Clock()
    limiter = LoginLimiter(LoginLimits(), clock=clock)
    assert sum(limiter.may_audit("10.0.0.1") for _ in range(1000)) == 10
    assert limiter.may_audit("10.0.0.2")
    clock.now += 10
    assert limiter.may_audit("10.0.0.1")


# ----------------------------------------------------------------------------- the gate


@pytest.fixture
def engine(tmp_path: Path) -> Any:
    engine = connect(f"sqlite:///{tmp_path / 'relay.sqlite3'}")
    upgrade(engine)
    with Session(engine) as session, session.begin():
        session.add(Org(org_id="acme", name="acme"))
        session.flush()
        session.add(
            User(
                username="ana", org_id="acme", role="editor", password_hash=hash_password(PASSWORD)
            )
        )
    yield engine
    engine.dispose()


def audit_into(engine: Engine) -> Any:
    def audit(action: str, claims: Any, transcript_id: str | None = None, **detail: Any) -> None:
        with Session(engine) as session, session.begin():
            session.add(AuditEvent(action=action, transcript_id=transcript_id, detail=detail))

    return audit


def test_an_unknown_user_is_verified_against_the_dummy_hash(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[str, str]] = []
    real = login_module.verify_password

    def spy(password_hash: str, password: str) -> bool:
        calls.append((password_hash, password))
        return real(password_hash, password)

    monkeypatch.setattr(login_module, "verify_password", spy)
    gate = LoginGate(engine, TOKENS, audit_into(engine))

    async def main() -> None:
        with pytest.raises(AuthError) as info:
            await gate.login({"username": "nobody", "password": PASSWORD}, "10.0.0.1")
        assert info.value.status == 401
        pair = await gate.login({"username": "ana", "password": PASSWORD}, "10.0.0.1")
        assert verify(TOKENS, pair["access_token"]).username == "ana"

    anyio.run(main)
    assert calls[0] == (dummy_hash(), PASSWORD)
    assert dummy_hash().startswith("$argon2id$")
    assert calls[1][0] != dummy_hash() and calls[1][0].startswith("$argon2id$")


def test_a_disabled_user_is_verified_too_and_refused(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []

    def right(password_hash: str, password: str) -> bool:
        calls.append(password_hash)
        return True  # even a right password: the account is disabled

    monkeypatch.setattr(login_module, "verify_password", right)
    with Session(engine) as session, session.begin():
        session.scalars(select(User)).one().disabled = True
    gate = LoginGate(engine, TOKENS, audit_into(engine))

    async def main() -> int:
        with pytest.raises(AuthError) as info:
            await gate.login({"username": "ana", "password": PASSWORD}, "10.0.0.1")
        return info.value.status

    assert anyio.run(main) == 401
    assert len(calls) == 1 and calls[0] != dummy_hash()


def test_argon2_runs_in_a_thread_one_at_a_time_and_a_full_queue_gets_503(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = threading.Event()
    running: list[int] = []
    lock = threading.Lock()
    loop_thread = threading.get_ident()
    threads: set[int] = set()

    def slow(password_hash: str, password: str) -> bool:
        threads.add(threading.get_ident())
        with lock:
            running.append(1)
            peak.append(len(running))
        release.wait(10)
        with lock:
            running.pop()
        return False

    peak: list[int] = []
    monkeypatch.setattr(login_module, "verify_password", slow)
    limits = LoginLimits(per_address=Backoff(free=100), max_waiting_hashes=3)
    gate = LoginGate(engine, TOKENS, audit_into(engine), limits)
    statuses: list[int] = []

    async def attempt(i: int) -> None:
        try:
            await gate.login({"username": f"user-{i}", "password": "x" * 10}, "10.0.0.1")
        except AuthError as exc:
            statuses.append(exc.status)
            if exc.status == 503:
                assert exc.headers() == {"Retry-After": "1"}

    async def main() -> None:
        async with anyio.create_task_group() as tg:
            for i in range(8):
                tg.start_soon(attempt, i)
            await anyio.sleep(0.5)  # let them all queue (not a timing assertion)
            release.set()

    anyio.run(main)
    assert sorted(statuses) == [401] * 4 + [503] * 4  # 1 running + 3 waiting
    assert max(peak) == 1
    assert loop_thread not in threads
