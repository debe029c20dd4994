"""Tick worker throughput: the stop-loss check of `execution.ticks.check_ticks` on real Redis.

10,000 open positions over 500 symbols in the `sl:{symbol}` indexes; frames of 500 ticks (one
per symbol, as a busy KiteTicker frame), prices above every stop so nothing is exited, then a
second run where each frame hits one stop. Prints ticks/s and per-frame latency percentiles.

    .venv/bin/python -m algotrader.devstack exec -- env DJANGO_SETTINGS_MODULE=algotrader.settings \
        .venv/bin/python -c "import django; django.setup(); import runpy; \
        runpy.run_path('bench/ticks.py', run_name='__main__')"
"""

import random
import statistics
import time

from algotrader.redis import redis_client
from execution import runtime
from execution.ticks import check_ticks

SYMBOLS = 500
POSITIONS = 10_000
FRAME = 500
FRAMES = 400


def setup() -> list[str]:
    client = redis_client()
    symbols = [f"BENCH{n:03d}" for n in range(SYMBOLS)]
    pipe = client.pipeline(transaction=False)
    for symbol in symbols:
        pipe.delete(runtime.stop_loss_key(symbol))
    for position in range(POSITIONS):
        symbol = symbols[position % SYMBOLS]
        pipe.zadd(runtime.stop_loss_key(symbol), {f"strategy-{position}": random.uniform(900, 990)})
    pipe.execute()
    return symbols


def measure(symbols: list[str], *, hit_every_frame: bool) -> None:
    timings = []
    started = time.perf_counter()
    for frame_number in range(FRAMES):
        frame = [[symbol, f"{random.uniform(1000, 1100):.2f}", frame_number] for symbol in symbols[:FRAME]]
        if hit_every_frame:
            frame[frame_number % FRAME][1] = "950.00"
        begun = time.perf_counter()
        check_ticks(frame)
        timings.append((time.perf_counter() - begun) * 1000)
    elapsed = time.perf_counter() - started
    timings.sort()
    print(
        f"{'one hit per frame' if hit_every_frame else 'no hits'}: {FRAMES * FRAME / elapsed:,.0f} ticks/s; "
        f"frame of {FRAME}: p50 {statistics.median(timings):.2f} ms, "
        f"p99 {timings[int(len(timings) * 0.99) - 1]:.2f} ms, max {timings[-1]:.2f} ms"
    )


if __name__ == "__main__":
    symbols = setup()
    measure(symbols, hit_every_frame=False)
    measure(symbols, hit_every_frame=True)
    pipe = redis_client().pipeline(transaction=False)
    for symbol in symbols:
        pipe.delete(runtime.stop_loss_key(symbol), runtime.price_key(symbol))
    pipe.execute()
