"""Sign-in defences over HTTP: backoff (429 + Retry-After) per username and per address, lockout, the
administrator's unlock, and the same password-hash work for unknown and existing users.

The tests serve their own app (same database and Temporal) with long delays, so no answer depends on how
fast the machine is; a wait "passes" by moving the stored `blocked_until` into the past.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import text

import infra.security
from api.main import create_app
from db.models import LoginThrottle
from db.seed import DEMO_PASSWORD
from tests.support import audit_rows, serve

PASSWORD = "throttle-password-1"
FREE, LOCKOUT_AFTER = 2, 5
ADDRESS_FREE = LOCKOUT_AFTER + 1  # one username's failures never make its address wait


@pytest_asyncio.fixture(scope="module")
async def guarded(settings, db, env, worker) -> AsyncIterator[httpx.AsyncClient]:
    """An app whose throttle waits minutes, not seconds (and locks after five failures)."""
    strict = settings.model_copy(
        update={
            "login_free_failures": FREE,
            "login_lockout_after": LOCKOUT_AFTER,
            "login_address_free_failures": ADDRESS_FREE,
            "login_base_delay_seconds": 60.0,
            "login_max_delay_seconds": 3600.0,
        }
    )
    async with serve(create_app(strict, db=db, client=env.client)) as url, httpx.AsyncClient(base_url=url) as client:
        yield client


_ADDRESSES = itertools.count(1)


def _address() -> str:
    """A client address of this test's own (uvicorn trusts X-Forwarded-For from loopback)."""
    return f"2001:db8::{uuid.uuid4().hex[:4]}:{next(_ADDRESSES):x}"


async def _new_user(http, login) -> str:
    username = f"kx-throttle-{uuid.uuid4().hex[:10]}"
    body = {"username": username, "full_name": "Throttle Test", "password": PASSWORD, "roles": ["agent"]}
    assert (await http.post("/api/users", json=body, headers=await login("admin"))).status_code == 201
    return username


async def _sign_in(client: httpx.AsyncClient, username: str, password: str, address: str) -> httpx.Response:
    return await client.post(
        "/api/auth/token", data={"username": username, "password": password}, headers={"X-Forwarded-For": address}
    )


def _let_the_wait_pass(sync_session, kind: str, subject: str) -> None:
    """What waiting out the backoff does to the stored counter (the lockout is not touched)."""
    with sync_session() as s:
        s.execute(
            text(
                "UPDATE login_throttle SET blocked_until = now() - interval '1 second'"
                " WHERE kind = :k AND subject = :s AND NOT locked"
            ),
            {"k": kind, "s": subject},
        )
        s.commit()


def _counter(sync_session, kind: str, subject: str) -> LoginThrottle | None:
    with sync_session() as s:
        row = s.get(LoginThrottle, (kind, subject))
        if row is not None:
            s.expunge(row)
        return row


@pytest.fixture
def cleanup_addresses(sync_session):
    """Address counters this test made are forgotten afterwards."""
    used: list[str] = []
    yield used
    with sync_session() as s:
        for address in used:
            s.execute(text("DELETE FROM login_throttle WHERE kind = 'address' AND subject = :a"), {"a": address})
        s.commit()


async def test_wrong_passwords_back_off_growing_then_lock(guarded, http, login, sync_session, cleanup_addresses):
    username, address = await _new_user(http, login), _address()
    cleanup_addresses.append(address)
    for _ in range(FREE):
        assert (await _sign_in(guarded, username, "wrong", address)).status_code == 401
    waits = []
    for _ in range(LOCKOUT_AFTER - FREE - 1):
        assert (await _sign_in(guarded, username, "wrong", address)).status_code == 401
        refused = await _sign_in(guarded, username, PASSWORD, address)  # even the right password waits
        assert refused.status_code == 429, refused.text
        assert "try again in" in refused.json()["detail"]
        waits.append(int(refused.headers["Retry-After"]))
        _let_the_wait_pass(sync_session, "user", username)
    assert waits == sorted(waits) and len(set(waits)) == len(waits), waits  # 60 s, 120 s: it grows
    assert 0 < waits[0] <= 60 < waits[-1] <= 120

    assert audit_rows(sync_session, action="login.lockout", subject_id=username) == []
    assert (await _sign_in(guarded, username, "wrong", address)).status_code == 401  # the fifth: locks
    locked = await _sign_in(guarded, username, PASSWORD, address)
    assert locked.status_code == 429 and "administrator" in locked.json()["detail"]
    assert 120 < int(locked.headers["Retry-After"]) <= 30 * 60
    [event] = audit_rows(sync_session, action="login.lockout", subject_id=username)
    assert (event.actor, event.outcome, event.details["address"]) == ("anonymous", "refused", address)
    assert _counter(sync_session, "user", username).locked


