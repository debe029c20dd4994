"""`manage.py run_feed` as a real process: the simulated paper market, and KiteTicker against the
Kite ticker simulator. Ticks are read from the Channels channel `ticks`, as the tick worker reads them."""

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from algotrader.redis import redis_client
from brokers.adapters.base import Credentials, OrderRequest, OrderState, OrderType, Side
from brokers.adapters.paper import PaperBroker, market_price
from brokers.simulators.kite_ticker import DEFAULT_ACCESS_TOKEN, DEFAULT_API_KEY, KiteTickerSimulator
from conftest import ROOT, stop_process, test_database_url
from execution.feed import HEALTH_KEY, TICKS_CHANNEL, last_tick_key
from execution.runtime import ACTIVE_SYMBOLS, symbol_key

INFY_TOKEN = 408065
TICK = Decimal("0.05")


@pytest.fixture
def run_feed(django_db_setup, tmp_path: Path) -> Iterator[Callable[..., subprocess.Popen]]:
    """Starts `manage.py run_feed` on the test database; its log goes to a file shown on failure."""
    processes: list[subprocess.Popen] = []

    def start(*args: str, **env: str) -> subprocess.Popen:
        log = (tmp_path / f"feed-{len(processes)}.log").open("w")
        process = subprocess.Popen(
            [sys.executable, "manage.py", "run_feed", *args],
            cwd=ROOT,
            env={**os.environ, "DATABASE_URL": test_database_url(), **env},
            start_new_session=True,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        process.log_path = log.name  # type: ignore[attr-defined]
        processes.append(process)
        return process

    yield start
    for process in processes:
        stop_process(process)


def log_of(process: subprocess.Popen) -> str:
    return Path(process.log_path).read_text()  # type: ignore[attr-defined]


def add_running_strategy(symbol: str, strategy_id: str) -> None:
    """The feed's part of what `runtime.activate` writes when a strategy starts."""
    pipe = redis_client().pipeline()
    pipe.sadd(symbol_key(symbol), strategy_id)
    pipe.sadd(ACTIVE_SYMBOLS, symbol)
    pipe.execute()


def remove_running_strategy(symbol: str, strategy_id: str) -> None:
    """The feed's part of what `runtime.deactivate` writes when a strategy stops."""
    redis_client().srem(symbol_key(symbol), strategy_id)


def receive(timeout: float = 5) -> dict[str, Any]:
    async def next_message() -> dict[str, Any]:
        return await asyncio.wait_for(get_channel_layer().receive(TICKS_CHANNEL), timeout)

    return async_to_sync(next_message)()


def receive_until(condition: Callable[[dict[str, Any]], bool], timeout: float = 5) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = receive(timeout=deadline - time.monotonic())
        if condition(message):
            return message
    raise AssertionError(f"no matching tick batch within {timeout}s")


def symbols_in(message: dict[str, Any]) -> set[str]:
    return {symbol for symbol, _, _ in message["ticks"]}


def wait_until(condition: Callable[[], Any], timeout: float = 5) -> Any:
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)
    return result


def test_it_walks_the_prices_of_running_strategies_only_in_tick_size_steps(run_feed):
    client = redis_client()
    add_running_strategy("INFY", "strategy-1")
    client.sadd(ACTIVE_SYMBOLS, "TCS")  # its last strategy stopped: the feed prunes it
    start = market_price("INFY")
    feed = run_feed()

    batches = [receive(timeout=10) for _ in range(8)]

    prices = [start]
    for batch in batches:
        assert batch["type"] == "ticks.batch"
        ((symbol, price, at_ms),) = batch["ticks"]
        assert symbol == "INFY"
        assert abs(at_ms - time.time() * 1000) < 5000
        prices.append(Decimal(price))
    assert all(price % TICK == 0 for price in prices)
    assert len(set(prices)) > 1
    assert Decimal(client.get("price:INFY")) % TICK == 0
    assert int(client.get(last_tick_key("INFY"))) >= batches[-1]["ticks"][0][2]
    assert client.smembers(ACTIVE_SYMBOLS) == {"INFY"}
    assert client.hgetall(HEALTH_KEY)["status"] == "ok"

    os.killpg(feed.pid, signal.SIGTERM)
    assert feed.wait(timeout=5) == 0, log_of(feed)
    assert "feed stopped" in log_of(feed)


def test_it_follows_strategy_starts_and_stops_within_a_second(run_feed):
    add_running_strategy("INFY", "strategy-1")
    run_feed()
    receive(timeout=10)

    started = time.monotonic()
    add_running_strategy("TCS", "strategy-2")
    receive_until(lambda m: symbols_in(m) == {"INFY", "TCS"})
    assert time.monotonic() - started < 1.5

    stopped = time.monotonic()
    remove_running_strategy("INFY", "strategy-1")
    receive_until(lambda m: symbols_in(m) == {"TCS"})
    assert time.monotonic() - stopped < 1.5


def test_it_fills_resting_paper_orders_as_the_market_walks(run_feed):
    broker = PaperBroker(Credentials(client_id="PAPER-a11ce000"))
    price = market_price("INFY")
    # Whichever way the walk goes first, one of these two limit orders fills.
    below = broker.place_order(
        OrderRequest("INFY", Side.BUY, 1, OrderType.LIMIT, tag="below", price=price - TICK, product="MIS")
    )
    above = broker.place_order(
        OrderRequest("INFY", Side.SELL, 1, OrderType.LIMIT, tag="above", price=price + TICK, product="MIS")
    )
    add_running_strategy("INFY", "strategy-1")
    run_feed()

    wait_until(
        lambda: OrderState.COMPLETE in {broker.order_status(below).state, broker.order_status(above).state}, timeout=10
    )


