"""A batch (or a publication) whose job the queue lost (Redis flushed, or restarted without its data) does not wait
forever: the workers' minute sweep queues it again once it has waited long enough, and a worker
then checks it. Against a real redis-server on loopback."""

from __future__ import annotations

import time

import pytest
import redis
from sqlmodel import Session, select

from outreach.models import ImportBatch, Summary
from tests.conftest import DEMO_TODAY, app_on, login
from tests.imports.test_views import _upload
from tests.imports.test_writer import ROWS, _csv
from tests.redis_server import REDIS
from tests.summaries.test_publishing import KEY, _draft
from tests.workers import jobs_settled, worker_threads

pytestmark = pytest.mark.skipif(REDIS is None, reason="redis-server is not installed")


@pytest.fixture
def app(db_url, redis_url):
    with app_on(db_url, OUTREACH_QUEUE_URL=redis_url, PROPAGATE_EXCEPTIONS=True) as app:
        yield app


def _batch(app, batch_id: int) -> ImportBatch:
    with Session(app.extensions["engine"], expire_on_commit=False) as session:
        return session.get(ImportBatch, batch_id)


def _queued(app) -> list:
    return [(t.name, t.args) for t in app.extensions["jobs"].huey.pending()]


def test_a_batch_the_queue_lost_is_queued_again_by_the_sweep(app, redis_url):
    client = app.test_client()
    assert login(client, "admin").status_code == 302
    response = _upload(client, _csv(ROWS))
    assert response.status_code == 302, response.status_code
    batch_id = int(response.headers["Location"].rsplit("/", 1)[1])
    assert _batch(app, batch_id).status == "checking"  # waits for a worker: none runs
    sweep = app.extensions["jobs"].sweep.func  # the task's body, on the real queue
    app.config["OUTREACH_JOB_LOST_SECONDS"] = 0
    sweep()
    assert _queued(app) == [("imports.check", (batch_id,))]  # on the queue: left as it is

    redis.Redis.from_url(redis_url).flushall()  # Redis loses everything
    assert _queued(app) == []
    app.config["OUTREACH_JOB_LOST_SECONDS"] = 300
    sweep()
    assert _queued(app) == []  # not waited long enough: a worker may be about to take it
    waited_since = _batch(app, batch_id).queued_at
    time.sleep(0.01)
    app.config["OUTREACH_JOB_LOST_SECONDS"] = 0
    sweep()
    assert _queued(app) == [("imports.check", (batch_id,))]  # queued again, once
    assert _batch(app, batch_id).queued_at > waited_since
    sweep()
    assert _queued(app) == [("imports.check", (batch_id,))]  # on the queue again: not doubled

    with worker_threads(app):
        deadline = time.monotonic() + 60
        while _batch(app, batch_id).status == "checking":
            assert time.monotonic() < deadline, "the worker did not check the re-queued batch"
            time.sleep(0.1)
    batch = _batch(app, batch_id)
    assert batch.status == "previewed" and batch.inserted == 3, batch.message


def test_a_publication_the_queue_lost_is_queued_again_and_published_once(app, redis_url):
    app.config["OUTREACH_TODAY"] = DEMO_TODAY
    client = app.test_client()
    assert login(client, "admin").status_code == 302
    token, summary_id = _draft(client)
    form = {"csrf_token": token, "summary_id": summary_id, "early": "1"}
    assert client.post(f"/summaries/{KEY}/publish", data=form).status_code == 302
    ((name, args),) = _queued(app)  # no worker runs: the job waits on the queue
    sweep = app.extensions["jobs"].sweep.func
    redis.Redis.from_url(redis_url).flushall()  # Redis loses it
    app.config["OUTREACH_JOB_LOST_SECONDS"] = 300
    sweep()
    assert _queued(app) == []  # not waited long enough yet
    app.config["OUTREACH_JOB_LOST_SECONDS"] = 0
    sweep()
    sweep()
    assert _queued(app) == [(name, args)]  # queued again, once
    with worker_threads(app):
        (job,) = jobs_settled(app)
    assert job.status == "done", job.message
    with Session(app.extensions["engine"]) as session:
        published = session.exec(select(Summary).where(Summary.status == "published")).all()
    assert [s.id for s in published] == [summary_id]
