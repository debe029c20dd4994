import time

import pytest
from django.conf import settings

from algotrader.redis import redis_client
from conftest import start_process, stop_process


@pytest.fixture
def feed_process(django_db_setup):
    process = start_process(["django", "run_feed"], DJANGO_SETTINGS_MODULE="algotrader.settings")
    yield process
    stop_process(process)


@pytest.mark.django_db
def test_it_reports_every_part_healthy_with_a_real_worker_beat_and_feed(client, celery_processes, feed_process):
    deadline = time.monotonic() + 30
    while True:  # beat's first heartbeat may still be on its way
        response = client.get("/health")
        if response.status_code == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.5)

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "healthy"
    assert body["checks"]["database"]["name"] == "PostgreSQL"
    assert body["checks"]["redis"]["name"] == "Redis"
    assert body["checks"]["worker"]["workers"] == ["test@" + body["checks"]["worker"]["workers"][0].split("@")[1]]
    assert body["checks"]["beat"]["last_heartbeat_age_s"] < settings.BEAT_HEARTBEAT_STALE_SECONDS
    assert body["checks"]["feed"]["source"] == "paper"
    assert body["checks"]["feed"]["feed_status"] == "ok"


@pytest.mark.django_db
def test_it_names_redis_when_redis_is_down(client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1

    response = client.get("/health")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unhealthy"
    assert body["failing"] == ["beat", "feed", "redis", "worker"]
    assert body["checks"]["redis"]["status"] == "down"
    assert "Connection" in body["checks"]["redis"]["error"]
    assert body["checks"]["database"]["status"] == "ok"


@pytest.mark.django_db
def test_it_names_beat_when_its_heartbeat_is_stale(client, settings):
    # A key of its own: a beat started by another test may still be beating on the real one.
    settings.BEAT_HEARTBEAT_KEY = "beat:heartbeat:stale-test"
    redis_client().set(settings.BEAT_HEARTBEAT_KEY, f"{time.time() - 600:.3f}")

    body = client.get("/health").json()

    assert body["checks"]["beat"]["status"] == "down"
    assert "old" in body["checks"]["beat"]["error"]
    assert "beat" in body["failing"]


@pytest.mark.django_db
def test_it_names_the_feed_when_it_is_not_running(client):
    body = client.get("/health").json()

    assert body["checks"]["feed"] == {
        "status": "down",
        "error": "RuntimeError: the market feed is not running",
        "latency_ms": body["checks"]["feed"]["latency_ms"],
    }
    assert "feed" in body["failing"]


def test_it_needs_no_token(client, db):
    assert client.get("/health").status_code in {200, 503}