def test_it_reports_a_symbol_without_ticks_as_stale(run_feed):
    add_running_strategy("INFY", "strategy-1")
    add_running_strategy("NOSUCH", "strategy-2")  # no price, so no tick
    feed = run_feed("--stale-seconds", "1")
    client = redis_client()

    health = wait_until(lambda: (h := client.hgetall(HEALTH_KEY)) and h["status"] == "degraded" and h, timeout=10)
    assert health["stale"] == "NOSUCH"
    assert health["source"] == "paper"
    assert health["subscribed"] == "2"

    remove_running_strategy("NOSUCH", "strategy-2")
    wait_until(lambda: client.hgetall(HEALTH_KEY).get("status") == "ok")
    assert "feed degraded: no tick for 1.0s on NOSUCH" in log_of(feed)


@pytest.fixture
def kite_ticker() -> Iterator[KiteTickerSimulator]:
    with KiteTickerSimulator() as simulator:
        yield simulator


def zerodha_env(simulator: KiteTickerSimulator, access_token: str = DEFAULT_ACCESS_TOKEN) -> dict[str, str]:
    return {
        "MARKET_DATA_SOURCE": "zerodha",
        "MARKET_DATA_API_KEY": DEFAULT_API_KEY,
        "MARKET_DATA_ACCESS_TOKEN": access_token,
        "KITE_TICKER_URL": simulator.url,
    }


def test_it_streams_kite_ticks_and_resubscribes_after_a_reconnect(run_feed, kite_ticker):
    add_running_strategy("INFY", "strategy-1")
    feed = run_feed(**zerodha_env(kite_ticker))
    assert kite_ticker.wait_for(lambda: kite_ticker.subscriptions() == {INFY_TOKEN: "ltp"}, timeout=10), log_of(feed)

    kite_ticker.publish(INFY_TOKEN, "1590.25")
    message = receive()
    assert [(symbol, price) for symbol, price, _ in message["ticks"]] == [("INFY", "1590.25")]
    assert redis_client().get("price:INFY") == "1590.25"

    kite_ticker.drop_connections()
    assert kite_ticker.wait_for(
        lambda: kite_ticker.connections_accepted == 2 and kite_ticker.subscriptions() == {INFY_TOKEN: "ltp"},
        timeout=10,
    )
    kite_ticker.publish(INFY_TOKEN, "1590.30")
    assert receive()["ticks"][0][:2] == ["INFY", "1590.30"]

    remove_running_strategy("INFY", "strategy-1")
    assert kite_ticker.wait_for(lambda: kite_ticker.subscriptions() == {})

    os.killpg(feed.pid, signal.SIGTERM)
    assert feed.wait(timeout=5) == 0, log_of(feed)


def test_it_resubscribes_a_stale_kite_symbol(run_feed, kite_ticker):
    add_running_strategy("INFY", "strategy-1")
    run_feed("--stale-seconds", "1", **zerodha_env(kite_ticker))

    def renewals() -> int:
        return sum(1 for r in kite_ticker.received if r.action == "unsubscribe" and r.value == [INFY_TOKEN])

    assert kite_ticker.wait_for(lambda: renewals() >= 1, timeout=10)
    assert kite_ticker.wait_for(lambda: kite_ticker.subscriptions() == {INFY_TOKEN: "ltp"})
    assert redis_client().hgetall(HEALTH_KEY)["stale"] == "INFY"


def test_it_exits_with_an_error_when_kite_refuses_the_token(run_feed, kite_ticker):
    feed = run_feed(**zerodha_env(kite_ticker, access_token="expired"))

    assert feed.wait(timeout=15) == 1
    assert "Kite refused the market-data credentials (403)" in log_of(feed)
    assert kite_ticker.refused == 1


def test_a_stale_kite_symbol_is_priced_over_rest_and_its_users_are_told(run_feed):
    from brokers.simulators.base import SimulatorServer
    from brokers.simulators.kite import KiteSimulator
    from execution import runtime

    kite_simulator = KiteSimulator()
    token = kite_simulator.login()
    kite_simulator.set_price("INFY", "1480.00")
    user_id = "7d9cbe0c-0000-4000-8000-000000000001"
    redis_client().hset(runtime.strategy_key("strategy-1"), mapping={"user_id": user_id, "symbol": "INFY"})
    add_running_strategy("INFY", "strategy-1")
    layer = get_channel_layer()
    inbox = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(f"user.{user_id}", inbox)
    ticker = KiteTickerSimulator({DEFAULT_API_KEY: token})
    with ticker, SimulatorServer(kite_simulator) as rest:
        run_feed(
            "--stale-seconds",
            "1",
            **{**zerodha_env(ticker, access_token=token), "KITE_API_ROOT": rest.url},
        )
        # The ticker stays silent: after a second the symbol is stale and priced over REST.
        message = receive_until(lambda m: "INFY" in symbols_in(m), timeout=10)

        told = async_to_sync(asyncio.wait_for)(layer.receive(inbox), 5)

    assert [(symbol, Decimal(price)) for symbol, price, _ in message["ticks"]] == [("INFY", Decimal("1480"))]
    assert Decimal(redis_client().get("price:INFY")) == Decimal("1480")
    assert redis_client().hgetall(HEALTH_KEY)["status"] == "degraded"  # REST prices are not ticks
    assert told["event"] == {"type": "feed.health", "status": "degraded", "symbols": ["INFY"]}
