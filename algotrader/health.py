"""`GET /health`: every part the platform needs, each reported, 503 naming what fails."""

import time

import redis
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from algotrader.celery import app as celery_app


def _timed(check) -> dict:
    started = time.perf_counter()
    try:
        result = {"status": "ok", **check()}
    except Exception as error:  # a health check reports every failure instead of raising
        result = {"status": "down", "error": f"{type(error).__name__}: {error}"[:300]}
    result["latency_ms"] = round((time.perf_counter() - started) * 1000, 1)
    return result


def _database() -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SELECT version()")
        (version,) = cursor.fetchone()
    return {"name": "PostgreSQL", "version": version.split(" ")[1], "embedded": settings.EMBEDDED_DATABASE}


def _redis_connection() -> redis.Redis:
    # A fresh connection each time: a check must not pass on a pooled socket to a dead server.
    return redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1)


def _redis() -> dict:
    client = _redis_connection()
    try:
        info = client.info("server")
    finally:
        client.close()
    return {"name": "Redis", "version": info["redis_version"], "embedded": settings.EMBEDDED_REDIS}


def _workers() -> dict:
    replies = celery_app.control.ping(timeout=settings.HEALTH_WORKER_PING_SECONDS) or []
    workers = sorted(name for reply in replies for name in reply)
    if not workers:
        raise RuntimeError("no Celery worker answered the ping")
    return {"workers": workers}


def _beat() -> dict:
    client = _redis_connection()
    try:
        raw = client.get(settings.BEAT_HEARTBEAT_KEY)
    finally:
        client.close()
    if raw is None:
        raise RuntimeError("beat has never sent a heartbeat")
    age = time.time() - float(raw)
    if age > settings.BEAT_HEARTBEAT_STALE_SECONDS:
        raise RuntimeError(f"beat's last heartbeat is {age:.0f} s old")
    return {"last_heartbeat_age_s": round(age, 1)}


def _feed() -> dict:
    from execution.feed import HEALTH_KEY

    client = _redis_connection()
    try:
        state = client.hgetall(HEALTH_KEY)
    finally:
        client.close()
    if not state:
        raise RuntimeError("the market feed is not running")
    stale = [symbol for symbol in state.get(b"stale", b"").decode().split(",") if symbol]
    # A stale symbol is reported, not failed: the feed resubscribes it and stop-loss checks
    # fall back to the broker's prices meanwhile.
    return {
        "source": state.get(b"source", b"").decode(),
        "feed_status": state.get(b"status", b"").decode(),
        "subscribed": int(state.get(b"subscribed", b"0")),
        "stale_symbols": stale,
    }


@require_GET
def health(request: HttpRequest) -> JsonResponse:
    checks = {"database": _timed(_database), "redis": _timed(_redis)}
    # Worker and beat are reached through Redis; with Redis down they are down too.
    if checks["redis"]["status"] == "ok":
        checks["worker"] = _timed(_workers)
        checks["beat"] = _timed(_beat)
        checks["feed"] = _timed(_feed)
    else:
        checks["worker"] = checks["beat"] = checks["feed"] = {"status": "down", "error": "Redis is down"}
    failing = sorted(name for name, check in checks.items() if check["status"] != "ok")
    body = {"status": "unhealthy" if failing else "healthy", "checks": checks}
    if failing:
        body["failing"] = failing
    return JsonResponse(body, status=503 if failing else 200)
