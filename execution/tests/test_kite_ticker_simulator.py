"""The Kite ticker simulator, proved with the unmodified kiteconnect.KiteTicker.

KiteTicker runs Twisted's reactor, which cannot be restarted within a process, so each test runs
it in a subprocess: a small script that subscribes and prints every callback as a JSON line.
"""

import json
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from brokers.simulators.kite_ticker import DEFAULT_ACCESS_TOKEN, DEFAULT_API_KEY, KiteTickerSimulator

INFY, RELIANCE, TCS = 408065, 738561, 2953217

CLIENT_SCRIPT = """
import json, sys
from kiteconnect import KiteTicker

url, api_key, access_token, groups = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
kws = KiteTicker(api_key, access_token, root=url, reconnect_max_delay=5, reconnect_max_tries=3)
first = [True]

def emit(event, **data):
    print(json.dumps({"event": event, **data}, default=str), flush=True)

def on_open(ws):
    emit("open", first=first[0])
    if first[0]:  # later connections are resubscribed by KiteTicker itself
        for mode, tokens in groups.items():
            ws.subscribe(tokens)
            ws.set_mode(mode, tokens)
    first[0] = False

def on_message(ws, payload, is_binary):
    if is_binary and len(payload) == 1:
        emit("heartbeat")

def on_error(ws, code, reason):
    emit("error", code=code, reason=str(reason))
    if "403" in str(reason):
        ws.stop_retry()
        ws.stop()

kws.on_open = on_open
kws.on_message = on_message
kws.on_error = on_error
kws.on_ticks = lambda ws, ticks: emit("ticks", ticks=ticks)
kws.on_order_update = lambda ws, data: emit("order", data=data)
kws.on_reconnect = lambda ws, attempt: emit("reconnect", attempt=attempt)
kws.connect()
"""


