"""What the end-to-end benches share: their own database, paper traders, stopping processes."""

import os
import signal
import subprocess
from urllib.parse import urlsplit, urlunsplit


def use_bench_database(name: str) -> None:
    """Points DATABASE_URL (this process and the ones it starts) at `name`, creating it."""
    import psycopg

    parts = urlsplit(os.environ["DATABASE_URL"])
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as admin:
        if admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is None:
            admin.execute(f'CREATE DATABASE "{name}"')
    os.environ["DATABASE_URL"] = urlunsplit(parts._replace(path=f"/{name}"))


def paper_traders(tag: str, count: int) -> list:
    """`count` users, each with a connected paper account of their own (so that no account's
    10 orders/s is shared), as (user, account) pairs. Needs Django set up."""
    from accounts.models import User
    from brokers.models import BrokerAccount

    users = User.objects.bulk_create(User(email=f"{tag}-{n}@bench.local") for n in range(count))
    accounts = BrokerAccount.objects.bulk_create(
        BrokerAccount(user=user, broker="paper", client_id=f"{tag.upper()}{n}", status="connected")
        for n, user in enumerate(users)
    )
    return list(zip(users, accounts, strict=True))


def stop_processes(processes: list[subprocess.Popen]) -> None:
    """SIGTERM to each process group, then SIGKILL to what is left after 15 s."""
    for process in processes:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
