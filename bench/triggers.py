"""Trigger dispatch latency: a strategy's clocked time -> its message published to Redis.

N running strategies (ALWAYS_OPEN calendar) are armed with their BUY in the same second, a
few seconds ahead; the beat scheduler (`algotrader.beat.HeartbeatScheduler`) then runs its
loop in this process exactly as `celery beat` does (tick, sleep the returned interval), and
`after_task_publish` stamps each message once the broker has it. Repeated for ROUNDS rounds;
prints p50/p99/max in milliseconds.

Runs on its own database (`bench_triggers`, created and migrated on first use, kept) and
publishes to the queue `bench_orders`, which nothing consumes and which is emptied after:
no worker of a concurrent run executes these triggers. See bench/README.md for the command.
"""

import math
import os
import statistics
import sys
import time
from datetime import datetime, timedelta

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "algotrader.settings")
django.setup()

from celery import signals  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402
from django_celery_beat.models import ClockedSchedule  # noqa: E402

from accounts.models import User  # noqa: E402
from algotrader.beat import HeartbeatScheduler, LeaderLock  # noqa: E402
from algotrader.celery import app  # noqa: E402
from algotrader.redis import redis_client  # noqa: E402
from brokers.models import BrokerAccount  # noqa: E402
from strategies import schedules  # noqa: E402
from strategies.calendar import calendar_for  # noqa: E402
from strategies.models import Strategy  # noqa: E402

BENCH_QUEUE = "bench_orders"
ALWAYS_OPEN = calendar_for("ALWAYS_OPEN")


def bench_database() -> None:
    connection.settings_dict.setdefault("TEST", {})["NAME"] = "bench_triggers"
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=True)


def strategies(count: int) -> list[Strategy]:
    ClockedSchedule.objects.filter(periodictask__task=schedules.TRIGGER_TASK).delete()
    user, _ = User.objects.get_or_create(email="bench@algotrader.local")
    Strategy.objects.filter(user=user).delete()
    account, _ = BrokerAccount.objects.get_or_create(
        user=user, broker="paper", defaults={"client_id": "BENCH", "status": "connected"}
    )
    return Strategy.objects.bulk_create(
        Strategy(
            user=user,
            broker_account=account,
            symbol=f"BENCH{n}",
            buy_time=datetime.min.time(),
            sell_time=datetime.max.time().replace(microsecond=0),
            stop_loss=1,
            quantity=1,
            status=Strategy.Status.RUNNING,
        )
        for n in range(count)
    )


def arm_all(rows: list[Strategy], due: datetime) -> float:
    """Moves every BUY to `due` (SELL an hour later) and arms it; returns seconds taken."""
    started = time.perf_counter()
    ClockedSchedule.objects.filter(periodictask__task=schedules.TRIGGER_TASK).delete()
    buy = due.astimezone(ALWAYS_OPEN.tz).time()
    sell = (due + timedelta(hours=1)).astimezone(ALWAYS_OPEN.tz).time()
    if sell < buy:
        sys.exit("The due time is within an hour of midnight IST; run the bench later.")
    Strategy.objects.filter(pk__in=[s.pk for s in rows]).update(buy_time=buy, sell_time=sell)
    for strategy in rows:
        strategy.buy_time, strategy.sell_time = buy, sell
        schedules.arm(strategy, now=due - timedelta(seconds=1), calendar=ALWAYS_OPEN)
    return time.perf_counter() - started


def run_round(beat: HeartbeatScheduler, count: int, due: datetime, published: list[float]) -> list[float]:
    published.clear()
    deadline = time.time() + (due - timezone.now()).total_seconds() + 30
    while len(published) < count and time.time() < deadline:
        interval = beat.tick()
        if interval > 0:
            time.sleep(interval)
    if len(published) < count:
        sys.exit(f"Only {len(published)} of {count} triggers were published.")
    return [(stamp - due.timestamp()) * 1000 for stamp in published]


def main(count: int, rounds: int) -> None:
    bench_database()
    schedules.TRIGGER_QUEUE = BENCH_QUEUE
    published: list[float] = []

    def stamp(sender: str, body: tuple, **_: object) -> None:
        if sender == schedules.TRIGGER_TASK:
            published.append(time.time())
        elif sender == getattr(schedules, "TRIGGER_BATCH_TASK", None):
            # One message carries a batch of triggers: each of them is published with it.
            published.extend([time.time()] * len(body[0][0]))

    signals.after_task_publish.connect(stamp, weak=False)
    beat = HeartbeatScheduler(app=app)
    beat.leader_lock = LeaderLock(redis_client(), "beat:leader:bench_triggers")
    rows = strategies(count)
    latencies: list[float] = []
    arming: list[float] = []
    try:
        for _ in range(rounds):
            # Whole seconds, as users set them; far enough ahead that arming is done before.
            due = datetime.fromtimestamp(math.ceil(time.time() + 2 + count * 0.01), tz=ALWAYS_OPEN.tz)
            arming.append(arm_all(rows, due))
            if timezone.now() >= due:
                sys.exit("Arming took longer than the lead; raise the lead.")
            latencies += run_round(beat, count, due, published)
    finally:
        beat.close()
        redis_client().delete(BENCH_QUEUE)
    latencies.sort()
    print(
        f"{count} strategies x {rounds} rounds, on {os.cpu_count()} cores: clocked time -> published "
        f"p50 {statistics.median(latencies):.1f} ms, p99 {latencies[math.ceil(len(latencies) * 0.99) - 1]:.1f} ms, "
        f"max {latencies[-1]:.1f} ms; arming {count} took {statistics.median(arming):.2f} s (median)"
    )


if __name__ == "__main__":
    main(count=int(sys.argv[1]), rounds=int(sys.argv[2]))
