"""Status API latency: `GET /api/v1/strategy/status/{id}` at a fixed rate through the real web server.

Starts uvicorn exactly as `make run` does (`uvicorn algotrader.asgi:application --host
127.0.0.1 --port P --no-access-log --proxy-headers`; uvicorn reads WEB_CONCURRENCY itself, and
`make run` sets it to 2) on its own database
`bench_status_api` (created and migrated here, emptied each run): USERS users with 5 running
strategies each on 5 symbols, each with today's run `bought` (entry price set), the Redis
runtime written and a last price per symbol, so every request goes the whole way (JWT user,
strategy, latest run, last price, last action, next triggers).

The load is open-loop: request i is due at start + i / RATE whatever happened before, for a
random (user, strategy) with that user's JWT, on a pool of keep-alive HTTP/1.1 connections
(a new connection is opened when none is free), written as a bare asyncio protocol so that
the generator, which shares the cores with the server, costs little. Latency is from the
instant a request was due to its last response byte, so a slow server cannot hide its queue
(no coordinated omission). The first two seconds of load warm the workers and are not
counted. Prints p50/p99/max, achieved rate, errors, and the CPU of the
server's processes and of the generator.

    .venv/bin/python -m algotrader.devstack exec -- .venv/bin/python bench/status_api.py [RATE] [SECONDS] [USERS]
"""

import asyncio
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import time
import uuid
from datetime import datetime
from datetime import time as dtime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import psutil
import uvloop

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.harness import paper_traders, use_bench_database  # noqa: E402

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "algotrader.settings")
DATABASE = "bench_status_api"
IST = ZoneInfo("Asia/Kolkata")


use_bench_database(DATABASE)

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from rest_framework_simplejwt.tokens import AccessToken  # noqa: E402

from algotrader.redis import redis_client  # noqa: E402
from brokers.instruments import shipped_instruments  # noqa: E402
from execution import runtime  # noqa: E402
from strategies.models import Strategy, StrategyRun  # noqa: E402

SYMBOLS = ["RELIANCE", "TCS", "INFY", "HDFCBANK", "ICICIBANK"]


def populate(users: int) -> list[tuple[str, str]]:
    """(JWT, strategy id) pairs: `users` users with one strategy per symbol each."""
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE accounts_user CASCADE")
    traders = paper_traders(f"status-{uuid.uuid4().hex[:6]}", users)
    strategies = Strategy.objects.bulk_create(
        Strategy(
            user=user,
            broker_account=account,
            symbol=symbol,
            buy_time=dtime(9, 15),
            sell_time=dtime(15, 15),
            stop_loss=shipped_instruments()[symbol].reference_price * Decimal("0.9"),
            quantity=1,
            status=Strategy.Status.RUNNING,
        )
        for user, account in traders
        for symbol in SYMBOLS
    )
    today = datetime.now(IST).date()
    StrategyRun.objects.bulk_create(
        StrategyRun(
            strategy=strategy,
            session_date=today,
            position=StrategyRun.Position.BOUGHT,
            entry_price=shipped_instruments()[strategy.symbol].reference_price,
            entry_order_id="BENCH",
        )
        for strategy in strategies
    )
    client = redis_client()
    for strategy in strategies:
        runtime.activate(strategy, strategy.latest_run())
        client.hset(runtime.runtime_key(strategy.pk), "last_action", "BUY")
    for symbol in SYMBOLS:
        client.set(runtime.price_key(symbol), str(shipped_instruments()[symbol].reference_price))
    tokens = {user.pk: str(AccessToken.for_user(user)) for user, _account in traders}
    return [(tokens[strategy.user_id], str(strategy.pk)) for strategy in strategies]


def start_server() -> tuple[subprocess.Popen, int]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [
        str(Path(sys.executable).parent / "uvicorn"),
        "algotrader.asgi:application",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--no-access-log",
        "--proxy-headers",
    ]
    log = open(f"/tmp/bench_status_api_{os.getpid()}.log", "w")
    server = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=log, start_new_session=True)
    for _ in range(200):
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return server, port
        time.sleep(0.1)
    raise SystemExit("uvicorn did not start")


class HttpConnection(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection, one request at a time.

    A protocol on the raw transport rather than an HTTP client library: the load generator
    shares the two cores with the server, so every microsecond it spends is taken from the
    server and shows up as latency. It reads only the status and the body's framing
    (Content-Length or chunked)."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future[int] | None = None
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError("closed by the server"))

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if self.waiter is None or self.waiter.done():
            return
        try:
            status = self._complete_response()
        except ValueError as error:
            self.waiter.set_exception(error)
            return
        if status is not None:
            self.waiter.set_result(status)

    def _complete_response(self) -> int | None:
        """The status of the buffered response once it is whole (and drops it), else None."""
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return None
        status_line, *lines = bytes(self.buffer[:end]).decode("latin-1").split("\r\n")
        status = int(status_line.split(" ", 2)[1])
        headers = {name.strip().lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)}
        position = end + 4
        if "content-length" in headers:
            position += int(headers["content-length"])
            if len(self.buffer) < position:
                return None
        elif headers.get("transfer-encoding") == "chunked":
            while True:
                line_end = self.buffer.find(b"\r\n", position)
                if line_end < 0:
                    return None
                size = int(bytes(self.buffer[position:line_end]).split(b";")[0], 16)
                position = line_end + 2 + size + 2
                if len(self.buffer) < position:
                    return None
                if size == 0:
                    break
        else:
            raise ValueError(f"a response without Content-Length or chunked body: {status_line}")
        del self.buffer[:position]
        return status

    async def send(self, request: bytes) -> int:
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        return await self.waiter


