"""Fixtures shared by every app's tests: named people, API clients, real worker processes.

alice owns things, bob is another trader who must never see them, and support is a staff
member in the Support group.
"""

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import pytest
from django.conf import settings
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.models import User
from algotrader.redis import redis_client

ROOT = Path(__file__).resolve().parent
PASSWORD = "correct-horse-battery-staple"


@pytest.fixture(autouse=True)
def _fresh_redis() -> Iterator[None]:
    """Each test starts with empty runtime state, queues and throttle counters.

    Kombu's exchange bindings stay: the session's Celery worker routes and answers pings
    through them."""
    client = redis_client()
    stale = [key for key in client.scan_iter(count=1000) if not key.startswith("_kombu.binding.")]
    if stale:
        client.delete(*stale)
    return


def make_user(email: str, **extra: object) -> User:
    return User.objects.create_user(email=email, password=PASSWORD, **extra)


@pytest.fixture
def alice(db) -> User:
    return make_user("alice@example.com")


@pytest.fixture
def bob(db) -> User:
    return make_user("bob@example.com")


@pytest.fixture
def support(db) -> User:
    from django.contrib.auth.models import Group

    user = make_user("support@example.com", is_staff=True)
    user.groups.add(Group.objects.get(name="Support"))
    return user


@pytest.fixture
def api() -> APIClient:
    return APIClient()


def client_for(user: User) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    return client


@pytest.fixture
def alice_api(alice: User) -> APIClient:
    return client_for(alice)


@pytest.fixture
def bob_api(bob: User) -> APIClient:
    return client_for(bob)


def test_database_url() -> str:
    """DATABASE_URL pointed at the test database pytest-django created."""
    url = urlparse(os.environ["DATABASE_URL"])
    return urlunparse(url._replace(path="/" + settings.DATABASES["default"]["NAME"]))


test_database_url.__test__ = False  # a helper, not a test


def start_process(args: list[str], **env: str) -> subprocess.Popen:
    """A platform process (worker, beat...) on the test database, in its own session."""
    return subprocess.Popen(
        [sys.executable, "-m", *args],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": test_database_url(), **env},
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def stop_process(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, 15)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)
            process.wait()


@pytest.fixture(scope="session")
def celery_processes(django_db_setup, django_db_blocker) -> Iterator[None]:
    """A real Celery worker (both queues) and beat, as `make run` starts them."""
    from algotrader.celery import app

    worker = start_process(
        ["celery", "-A", "algotrader", "worker", "-Q", "orders,stoploss", "-P", "threads", "-c", "4", "-n", "test@%h"]
    )
    beat = start_process(["celery", "-A", "algotrader", "beat", "-s", "/dev/null"])
    try:
        deadline = time.monotonic() + 60
        while not app.control.ping(timeout=0.5):
            if worker.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the Celery worker did not start: {worker.stderr.read().decode()[-2000:]}")
        yield
    finally:
        stop_process(beat)
        stop_process(worker)


@pytest.fixture(scope="session")
def asgi_server(django_db_setup, django_db_blocker) -> Iterator[str]:
    """The platform's ASGI application under uvicorn, as `make run` serves it: its base URL."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = start_process(
        ["uvicorn", "algotrader.asgi:application", "--host", "127.0.0.1", "--port", str(port), "--no-access-log"]
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"uvicorn did not start: {server.stderr.read().decode()[-2000:]}")
            time.sleep(0.1)
        yield f"127.0.0.1:{port}"
    finally:
        stop_process(server)
