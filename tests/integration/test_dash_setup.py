"""A new web process whose first requests arrive together (gunicorn's gthread workers) serves them all.

Dash registers the script bundles it may serve in a before-request hook that sets its done-flag before the
work (plotly/dash#3971): without a lock, the other threads' bundle requests fail with 500.
"""

from __future__ import annotations

import re
import threading

from core import db
from core.models import ApiToken
from webapp import create_app


def test_bundles_requested_together_on_a_fresh_process_are_all_served(app, users):
    _, token = ApiToken.issue(users["faculty"], "bundles")
    db.session.commit()
    headers = {"Authorization": f"Bearer {token}"}
    page = app.test_client().get("/faculty/", headers=headers).get_data(as_text=True)
    bundles = re.findall(r'src="(/faculty/_dash-component-suites/[^"]+)"', page)
    assert len(bundles) >= 3, page

    requests = bundles * 8  # a few browsers opening the page at once
    fresh = create_app(dict(app.config))  # as a newly booted gunicorn worker: Dash not set up yet
    start = threading.Barrier(len(requests))
    statuses: list[int] = []

    def fetch(path: str) -> None:
        client = fresh.test_client()
        start.wait()
        statuses.append(client.get(path, headers=headers).status_code)

    threads = [threading.Thread(target=fetch, args=(path,)) for path in requests]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert statuses == [200] * len(requests)
