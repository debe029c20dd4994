"""Live updates to 1,000 WebSocket clients through the real web server (uvicorn).

Starts uvicorn on the platform's environment, connects N clients (one user watching TCS),
then sends 40 updates, 4 a second, stamped with their send time, and reports how long each
took to reach each client (p50/p99/max over every delivery).

- `prices`: the tick worker's path, one PUBLISH fanned out inside the web process.
- `group`: a Channels group_send to the user's group (the path of strategy and order events).

    .venv/bin/python -m algotrader.devstack exec -- .venv/bin/python bench/fanout.py prices 1000
    CHANNEL_LAYER=pubsub .venv/bin/python -m algotrader.devstack exec -- .venv/bin/python bench/fanout.py group 1000
"""

import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "algotrader.settings")

import django  # noqa: E402

django.setup()

from asgiref.sync import async_to_sync  # noqa: E402
from channels.layers import get_channel_layer  # noqa: E402
from django.core.management import call_command  # noqa: E402
from rest_framework_simplejwt.tokens import AccessToken  # noqa: E402
from websockets.asyncio.client import connect  # noqa: E402

from accounts.models import User  # noqa: E402
from brokers.models import BrokerAccount  # noqa: E402
from execution.events import user_group  # noqa: E402
from execution.fanout import publish_price  # noqa: E402
from strategies.models import Strategy  # noqa: E402

UVICORN_FLAGS = os.environ.get("UVICORN_FLAGS", "").split()
UPDATES = 40
RATE = 4


def bench_user() -> User:
    call_command("migrate", verbosity=0)
    user, _ = User.objects.get_or_create(email="fanout-bench@algotrader.local")
    account, _ = BrokerAccount.objects.get_or_create(user=user, broker="paper", defaults={"client_id": "PAPER-BENCH"})
    Strategy.objects.get_or_create(
        user=user,
        symbol="TCS",
        defaults={
            "broker_account": account,
            "buy_time": "09:30",
            "sell_time": "15:15",
            "stop_loss": "100.00",
            "quantity": 1,
            "status": "running",
        },
    )
    return user


def start_server() -> tuple[subprocess.Popen, int]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "algotrader.asgi:application",
            "--port",
            str(port),
            "--no-access-log",
            *UVICORN_FLAGS,
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(100):
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return server, port
        time.sleep(0.1)
    raise SystemExit("uvicorn did not start")


async def run(mode: str, clients: int, token: str, user_id: object, port: int) -> list[float]:
    arrivals: list[tuple[float, str]] = []

    async def client() -> None:
        # Arrival times only; decoding waits until the end, so the clients' own JSON work does
        # not queue up behind the deliveries it measures.
        async with connect(
            f"ws://127.0.0.1:{port}/ws/status/?token={token}", max_queue=None, compression=None
        ) as socket_:
            ready.release()
            async for text in socket_:
                arrivals.append((time.time() * 1000, text))
                if len(arrivals) >= clients * UPDATES:
                    return

    ready = asyncio.Semaphore(0)
    tasks = []
    for _ in range(clients):
        tasks.append(asyncio.create_task(client()))
        if len(tasks) % 100 == 0:
            await asyncio.sleep(0.05)  # a newcomer's burst, not a SYN flood
    for _ in range(clients):
        await asyncio.wait_for(ready.acquire(), 60)
    await asyncio.sleep(1)
    layer = get_channel_layer()
    for _ in range(UPDATES):
        stamp = time.time() * 1000
        if mode == "prices":
            await asyncio.to_thread(publish_price, "TCS", "3500.00", stamp)
        else:
            event = {"type": "feed.health", "status": "ok", "symbols": [], "ts": stamp}
            await layer.group_send(user_group(user_id), {"type": "push", "event": event})
        await asyncio.sleep(1 / RATE)
    await asyncio.wait(tasks, timeout=10)
    for task in tasks:
        task.cancel()
    return [arrived - json.loads(text)["ts"] for arrived, text in arrivals]


def main() -> None:
    mode, clients = sys.argv[1], int(sys.argv[2])
    user = bench_user()
    token = str(AccessToken.for_user(user))
    server, port = start_server()
    try:
        delays = asyncio.run(run(mode, clients, token, user.pk, port))
    finally:
        server.terminate()
        server.wait()
        async_to_sync(get_channel_layer().flush)() if hasattr(get_channel_layer(), "flush") else None
    delays.sort()
    expected = clients * UPDATES
    print(
        f"{mode} via {os.environ.get('CHANNEL_LAYER', 'redis')} layer, {clients} clients: "
        f"{len(delays)}/{expected} deliveries, p50 {statistics.median(delays):.1f} ms, "
        f"p99 {delays[int(len(delays) * 0.99) - 1]:.1f} ms, max {delays[-1]:.1f} ms"
    )


if __name__ == "__main__":
    main()
