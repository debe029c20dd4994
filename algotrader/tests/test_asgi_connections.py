import urllib.error
import urllib.request

import pytest
from django.db import connection


def connections_to_this_database() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
        return cursor.fetchone()[0]


def get_health(server: str) -> int:
    """/health queries the database; without a worker it answers 503, which is fine here."""
    try:
        with urllib.request.urlopen(f"http://{server}/health", timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.mark.django_db(transaction=True)
def test_the_web_server_leaves_no_database_connection_behind(asgi_server):
    # The first requests open each web process's pool.
    statuses = {get_health(asgi_server) for _ in range(6)}
    warmed = connections_to_this_database()

    statuses |= {get_health(asgi_server) for _ in range(10)}

    assert statuses <= {200, 503}
    # Each request may run on a new thread; a kept connection per thread would add ~10 here.
    assert connections_to_this_database() - warmed <= 1
