"""Stop-loss latency: a tick at or below a stop-loss -> the exit order acknowledged by the broker.

Real processes on the platform's environment: the tick worker (`manage.py runworker ticks`)
and a stop-loss Celery worker (`celery -A algotrader worker -Q stoploss`), as `make run`
starts them. POSITIONS strategies (one user and one paper account each, so the paper broker's
10 orders/s per account never throttles) on 4 symbols are opened for real by
`execution.services.execute_trigger` BUYs: their runs are `bought`, in `sl:{symbol}`, each
with its protective SL-M stop resting at the paper broker.

Background load: frames of 500 ticks (one per symbol, the 4 traded symbols among them, prices
above every stop) sent to the Channels channel `ticks` 20 times a second, 10,000 ticks/s. Then,
one at a time, a frame with one tick at exactly one strategy's stop (stops are distinct, hit
from the highest down, so each such tick reaches exactly one position), stamped with its send
time. `paper.set_price` is NOT called: the paper broker's resting stop never fills, so what is
measured is the tick worker's path: check_ticks -> queue_stop_loss_exit -> `stoploss` queue ->
exit_position (cancel the protective stop, place the MARKET SELL) -> the broker's ack, read as
the exit Order's `placed_at`. The first 2 exits per symbol warm the processes and are not counted.

The tick worker's achieved rate comes from a sequence tick (`BENCHSEQ`, price = frame number)
in every background frame: the worker stores each last price, so `price:BENCHSEQ` says which
frame it has reached.

Runs on its own database `bench_tick_exit` (created and migrated here, emptied each run).

    .venv/bin/python -m algotrader.devstack exec -- .venv/bin/python bench/tick_to_exit.py [POSITIONS]
"""

import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from datetime import time as dtime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.harness import paper_traders, stop_processes, use_bench_database  # noqa: E402

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "algotrader.settings")
DATABASE = "bench_tick_exit"
IST = ZoneInfo("Asia/Kolkata")


use_bench_database(DATABASE)

import django  # noqa: E402

django.setup()

from channels.layers import get_channel_layer  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from algotrader.redis import redis_client  # noqa: E402
from brokers.instruments import shipped_instruments  # noqa: E402
from execution import runtime  # noqa: E402
from execution.models import Order  # noqa: E402
from execution.services import execute_trigger  # noqa: E402
from strategies.models import Strategy, StrategyRun  # noqa: E402

SYMBOLS = ["RELIANCE", "TCS", "INFY", "HDFCBANK"]
FRAME = 500
FRAMES_PER_SECOND = 20
WARMUP_PER_SYMBOL = 2
SEQ = "BENCHSEQ"
FILLERS = [f"BENCH{n:03d}" for n in range(FRAME - len(SYMBOLS) - 1)]
LOGS = Path("/tmp") / f"bench_tick_exit_{os.getpid()}"


def reset() -> None:
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE accounts_user CASCADE")
    client = redis_client()
    for symbol in [*SYMBOLS, *FILLERS, SEQ]:
        client.delete(runtime.stop_loss_key(symbol), runtime.price_key(symbol))
    for symbol in SYMBOLS:  # the paper market starts from the shipped reference price
        client.set(runtime.price_key(symbol), str(shipped_instruments()[symbol].reference_price))


