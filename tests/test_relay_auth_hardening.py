"""Accounts and logins against a real relay (port 0, httpx and websocket clients).

Before the fixes: a disabled user's refresh token still worked (and chained), a role
changed to viewer stayed ``editor`` through refresh, a websocket outlived its token (a
write after expiry was acked and stored), 200 wrong passwords in a row met no limit and
were all audited, a 1 MB username was written into ``audit_events`` as it came, and a
JSON array or string as the body of ``/auth/login`` or ``/auth/refresh`` was a 500.
"""

from __future__ import annotations

import contextlib
import json
import math
import shutil
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
import websockets
from _relay import MINUTA, PASSWORD, SyncClient, connected, prepare, relay_env, wait_until
from _relay import RelayProcess as Relay
from conftest import pg_database
from sqlalchemy import select
from sqlalchemy.orm import Session

from relay.auth import LoginLimits, verify
from relay.db import AuditEvent, connect, default_database_url

WRONG = "not the password"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite data dir with the test users, copied for each relay."""
    data = tmp_path_factory.mktemp("template") / "data"
    prepare(data, relay_env())
    return data


def start_copy(template: Path, where: Path) -> Relay:
    data = where / "data"
    shutil.copytree(template, data)
    return Relay(data, relay_env()).start()


@pytest.fixture(scope="module")
def shared(template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Relay]:
    """One relay for the tests that neither lock anyone out nor change accounts."""
    server = start_copy(template, tmp_path_factory.mktemp("shared"))
    yield server
    server.stop()


@pytest.fixture
def fresh(template: Path, tmp_path: Path) -> Iterator[Relay]:
    """A relay of its own, for a test that hammers logins (its limits start empty)."""
    server = start_copy(template, tmp_path)
    yield server
    if server.running:
        server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def accounts(
    request: pytest.FixtureRequest, template: Path, tmp_path: Path
) -> Iterator[tuple[Relay, list[str]]]:
    """A relay of its own and the database flags that ``minuta users`` needs."""
    if request.param == "sqlite":
        server = start_copy(template, tmp_path)
        yield server, ["--data-dir", str(server.data_dir)]
        server.stop()
        return
    with pg_database(request.getfixturevalue("pg_admin")) as url:
        env = relay_env()
        flags = prepare(tmp_path / "data", env, url)
        server = Relay(tmp_path / "data", env, flags).start()
        yield server, flags
        server.stop()


def users(flags: list[str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(MINUTA), "users", *args, *flags],
        env=relay_env(),
        capture_output=True,
        text=True,
        check=False,
    )


def post_login(relay: Relay, username: str, password: str = WRONG) -> httpx.Response:
    return httpx.post(f"{relay.url}/auth/login", json={"username": username, "password": password})


def post_refresh(relay: Relay, token: str) -> httpx.Response:
    return httpx.post(f"{relay.url}/auth/refresh", json={"refresh_token": token})


def audit_rows(relay: Relay, action: str = "reject") -> list[AuditEvent]:
    engine = connect(default_database_url(relay.data_dir))
    try:
        with Session(engine) as session:
            return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action)))
    finally:
        engine.dispose()


def database_bytes(relay: Relay) -> int:
    return sum(p.stat().st_size for p in relay.data_dir.glob("minuta.sqlite3*"))


def assert_json_error(response: httpx.Response, status: int) -> None:
    assert response.status_code == status, response.text
    assert isinstance(response.json()["error"], str)


# ----------------------------------------------------------------------------- item 10


def test_refresh_of_a_disabled_user_is_refused(accounts: tuple[Relay, list[str]]) -> None:
    relay, flags = accounts
    first = relay.login("ana")
    chained = post_refresh(relay, first["refresh_token"])
    assert chained.status_code == 200

    done = users(flags, "disable", "ana")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "Disabled ana.\n"
    for token in (first["refresh_token"], chained.json()["refresh_token"]):
        refused = post_refresh(relay, token)
        assert_json_error(refused, 401)
        assert "disabled" in refused.json()["error"]
    assert_json_error(post_login(relay, "ana", PASSWORD), 401)

    done = users(flags, "enable", "ana")
    assert done.returncode == 0 and done.stdout == "Enabled ana.\n", done.stderr
    assert post_refresh(relay, chained.json()["refresh_token"]).status_code == 200
    relay.login("ana")


def test_refresh_after_set_role_viewer_yields_a_viewer_token(
    accounts: tuple[Relay, list[str]],
) -> None:
    relay, flags = accounts
    pair = relay.login("ana")
    assert verify(relay.tokens, pair["access_token"]).role == "editor"

    done = users(flags, "set-role", "ana", "--role", "viewer")
    assert done.returncode == 0 and done.stdout == "Set the role of ana to viewer.\n", done.stderr
    renewed = post_refresh(relay, pair["refresh_token"])
    assert renewed.status_code == 200, renewed.text
    assert verify(relay.tokens, renewed.json()["access_token"]).role == "viewer"
    assert verify(relay.tokens, renewed.json()["refresh_token"], "refresh").role == "viewer"
    bearer = {"Authorization": f"Bearer {renewed.json()['access_token']}"}
    created = httpx.post(f"{relay.url}/transcripts", json={"title": "x"}, headers=bearer)
    assert created.status_code == 403


def test_users_disable_enable_set_role_refuse_an_unknown_user(template: Path) -> None:
    flags = ["--data-dir", str(template)]
    for args in (["disable", "nobody"], ["enable", "nobody"], ["set-role", "nobody", "--role", "admin"]):  # fmt: skip
        result = users(flags, *args)
        assert result.returncode == 2 and result.stdout == "", result.stderr
        assert result.stderr == "minuta users: error: there is no user 'nobody'\n"
    bad_role = users(flags, "set-role", "ana", "--role", "owner")
    assert bad_role.returncode == 2 and "invalid choice" in bad_role.stderr


# ----------------------------------------------------------------------------- item 11


def test_a_websocket_is_closed_with_4401_at_expiry_and_a_later_write_is_not_stored(
    shared: Relay,
) -> None:
    relay = shared
    transcript_id = relay.create_transcript(relay.login("ana")["access_token"])
    # A token that expires in about three seconds.
    short = relay.token("ana", "acme", "editor", minutes=15, seconds=-3)
    expires_at = verify(relay.tokens, short).expires_at

    async def main() -> int | None:
        async with websockets.connect(f"{relay.ws}/sync/{transcript_id}?token={short}") as ws:
            client = SyncClient(ws)
            closed = anyio.Event()

            async def listen() -> None:
                with contextlib.suppress(websockets.ConnectionClosed):
                    await client.run()
                closed.set()

            async with anyio.create_task_group() as tg:
                tg.start_soon(listen)
                with anyio.fail_after(30):
                    await client.synced.wait()
                await client.change(
                    lambda d: d.upsert_segment(
                        "before", rev=1, text="antes", t0=0, t1=1, final=True
                    )
                )
                await wait_until(client.acked)
                # Written once the token has expired (a wait, not a timing assertion).
                left = (expires_at - datetime.now(UTC)).total_seconds()
                await anyio.sleep(max(left, 0.0) + 0.5)
                with contextlib.suppress(websockets.ConnectionClosed):
                    await client.change(
                        lambda d: d.upsert_segment(
                            "after", rev=1, text="después", t0=1, t1=2, final=True
                        )
                    )
                with anyio.fail_after(10):
                    await closed.wait()
            return ws.close_code

    assert anyio.run(main) == 4401

    async def stored() -> list[str]:
        token = relay.login("ana")["access_token"]
        async with connected(f"{relay.ws}/sync/{transcript_id}?token={token}") as client:
            return client.doc.segment_ids()

    assert anyio.run(stored) == ["before"]


# ----------------------------------------------------------------------------- item 12


def test_repeated_wrong_passwords_get_429_with_retry_after(fresh: Relay) -> None:
    answers = [post_login(fresh, "ana") for _ in range(30)]
    codes = [a.status_code for a in answers]
    assert codes[:5] == [401] * 5, codes  # the first mistakes are only wrong
    limited = [a for a in answers if a.status_code == 429]
    assert len(limited) >= 15, codes
    for answer in limited:
        assert_json_error(answer, 429)
        assert int(answer.headers["Retry-After"]) >= 1
    # Once the lock is over, the right password works (and clears the mistakes).
    anyio.run(anyio.sleep, int(limited[-1].headers["Retry-After"]))
    fresh.login("ana")
    assert post_login(fresh, "ana").status_code == 401


def test_wrong_passwords_from_one_address_across_usernames_get_429(fresh: Relay) -> None:
    codes = [post_login(fresh, f"nobody-{i}").status_code for i in range(30)]
    assert codes[:20] == [401] * 20, codes
    assert 429 in codes[20:], codes


def test_a_1mb_username_gets_a_4xx_and_no_large_audit_row(fresh: Relay) -> None:
    before = database_bytes(fresh)
    for field, status in (("username", 413), ("password", 413), ("username", 400)):
        size = 1_000_000 if status == 413 else 4000  # over the body's cap, or the field's
        body = {"username": "ana", "password": WRONG, field: "u" * size}
        for _ in range(5):
            answer = httpx.post(f"{fresh.url}/auth/login", json=body)
            assert_json_error(answer, status)
            assert ("limited to" if status == 413 else "too long") in answer.json()["error"]
    assert all(len(json.dumps(row.detail)) < 1000 for row in audit_rows(fresh))
    assert database_bytes(fresh) - before < 2**20


def test_audit_rows_are_bounded_under_a_flood_of_bad_logins(fresh: Relay) -> None:
    started = time.monotonic()
    for _ in range(100):
        assert post_login(fresh, "ana").status_code in (401, 429)
    # What the audit bucket refills while the flood lasts (an allowance, not a speed check).
    rate = LoginLimits().audit_per_address
    allowed = rate.burst + math.ceil((time.monotonic() - started) * rate.per_s)
    rows = audit_rows(fresh)
    assert 1 <= len(rows) <= allowed, (len(rows), allowed)
    assert len(rows) < 30


# ----------------------------------------------------------------------------- item 14


BAD_BODIES = ["[1, 2]", '"ana"', "3", "null", "true", "not json", "{}"]


@pytest.mark.parametrize("body", BAD_BODIES)
@pytest.mark.parametrize("path", ["/auth/login", "/auth/refresh"])
def test_auth_bodies_that_are_not_the_right_object_get_a_json_4xx(
    shared: Relay, path: str, body: str
) -> None:
    answer = httpx.post(
        f"{shared.url}{path}", content=body, headers={"Content-Type": "application/json"}
    )
    assert 400 <= answer.status_code < 500, answer.text
    assert isinstance(answer.json()["error"], str)


@pytest.mark.parametrize(
    "fields",
    [
        {"username": 1, "password": WRONG},
        {"username": "ana", "password": None},
        {"username": ["ana"], "password": {"p": 1}},
        {"username": "ana"},
    ],
    ids=["number", "null", "list-and-object", "missing"],
)
def test_login_fields_that_are_not_strings_get_a_400(shared: Relay, fields: dict[str, Any]) -> None:
    assert_json_error(httpx.post(f"{shared.url}/auth/login", json=fields), 400)


@pytest.mark.parametrize(
    ("token", "status"),
    [(7, 400), (["x"], 400), ("t" * 5000, 400), ("t" * 1_000_000, 413)],
    ids=["number", "list", "5kb", "1mb"],
)
def test_refresh_tokens_that_are_not_short_strings_get_a_4xx(
    shared: Relay, token: Any, status: int
) -> None:
    answer = httpx.post(f"{shared.url}/auth/refresh", json={"refresh_token": token})
    assert_json_error(answer, status)


def test_a_login_body_over_the_cap_gets_a_json_413(shared: Relay) -> None:
    body = json.dumps({"username": "ana", "password": WRONG, "pad": "x" * 20_000})
    answer = httpx.post(
        f"{shared.url}/auth/login", content=body, headers={"Content-Type": "application/json"}
    )
    assert_json_error(answer, 413)


def test_a_username_with_a_nul_is_only_a_wrong_login(accounts: tuple[Relay, list[str]]) -> None:
    relay, _ = accounts  # PostgreSQL refuses NUL in text: that was a 500
    assert_json_error(post_login(relay, "an\x00a", PASSWORD), 401)