class TickerClient:
    """KiteTicker in a subprocess; `wait()` returns the next event of a kind, skipping others."""

    def __init__(self, script: Path, url: str, groups: dict[str, list[int]], access_token: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(script), url, DEFAULT_API_KEY, access_token, json.dumps(groups)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.events.put(json.loads(line))

    def wait(
        self, event: str, predicate: Callable[[dict[str, Any]], bool] = lambda e: True, timeout: float = 10
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                item = self.events.get(timeout=left)
            except queue.Empty:
                break
            if item["event"] == event and predicate(item):
                return item
        raise AssertionError(f"no {event} event from KiteTicker within {timeout}s")

    def close(self) -> None:
        self.process.kill()
        self.process.wait()


@pytest.fixture
def simulator() -> Iterator[KiteTickerSimulator]:
    with KiteTickerSimulator() as simulator:
        yield simulator


@pytest.fixture
def ticker(tmp_path: Path, simulator: KiteTickerSimulator) -> Iterator[Callable[..., TickerClient]]:
    script = tmp_path / "ticker_client.py"
    script.write_text(CLIENT_SCRIPT)
    clients: list[TickerClient] = []

    def start(groups: dict[str, list[int]], access_token: str = DEFAULT_ACCESS_TOKEN) -> TickerClient:
        clients.append(TickerClient(script, simulator.url, groups, access_token))
        return clients[-1]

    yield start
    for client in clients:
        client.close()


def by_token(event: dict[str, Any]) -> dict[int, dict[str, Any]]:
    return {tick["instrument_token"]: tick for tick in event["ticks"]}


def test_it_streams_ltp_quote_and_full_packets_that_kiteticker_decodes(simulator, ticker):
    client = ticker({"ltp": [INFY], "quote": [RELIANCE], "full": [TCS]})
    assert simulator.wait_for(lambda: simulator.subscriptions() == {INFY: "ltp", RELIANCE: "quote", TCS: "full"})

    simulator.publish_many({INFY: "1588.70", RELIANCE: "1542.35", TCS: "3300.00"})
    simulator.publish_many({INFY: "1588.75", RELIANCE: "1542.40"}, quantity=4)
    simulator.publish(TCS, "3318.45", close=Decimal("3250.00"))

    client.wait("ticks")  # the first frame
    ticks = by_token(client.wait("ticks")) | by_token(client.wait("ticks"))
    assert ticks[INFY] == {"tradable": True, "mode": "ltp", "instrument_token": INFY, "last_price": 1588.75}
    quote = ticks[RELIANCE]
    assert quote["mode"] == "quote"
    assert quote["last_price"] == 1542.4
    assert quote["last_traded_quantity"] == 4
    assert quote["volume_traded"] == 5
    assert quote["ohlc"] == {"open": 1542.35, "high": 1542.4, "low": 1542.35, "close": 1542.35}
    full = ticks[TCS]
    assert full["mode"] == "full"
    assert full["last_price"] == 3318.45
    assert full["ohlc"] == {"open": 3300.0, "high": 3318.45, "low": 3300.0, "close": 3250.0}
    assert full["change"] == pytest.approx((3318.45 - 3250) * 100 / 3250)
    assert full["depth"]["buy"][0] == {"quantity": 100, "price": 3318.4, "orders": 1}
    assert full["depth"]["sell"][4] == {"quantity": 500, "price": 3318.7, "orders": 5}
    assert full["exchange_timestamp"] is not None


def test_it_sends_only_the_tokens_a_connection_subscribed(simulator, ticker):
    client = ticker({"ltp": [INFY]})
    assert simulator.wait_for(lambda: simulator.subscriptions() == {INFY: "ltp"})

    assert simulator.publish(TCS, "3318.40") == 0
    assert simulator.publish_many({TCS: "3318.45", INFY: "1588.70"}) == 1
    assert [tick["instrument_token"] for tick in client.wait("ticks")["ticks"]] == [INFY]


def test_it_sends_a_one_byte_heartbeat_every_second_when_idle(simulator, ticker):
    client = ticker({"ltp": [INFY]})
    client.wait("open")

    started = time.monotonic()
    client.wait("heartbeat", timeout=3)
    client.wait("heartbeat", timeout=3)
    assert 0.5 < time.monotonic() - started < 3.5


def test_it_sends_order_updates_as_text_messages(simulator, ticker):
    client = ticker({"ltp": [INFY]})
    assert simulator.wait_for(lambda: simulator.open_connections == 1)

    update = {"order_id": "261121000000042", "status": "COMPLETE", "tradingsymbol": "INFY", "average_price": 1588.7}
    assert simulator.send_order_update(update) == 1
    assert simulator.send_order_update(update, api_key="someone-else") == 0

    assert client.wait("order")["data"] == update


def test_it_refuses_a_bad_access_token_with_403(simulator, ticker):
    client = ticker({"ltp": [INFY]}, access_token="stolen")

    error = client.wait("error")
    assert "403" in error["reason"]
    assert client.process.wait(timeout=10) == 0  # the script stops retrying on 403
    assert simulator.refused == 1
    assert simulator.connections_accepted == 0


def test_it_lets_kiteticker_reconnect_and_resubscribe_after_dropped_connections(simulator, ticker):
    client = ticker({"ltp": [INFY], "full": [TCS]})
    assert simulator.wait_for(lambda: simulator.subscriptions() == {INFY: "ltp", TCS: "full"})

    assert simulator.drop_connections() == 1
    client.wait("error", lambda e: e["code"] == 1006)
    assert client.wait("open")["first"] is False
    # KiteTicker resubscribed each mode group by itself on the new connection.
    assert simulator.wait_for(lambda: simulator.connections_accepted == 2 and simulator.open_connections == 1)
    assert simulator.wait_for(lambda: simulator.subscriptions() == {INFY: "ltp", TCS: "full"})
    resubscribed = [(r.action, r.value) for r in simulator.received if r.client == 2]
    assert ("mode", ["ltp", [INFY]]) in resubscribed
    assert ("mode", ["full", [TCS]]) in resubscribed

    simulator.publish(TCS, "3318.40")
    assert by_token(client.wait("ticks"))[TCS]["mode"] == "full"