def open_positions(count: int) -> dict[str, list[Strategy]]:
    """`count` strategies bought for real; per symbol, sorted by stop-loss, highest first."""
    rows = []
    for n, (user, account) in enumerate(paper_traders(f"tte-{uuid.uuid4().hex[:6]}", count)):
        symbol = SYMBOLS[n % len(SYMBOLS)]
        reference = shipped_instruments()[symbol].reference_price
        # Distinct stops 0.10 apart, all below 0.9 x the reference price.
        stop = (reference * Decimal("0.9")).quantize(Decimal("0.1")) - Decimal("0.1") * (n // len(SYMBOLS))
        rows.append(
            Strategy(
                user=user,
                broker_account=account,
                symbol=symbol,
                buy_time=dtime(9, 15),
                sell_time=dtime(15, 15),
                stop_loss=stop,
                quantity=1,
                status=Strategy.Status.RUNNING,
            )
        )
    Strategy.objects.bulk_create(rows)
    session = datetime.now(IST).date()  # today's run, as the beat's BUY names it
    started = time.perf_counter()
    for strategy in rows:
        runtime.activate(strategy)
        execute_trigger(strategy_id=strategy.pk, event="BUY", session_date=session, scheduled_at=datetime.now(UTC))
    bought = StrategyRun.objects.filter(position=StrategyRun.Position.BOUGHT).count()
    print(f"opened {bought}/{count} positions in {time.perf_counter() - started:.1f} s")
    if bought != count:
        sys.exit("not every BUY filled")
    by_symbol: dict[str, list[Strategy]] = {symbol: [] for symbol in SYMBOLS}
    for strategy in rows:
        by_symbol[strategy.symbol].append(strategy)
    for strategies in by_symbol.values():
        strategies.sort(key=lambda s: s.stop_loss, reverse=True)
    return by_symbol


def start_processes() -> list[subprocess.Popen]:
    LOGS.mkdir(exist_ok=True)
    bin_dir = Path(sys.executable).parent
    commands = {
        "tick-worker": [sys.executable, "manage.py", "runworker", "ticks"],
        "stoploss-worker": [
            str(bin_dir / "celery"),
            "-A",
            "algotrader",
            "worker",
            "-Q",
            "stoploss",
            "-n",
            f"bench-stoploss-{os.getpid()}@%h",
            "-l",
            "INFO",
        ],
    }
    processes = []
    for name, command in commands.items():
        log = open(LOGS / f"{name}.log", "w")
        processes.append(subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=log, start_new_session=True))
        PROCESSES[name] = processes[-1].pid
    deadline = time.monotonic() + 60
    while "ready." not in (LOGS / "stoploss-worker.log").read_text():
        if time.monotonic() > deadline or any(p.poll() is not None for p in processes):
            sys.exit(f"the workers did not start; see {LOGS}")
        time.sleep(0.2)
    return processes


def background_frame(seq: int, bands: dict[str, tuple[float, float]]) -> list[list]:
    now = int(time.time() * 1000)
    ticks = [[symbol, f"{random.uniform(*bands[symbol]):.2f}", now] for symbol in SYMBOLS]
    ticks += [[symbol, f"{random.uniform(100, 110):.2f}", now] for symbol in FILLERS]
    ticks.append([SEQ, str(seq), now])
    return ticks


def exit_order(strategy: Strategy) -> Order | None:
    return (
        Order.objects.filter(strategy=strategy, event=Order.Event.STOPLOSS, placed_at__isnull=False)
        .only("requested_at", "placed_at")
        .first()
    )


PROCESSES: dict[str, int] = {}


def cpu_seconds() -> dict[str, float]:
    """CPU seconds used so far by each started process (with its children) and by this one."""
    import psutil

    def used(process: psutil.Process) -> float:
        times = process.cpu_times()
        return times.user + times.system

    totals = {"bench (load generator)": used(psutil.Process())}
    for name, pid in PROCESSES.items():
        root = psutil.Process(pid)
        totals[name] = used(root) + sum(used(child) for child in root.children(recursive=True))
    return totals


def hits_logged() -> dict[str, float]:
    """strategy id -> when the tick worker logged its claim (the log's millisecond clock)."""
    claimed = {}
    for text in (LOGS / "tick-worker.log").read_text().splitlines():
        if '"stop-loss hit"' in text:
            record = json.loads(text)
            claimed[record["strategy_id"]] = datetime.fromisoformat(record["ts"]).timestamp()
    return claimed


def processed_frame() -> int:
    value = redis_client().get(runtime.price_key(SEQ))
    return int(Decimal(value)) if value else -1


