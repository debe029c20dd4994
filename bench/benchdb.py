"""What every end-to-end bench needs first: its own database on the platform's server."""

import os
from urllib.parse import urlsplit, urlunsplit


def use_bench_database(name: str) -> None:
    """Points DATABASE_URL (this process and the ones it starts) at `name`, creating it."""
    import psycopg

    parts = urlsplit(os.environ["DATABASE_URL"])
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as admin:
        if admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is None:
            admin.execute(f'CREATE DATABASE "{name}"')
    os.environ["DATABASE_URL"] = urlunsplit(parts._replace(path=f"/{name}"))
