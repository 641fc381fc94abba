"""Failed sign-ins are counted once across gunicorn workers: the throttle lives in Redis, not in a worker."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.conftest import PASSWORD
from tests.servers import gunicorn

pytestmark = pytest.mark.slow

FREE_FAILURES = 4


@pytest.fixture
def two_workers(app, tmp_path):
    """gunicorn with two single-threaded workers; its access log names the worker (pid) that served each request.

    A busy sync worker does not accept, so concurrent requests are served by both.
    """
    access_log = tmp_path / "access.log"
    factory = f'webapp:create_app({{"LOGIN_FREE_FAILURES_PER_ACCOUNT_AND_ADDRESS": {FREE_FAILURES}}})'
    options = ("--worker-class", "sync", "--access-logfile", str(access_log),
               "--access-logformat", "%(p)s %(m)s %(U)s %(s)s")  # fmt: skip
    with gunicorn(factory, workers=2, options=options) as url:
        yield url, access_log


def sign_in(url: str, email: str, password: str) -> requests.Response:
    """One attempt as a new visitor, each request on a new connection so either worker may take it."""
    with requests.Session() as visitor:
        visitor.headers["Connection"] = "close"
        form = visitor.get(f"{url}/login", timeout=30).text
        token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
        return visitor.post(
            f"{url}/login",
            data={"email": email, "password": password, "csrf_token": token},
            allow_redirects=False,
            timeout=30,
        )


def test_failures_spread_over_two_workers_are_throttled_as_one_count(two_workers, users):
    url, access_log = two_workers
    email = users["faculty"].email
    with ThreadPoolExecutor(max_workers=2) as pool:
        spread = list(pool.map(lambda _: sign_in(url, email, "wrong-password").status_code, range(FREE_FAILURES)))
    assert spread == [401] * FREE_FAILURES
    assert sign_in(url, email, "wrong-password").status_code == 401  # one past the free count: locked from now

    refused = sign_in(url, email, PASSWORD)

    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    workers = {line.split()[0] for line in access_log.read_text().splitlines() if " POST /login 401" in line}
    assert len(workers) == 2, "the failed sign-ins were not spread over both workers"
