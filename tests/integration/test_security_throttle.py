"""Login throttling per account and address with back-off, counted in Redis; refusals reveal no accounts."""

from __future__ import annotations

import logging
import time

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from core.models import auth as auth_models
from tests.conftest import PASSWORD, csrf_token
from webapp.auth import throttle


@pytest.fixture
def limits(app, monkeypatch):
    """limits(account_and_address=..., account=..., address=..., base_s=..., max_s=...) lowers the thresholds."""

    def set_limits(account_and_address=3, account=100, address=100, base_s=30, max_s=900):
        for key, value in {
            "LOGIN_FREE_FAILURES_PER_ACCOUNT_AND_ADDRESS": account_and_address,
            "LOGIN_FREE_FAILURES_PER_ACCOUNT": account,
            "LOGIN_FREE_FAILURES_PER_ADDRESS": address,
            "LOGIN_BACKOFF_BASE_S": base_s,
            "LOGIN_BACKOFF_MAX_S": max_s,
        }.items():
            monkeypatch.setitem(app.config, key, value)

    return set_limits


@pytest.fixture
def password_checks(monkeypatch) -> list[str]:
    """Every scrypt check made while signing in (the hash checked), in order."""
    checked: list[str] = []
    real = auth_models.check_password_hash

    def counting(pwhash: str, password: str) -> bool:
        checked.append(pwhash)
        return real(pwhash, password)

    monkeypatch.setattr(auth_models, "check_password_hash", counting)
    return checked


def attempt(client, email: str, password: str = "wrong-password", address: str = "198.51.100.7"):
    token = csrf_token(client)
    return client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": token},
        environ_base={"REMOTE_ADDR": address},
    )


def test_failures_past_the_free_count_are_refused_with_how_long_to_wait(app, users, limits):
    limits(account_and_address=3, base_s=30)
    client = app.test_client()
    assert [attempt(client, users["faculty"].email).status_code for _ in range(4)] == [401] * 4

    refused = attempt(client, users["faculty"].email)
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "30"
    assert "Try again in 30 s" in refused.get_data(as_text=True)


def test_a_refused_attempt_does_not_check_the_password(app, users, limits, password_checks):
    limits(account_and_address=1)
    client = app.test_client()
    attempt(client, users["faculty"].email)
    attempt(client, users["faculty"].email)
    checks_before = len(password_checks)

    assert attempt(client, users["faculty"].email, PASSWORD).status_code == 429  # even the right one
    assert len(password_checks) == checks_before


def test_back_off_doubles_with_each_failure_up_to_the_maximum(app, limits):
    limits(account_and_address=2, base_s=10, max_s=60)
    waits = []
    with app.test_request_context():
        for _ in range(7):
            throttle.record_failure("someone@test.example", "198.51.100.7")
            waits.append(throttle.seconds_locked("someone@test.example", "198.51.100.7"))
    assert waits == [0, 0, 10, 20, 40, 60, 60]


def test_the_wait_grows_after_a_lock_runs_out(app, users, limits):
    limits(account_and_address=1, base_s=1)
    client = app.test_client()
    attempt(client, users["faculty"].email)
    attempt(client, users["faculty"].email)  # locks for 1 s
    assert attempt(client, users["faculty"].email).headers["Retry-After"] == "1"
    time.sleep(1.1)

    assert attempt(client, users["faculty"].email).status_code == 401  # checked again, and wrong again
    assert attempt(client, users["faculty"].email).headers["Retry-After"] == "2"


def test_a_throttled_account_does_not_block_another_account_from_the_same_address(app, users, limits):
    limits(account_and_address=3)
    school = app.test_client()
    for _ in range(5):
        attempt(school, users["faculty"].email)
    assert attempt(school, users["faculty"].email).status_code == 429

    colleague = app.test_client()
    response = attempt(colleague, users["ministry"].email, PASSWORD)
    assert response.status_code == 302 and response.location == "/ministry/"


def test_the_owner_can_still_sign_in_from_another_address(app, users, limits):
    limits(account_and_address=3, account=10)
    for _ in range(5):
        attempt(app.test_client(), users["faculty"].email, address="203.0.113.66")

    response = attempt(app.test_client(), users["faculty"].email, PASSWORD, address="198.51.100.7")
    assert response.status_code == 302


def test_one_account_guessed_from_many_addresses_is_locked_everywhere(app, users, limits):
    limits(account_and_address=100, account=5)
    for n in range(6):
        assert attempt(app.test_client(), users["faculty"].email, address=f"203.0.113.{n}").status_code == 401

    assert attempt(app.test_client(), users["faculty"].email, PASSWORD, address="198.51.100.99").status_code == 429


def test_one_address_failing_for_many_accounts_is_locked_at_its_higher_threshold(app, users, limits):
    limits(account_and_address=100, account=100, address=8)
    for n in range(9):
        assert attempt(app.test_client(), f"student{n}@test.example").status_code == 401

    assert attempt(app.test_client(), users["ministry"].email, PASSWORD).status_code == 429
    assert attempt(app.test_client(), users["ministry"].email, PASSWORD, address="192.0.2.1").status_code == 302


def test_a_success_clears_the_accounts_failures(app, users, limits):
    limits(account_and_address=3)
    client = app.test_client()
    for _ in range(3):
        attempt(client, users["faculty"].email)
    assert attempt(client, users["faculty"].email, PASSWORD).status_code == 302

    fresh = app.test_client()
    assert [attempt(fresh, users["faculty"].email).status_code for _ in range(4)] == [401] * 4


def test_unknown_and_known_emails_both_cost_one_password_hash_check(users, client, password_checks):
    assert attempt(client, users["faculty"].email).status_code == 401
    assert attempt(client, "nobody@test.example").status_code == 401

    assert len(password_checks) == 2
    known, unknown = password_checks
    assert known == users["faculty"].password_hash
    assert unknown.split("$")[0] == known.split("$")[0]  # the same scrypt method and cost for the dummy


def test_a_disabled_account_costs_the_same_check_and_the_same_answer(app, users, client, password_checks):
    from core import db
    from core.models import User

    User.by_email(users["faculty"].email).active = False
    db.session.commit()
    response = attempt(client, users["faculty"].email, PASSWORD)
    assert response.status_code == 401 and "Wrong email or password" in response.get_data(as_text=True)
    assert len(password_checks) == 1


def test_sign_in_still_works_when_redis_is_down(app, users, monkeypatch, caplog):
    tries = []

    def unreachable() -> redis.Redis:
        tries.append(1)
        return redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0))

    monkeypatch.setattr(throttle, "_connect", unreachable)
    monkeypatch.setattr(throttle, "_redis_down_until", 0.0)
    caplog.set_level(logging.WARNING, logger=throttle.__name__)

    assert attempt(app.test_client(), users["faculty"].email).status_code == 401
    assert attempt(app.test_client(), users["faculty"].email, PASSWORD).status_code == 302
    assert "NOT throttled" in caplog.text and "Redis is unavailable" in caplog.text
    assert len(tries) == 1  # later sign-ins do not each wait for a Redis known to be down