async def run(by_symbol: dict[str, list[Strategy]]) -> None:
    layer = get_channel_layer()
    # Background prices 3-6 % above the reference price: above every stop (<= 0.9 x reference).
    bands = {}
    for symbol in SYMBOLS:
        reference = float(shipped_instruments()[symbol].reference_price)
        bands[symbol] = (reference * 1.03, reference * 1.06)
    sent = {"frames": 0, "full": 0}
    stop = asyncio.Event()

    async def background() -> None:
        interval = 1 / FRAMES_PER_SECOND
        begun = time.perf_counter()
        while not stop.is_set():
            try:
                await layer.send("ticks", {"type": "ticks.batch", "ticks": background_frame(sent["frames"], bands)})
                sent["frames"] += 1
            except Exception:  # ChannelFull: the worker is more than 2,000 frames behind
                sent["full"] += 1
            await asyncio.sleep(max(0, begun + sent["frames"] * interval - time.perf_counter()))

    sender = asyncio.create_task(background())
    await asyncio.sleep(3)  # the worker reaches its steady state
    seq_start, at_start = await asyncio.to_thread(processed_frame), time.perf_counter()
    queue = [
        (symbol, strategy)
        for rank in range(max(map(len, by_symbol.values())))
        for symbol, strategies in by_symbol.items()
        if rank < len(strategies)
        for strategy in [strategies[rank]]
    ]
    cpu_start = cpu_seconds()
    total, queueing, in_worker, lost = [], [], [], 0
    measured: list[tuple[Strategy, float, Order]] = []
    for number, (symbol, strategy) in enumerate(queue):
        sent_at = time.time()
        tick = [[symbol, format(strategy.stop_loss, "f"), int(sent_at * 1000)]]
        await layer.send("ticks", {"type": "ticks.batch", "ticks": tick})
        order = None
        deadline = time.monotonic() + 10
        while order is None and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
            order = await asyncio.to_thread(exit_order, strategy)
        if order is None:
            lost += 1
            continue
        if number >= WARMUP_PER_SYMBOL * len(SYMBOLS):
            measured.append((strategy, sent_at, order))
            total.append((order.placed_at.timestamp() - sent_at) * 1000)
            queueing.append((order.requested_at.timestamp() - sent_at) * 1000)
            in_worker.append((order.placed_at - order.requested_at).total_seconds() * 1000)
        await asyncio.sleep(0.05 + random.uniform(0, 0.05))
    seq_end, at_end = await asyncio.to_thread(processed_frame), time.perf_counter()
    cpu_end = cpu_seconds()
    stop.set()
    await sender
    backlog = sent["frames"] - 1 - seq_end
    rate = (seq_end - seq_start) * FRAME / (at_end - at_start)

    def line(name: str, values: list[float]) -> str:
        values = sorted(values)
        p99 = values[max(0, int(len(values) * 0.99) - 1)]
        return f"  {name}: p50 {statistics.median(values):.1f} ms, p99 {p99:.1f} ms, max {values[-1]:.1f} ms"

    print(
        f"background: {FRAME} ticks x {FRAMES_PER_SECOND}/s offered; tick worker achieved {rate:,.0f} ticks/s "
        f"over {at_end - at_start:.0f} s, backlog at the end {backlog} frames, {sent['full']} sends refused (full)"
    )
    seconds = at_end - at_start
    print(
        "CPU over the window (% of one core): "
        + ", ".join(f"{name} {100 * (cpu_end[name] - cpu_start[name]) / seconds:.0f}%" for name in cpu_start)
    )
    print(f"exits measured: {len(total)} (after {WARMUP_PER_SYMBOL * len(SYMBOLS)} warm-up), lost: {lost}")
    print(line("tick sent -> exit acknowledged by the broker (placed_at)", total))
    claimed_at = hits_logged()
    to_claim = [(claimed_at[str(s.pk)] - sent) * 1000 for s, sent, _ in measured if str(s.pk) in claimed_at]
    to_task = [
        (o.requested_at.timestamp() - claimed_at[str(s.pk)]) * 1000 for s, _, o in measured if str(s.pk) in claimed_at
    ]
    print(line("  of which tick sent -> exit task started (requested_at)", queueing))
    print(line("    tick sent -> claimed by the tick worker (its 'stop-loss hit' log line, ms clock)", to_claim))
    print(line("    claimed -> exit task started in the stop-loss worker", to_task))
    print(line("  of which exit task -> broker ack (cancel stop, place SELL)", in_worker))


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    call_command("migrate", verbosity=0)
    reset()
    processes = start_processes()
    try:
        by_symbol = open_positions(count)
        asyncio.run(run(by_symbol))
    finally:
        stop_processes(processes)
    print(f"load average after: {open('/proc/loadavg').read().split()[:3]}; logs in {LOGS}")


if __name__ == "__main__":
    main()
