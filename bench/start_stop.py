"""Start/stop with 10,000 running strategies, and whether it delays the beat's triggers.

Own database `bench_start_stop` (created and migrated here; the 10,000 are kept between runs):
1,000 users with 10 strategies each, one per symbol (no overlap per user per symbol), all
`running` with their beat triggers armed by `strategies.schedules.arm` (20,000 one-off
PeriodicTasks) and the Redis runtime written. Their BUY/SELL are at 00:05/00:10 IST, so none
falls due during the bench (do not run it between 00:00 and 00:10 IST).

Real processes, as `make run` starts them: the beat (`celery -A algotrader beat`, the
HeartbeatScheduler), an orders worker (`celery -A algotrader worker -Q orders`) and the web
server (`uvicorn algotrader.asgi:application ...`).

Measured, one call at a time:
- CALLS calls through the service functions: `strategy_stop` then `strategy_start` of a random
  one of the 10,000 (CALLS / 2 of each);
- CALLS calls through the API: `POST /api/v1/strategy/{id}/stop` then `.../start`, with the
  owner's JWT.
Meanwhile PROBES extra strategies (own users and paper accounts) have their BUY clocked at
successive whole seconds spread over a quiet phase (before the loop) and over the loop; the
beat dispatches them and the orders worker places them at the paper broker: each probe's
`Order.latency_ms` (scheduled instant -> broker ack) shows whether start/stop delays a trigger.

    .venv/bin/python -m algotrader.devstack exec -- .venv/bin/python bench/start_stop.py [CALLS]
"""

import math
import os
import random
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
import uuid
from datetime import datetime, timedelta
from datetime import time as dtime
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.harness import paper_traders, stop_processes, use_bench_database  # noqa: E402

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "algotrader.settings")
DATABASE = "bench_start_stop"


use_bench_database(DATABASE)

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from rest_framework_simplejwt.tokens import AccessToken  # noqa: E402

from accounts.models import User  # noqa: E402
from brokers.instruments import shipped_instruments  # noqa: E402
from brokers.models import BrokerAccount  # noqa: E402
from execution import runtime  # noqa: E402
from execution.models import Order  # noqa: E402
from strategies import schedules  # noqa: E402
from strategies.calendar import market_calendar  # noqa: E402
from strategies.models import Strategy  # noqa: E402
from strategies.services import strategy_start, strategy_stop  # noqa: E402

USERS = 1000
PER_USER = 10
SYMBOLS = list(shipped_instruments())[:PER_USER]
PROBES = 40
PROBE_EVERY_S = 1.0
LOGS = Path("/tmp") / f"bench_start_stop_{os.getpid()}"


def population() -> list[Strategy]:
    """The 10,000 running strategies, created and armed on first use."""
    rows = list(Strategy.objects.filter(user__email__startswith="ss-").select_related("user"))
    if len(rows) == USERS * PER_USER:
        for strategy in rows:
            if strategy.status != Strategy.Status.RUNNING:  # an interrupted run left it stopped
                strategy_start(strategy=strategy, actor=strategy.user)
        return rows  # the orders worker's start-up rebuild writes their Redis runtime
    User.objects.filter(email__startswith="ss-").delete()
    started = time.perf_counter()
    rows = Strategy.objects.bulk_create(
        Strategy(
            user=user,
            broker_account=account,
            symbol=symbol,
            buy_time=dtime(0, 5),
            sell_time=dtime(0, 10),
            stop_loss=shipped_instruments()[symbol].reference_price * Decimal("0.9"),
            quantity=1,
            status=Strategy.Status.RUNNING,
        )
        for user, account in paper_traders("ss", USERS)
        for symbol in SYMBOLS
    )
    for strategy in rows:
        runtime.activate(strategy)
        schedules.arm(strategy)
    print(f"created and armed {len(rows)} running strategies in {time.perf_counter() - started:.0f} s")
    return list(Strategy.objects.filter(user__email__startswith="ss-").select_related("user"))


def probes(first_due: datetime) -> list[Strategy]:
    """PROBES strategies whose BUYs fall due PROBE_EVERY_S apart from `first_due`."""
    for model, owner in ((Order, "user"), (Strategy, "user"), (BrokerAccount, "user"), (User, None)):
        model.objects.filter(**{f"{owner}__email__startswith" if owner else "email__startswith": "probe-"}).delete()
    tag = uuid.uuid4().hex[:6]
    calendar = market_calendar()
    rows = []
    for n in range(PROBES):
        user = User.objects.create(email=f"probe-{tag}-{n}@bench.local")
        account = BrokerAccount.objects.create(user=user, broker="paper", client_id=f"PR{tag}{n}", status="connected")
        due = first_due + timedelta(seconds=n * PROBE_EVERY_S)
        local = due.astimezone(calendar.tz)
        rows.append(
            Strategy.objects.create(
                user=user,
                broker_account=account,
                symbol="TCS",
                buy_time=local.time(),
                sell_time=(local + timedelta(hours=1)).time(),
                stop_loss=Decimal("100.00"),
                quantity=1,
                status=Strategy.Status.RUNNING,
            )
        )
        if rows[-1].sell_time < rows[-1].buy_time:
            sys.exit("Within an hour of midnight IST; run the bench later.")
    for strategy in rows:
        runtime.activate(strategy)
        schedules.arm(strategy, now=first_due - timedelta(seconds=1), calendar=calendar)
    return rows