def request_bytes(token: str, strategy_id: str) -> bytes:
    return (
        f"GET /api/v1/strategy/status/{strategy_id} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {token}\r\nAccept: application/json\r\n\r\n"
    ).encode()


async def load(port: int, targets: list[tuple[str, str]], rate: float, seconds: float) -> dict:
    loop = asyncio.get_running_loop()
    requests = [request_bytes(token, strategy_id) for token, strategy_id in targets]
    idle: list[HttpConnection] = []
    latencies: list[float] = []
    errors: dict[str, int] = {}
    opened = 0

    async def one(due: float, request: bytes) -> None:
        nonlocal opened
        try:
            # The server closes a connection idle past its keep-alive timeout: skip those.
            while idle and idle[-1].closed:
                idle.pop()
            if idle:
                conn = idle.pop()
            else:
                opened += 1
                _, conn = await loop.create_connection(HttpConnection, "127.0.0.1", port)
            status = await conn.send(request)
            latencies.append((time.perf_counter() - due) * 1000)
            if status != 200:
                errors[str(status)] = errors.get(str(status), 0) + 1
            idle.append(conn)
        except Exception as error:
            errors[type(error).__name__] = errors.get(type(error).__name__, 0) + 1

    # Warm-up: a few requests so that the first measured ones do not pay for imports.
    for request in requests[:20]:
        await one(time.perf_counter(), request)
    latencies.clear()
    errors.clear()
    total = int(rate * seconds)
    tasks = []
    cpu_before = time.process_time()
    start = time.perf_counter() + 0.1
    for i in range(total):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        # Sent late when the loop itself was late; the latency still counts from `due`.
        tasks.append(asyncio.create_task(one(due, random.choice(requests))))
    await asyncio.wait(tasks, timeout=30)
    elapsed = time.perf_counter() - start
    return {
        "latencies": latencies,
        "errors": errors,
        "total": total,
        "elapsed": elapsed,
        "opened": opened,
        "client_cpu": time.process_time() - cpu_before,
    }


def server_cpu_seconds(server: psutil.Process) -> float:
    """User + system CPU of uvicorn and its worker processes (WEB_CONCURRENCY > 1)."""
    total = 0.0
    for process in [server, *server.children(recursive=True)]:
        times = process.cpu_times()
        total += times.user + times.system
    return total


def main() -> None:
    rate = float(sys.argv[1]) if len(sys.argv) > 1 else 200
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 30
    users = int(sys.argv[3]) if len(sys.argv) > 3 else 200
    call_command("migrate", verbosity=0)
    targets = populate(users)
    server, port = start_server()
    try:
        process = psutil.Process(server.pid)
        # Let the workers finish importing, then warm them (first database and Redis
        # connections, lazy imports) with two seconds of the same load, not counted.
        time.sleep(2)
        uvloop.run(load(port, targets, rate, 2))
        before = server_cpu_seconds(process)
        loadavg = open("/proc/loadavg").read().split()[:3]
        result = uvloop.run(load(port, targets, rate, seconds))
        after = server_cpu_seconds(process)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait()
    values = sorted(result["latencies"])
    cpu = (after - before) / result["elapsed"] * 100
    print(
        f"GET /api/v1/strategy/status/{{id}}: {len(values)}/{result['total']} answered at {rate:.0f}/s offered "
        f"({len(values) / result['elapsed']:.0f}/s achieved) over {seconds:.0f} s, {users * len(SYMBOLS)} strategies "
        f"of {users} users, {result['opened']} connections"
    )
    print(
        f"  p50 {statistics.median(values):.1f} ms, p99 {values[int(len(values) * 0.99) - 1]:.1f} ms, "
        f"max {values[-1]:.1f} ms; errors: {result['errors'] or 'none'}"
    )
    print(
        f"  CPU: uvicorn {cpu:.0f}% of one core ({(after - before) / max(len(values), 1) * 1000:.2f} ms a request), "
        f"load generator {result['client_cpu'] / result['elapsed'] * 100:.0f}%"
    )
    print(f"  load average at start: {loadavg}, after: {open('/proc/loadavg').read().split()[:3]}")


if __name__ == "__main__":
    main()