async def test_a_correct_sign_in_after_the_backoff_works_and_resets(
    guarded, http, login, sync_session, cleanup_addresses
):
    username, address = await _new_user(http, login), _address()
    cleanup_addresses.append(address)
    for _ in range(FREE + 1):
        assert (await _sign_in(guarded, username, "wrong", address)).status_code == 401
    assert (await _sign_in(guarded, username, PASSWORD, address)).status_code == 429
    _let_the_wait_pass(sync_session, "user", username)
    signed_in = await _sign_in(guarded, username, PASSWORD, address)
    assert signed_in.status_code == 200, signed_in.text
    assert _counter(sync_session, "user", username) is None  # a good sign-in forgets the username's failures


async def test_an_address_backs_off_across_usernames(guarded, sync_session, cleanup_addresses):
    address, other = _address(), _address()
    cleanup_addresses.extend([address, other])
    for _ in range(ADDRESS_FREE + 1):  # the free failures, then the one that starts the wait
        assert (await _sign_in(guarded, f"nobody-{uuid.uuid4().hex}", "wrong", address)).status_code == 401
    refused = await _sign_in(guarded, "agent1", DEMO_PASSWORD, address)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert (await _sign_in(guarded, "agent1", DEMO_PASSWORD, other)).status_code == 200
    assert _counter(sync_session, "address", address).failures == ADDRESS_FREE + 1


async def test_unknown_and_existing_users_cost_one_hash_each(guarded, http, login, sync_session, monkeypatch):
    username, address = await _new_user(http, login), _address()
    real = infra.security._hasher
    real_parameters = infra.security.hash_password("x").split("$")[:4]  # $argon2id$v=19$m=…,t=…,p=…
    checks: list[str] = []

    class CountingHasher:
        def verify(self, password: str, password_hash: str) -> bool:
            checks.append(password_hash)
            return real.verify(password, password_hash)

    monkeypatch.setattr(infra.security, "_hasher", CountingHasher())
    try:
        for who in (username, f"nobody-{uuid.uuid4().hex}"):
            checks.clear()
            assert (await _sign_in(guarded, who, "wrong", address)).status_code == 401
            assert len(checks) == 1, who
            # the dummy hash has the real hashes' algorithm and cost parameters
            assert checks[0].split("$")[:4] == real_parameters
    finally:
        with sync_session() as s:
            s.execute(text("DELETE FROM login_throttle WHERE kind = 'address' AND subject = :a"), {"a": address})
            s.commit()


async def test_an_admin_unlocks_and_it_is_journaled(guarded, http, login, sync_session, cleanup_addresses):
    username, address = await _new_user(http, login), _address()
    cleanup_addresses.append(address)
    for _ in range(LOCKOUT_AFTER):
        assert (await _sign_in(guarded, username, "wrong", address)).status_code == 401
        _let_the_wait_pass(sync_session, "user", username)
    assert (await _sign_in(guarded, username, PASSWORD, address)).status_code == 429

    assert (await http.post(f"/api/users/{username}/unlock", headers=await login("supervisor1"))).status_code == 403
    assert (await http.post("/api/users/nobody-at-all/unlock", headers=await login("admin"))).status_code == 404
    unlocked = await http.post(f"/api/users/{username}/unlock", headers=await login("admin"))
    assert unlocked.status_code == 200, unlocked.text
    assert unlocked.json() == {"username": username, "was_locked": True, "failures": LOCKOUT_AFTER}
    [entry] = audit_rows(sync_session, action="user.unlock", subject_id=username)
    assert (entry.actor, entry.outcome, entry.details) == (
        "admin",
        "accepted",
        {"was_locked": True, "failures": LOCKOUT_AFTER},
    )
    assert (await _sign_in(guarded, username, PASSWORD, address)).status_code == 200


async def test_forgotten_counters_are_pruned_by_later_failures(guarded, sync_session, cleanup_addresses):
    """Counters quiet for longer than their reset and not blocked go; a lockout still in force stays."""
    quiet, blocked = _address(), _address()
    cleanup_addresses.extend([quiet, blocked])
    with sync_session() as s:
        s.execute(
            text(
                "INSERT INTO login_throttle (kind, subject, failures, last_failure_at, blocked_until, locked)"
                " VALUES ('address', :q, 3, now() - interval '30 days', NULL, false),"
                " ('address', :b, 9, now() - interval '30 days', now() + interval '1 day', true)"
            ),
            {"q": quiet, "b": blocked},
        )
        s.commit()
    trigger = _address()
    cleanup_addresses.append(trigger)
    assert (await _sign_in(guarded, f"nobody-{uuid.uuid4().hex}", "wrong", trigger)).status_code == 401
    assert _counter(sync_session, "address", quiet) is None
    assert _counter(sync_session, "address", blocked).locked
    assert _counter(sync_session, "address", trigger).failures == 1