def start_processes() -> tuple[list[subprocess.Popen], int]:
    LOGS.mkdir(exist_ok=True)
    bin_dir = Path(sys.executable).parent
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    commands = {
        "beat": [
            str(bin_dir / "celery"),
            "-A",
            "algotrader",
            "beat",
            "-l",
            "INFO",
            "--pidfile",
            str(LOGS / "beat.pid"),
            "-s",
            str(LOGS / "beat-schedule"),
        ],
        "orders-worker": [
            str(bin_dir / "celery"),
            "-A",
            "algotrader",
            "worker",
            "-Q",
            "orders",
            "-n",
            f"bench-orders-{os.getpid()}@%h",
            "-l",
            "INFO",
        ],
        "web": [
            str(bin_dir / "uvicorn"),
            "algotrader.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-access-log",
            "--proxy-headers",
        ],
    }
    processes = []
    for name, command in commands.items():
        log = open(LOGS / f"{name}.log", "w")
        processes.append(subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=log, start_new_session=True))
    deadline = time.monotonic() + 120
    while "ready." not in (LOGS / "orders-worker.log").read_text():
        if time.monotonic() > deadline or any(p.poll() is not None for p in processes):
            stop_processes(processes)
            sys.exit(f"the processes did not start; see {LOGS}")
        time.sleep(0.2)
    return processes, port


def api(port: int, path: str, token: str) -> int:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", method="POST", data=b"", headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()
        return response.status


def summary(values: list[float]) -> str:
    values = sorted(values)
    p99 = values[max(0, math.ceil(len(values) * 0.99) - 1)]
    return f"n={len(values)} p50 {statistics.median(values):.1f} ms, p99 {p99:.1f} ms, max {values[-1]:.1f} ms"


def main() -> None:
    calls = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    call_command("migrate", verbosity=0)
    rows = population()
    processes, port = start_processes()
    try:
        for _ in range(100):  # the web server answers
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2)
                break
            except urllib.error.HTTPError:
                break
            except OSError:
                time.sleep(0.1)
        quiet_s = 8
        first_due = datetime.fromtimestamp(math.ceil(time.time() + 6), tz=market_calendar().tz)
        probe_rows = probes(first_due)
        loop_starts = first_due + timedelta(seconds=quiet_s)
        print(f"load average before: {open('/proc/loadavg').read().split()[:3]}")
        time.sleep(max(0, loop_starts.timestamp() - time.time()))
        service = {"stop": [], "start": []}
        through_api = {"stop": [], "start": []}
        picks = random.sample(rows, calls)
        for n, strategy in enumerate(picks):
            timings = service if n < calls // 2 else through_api
            token = str(AccessToken.for_user(strategy.user)) if timings is through_api else ""
            for action in ("stop", "start"):
                begun = time.perf_counter()
                if timings is service:
                    (strategy_stop if action == "stop" else strategy_start)(strategy=strategy, actor=strategy.user)
                else:
                    status = api(port, f"/api/v1/strategy/{strategy.pk}/{action}", token)
                    if status != 200:
                        sys.exit(f"{action} answered {status}")
                timings[action].append((time.perf_counter() - begun) * 1000)
        loop_ends = time.time()
        print(f"load average after the loop: {open('/proc/loadavg').read().split()[:3]}")
        last_due = first_due + timedelta(seconds=(PROBES - 1) * PROBE_EVERY_S)
        time.sleep(max(0, last_due.timestamp() - time.time()) + 3)
        orders = {
            o.strategy_id: o
            for o in Order.objects.filter(strategy__in=probe_rows, event=Order.Event.BUY, placed_at__isnull=False)
        }
    finally:
        stop_processes(processes)
    print(f"{len(rows):,} running strategies; {calls} start/stop calls each way, one at a time")
    for name, timings in (("service", service), ("API", through_api)):
        for action in ("stop", "start"):
            print(f"  {name} strategy_{action}: {summary(timings[action])}")
    quiet, during, after = [], [], []
    for strategy in probe_rows:
        order = orders.get(strategy.pk)
        if order is None:
            continue
        due = order.requested_at.timestamp()
        (quiet if due < loop_starts.timestamp() else during if due <= loop_ends else after).append(order.latency_ms)
    print(f"probe BUYs placed: {len(orders)}/{PROBES} (clocked instant -> paper broker ack, Order.latency_ms)")
    for name, values in (("before the loop", quiet), ("during the loop", during), ("after the loop", after)):
        if values:
            print(f"  {name}: {summary(values)}")


if __name__ == "__main__":
    main()
