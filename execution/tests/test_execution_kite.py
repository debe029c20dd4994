"""The order path against Zerodha: the unmodified kiteconnect SDK talking to the Kite simulator,
with its faults, its 429s and its token expiry."""

import threading
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.db import connection
from django_celery_beat.models import PeriodicTask

from brokers.adapters.zerodha import ZerodhaBroker
from brokers.models import BrokerAccount
from brokers.simulators.base import Fault, SimulatorServer
from brokers.simulators.kite import KiteSimulator
from execution import services
from execution.models import Order
from execution.ratelimit import WINDOW_MS
from strategies.models import Strategy, StrategyEvent, StrategyRun
from strategies.tests.factories import StrategyFactory

SESSION = date(2026, 11, 23)
PLACE = "/orders/regular"


@pytest.fixture
def kite() -> Iterator[KiteSimulator]:
    """A fresh Kite market and account per test, served on loopback."""
    simulator = KiteSimulator()
    with SimulatorServer(simulator) as server:
        simulator.url = server.url
        yield simulator


@pytest.fixture
def alice_kite(alice, kite, settings) -> BrokerAccount:
    settings.KITE_API_ROOT = kite.url
    settings.ALGO_ID = "ALGO-TEST-1"
    kite.set_price("TCS", "3600")
    return BrokerAccount.objects.create(
        user=alice, broker="zerodha", api_key="kitesimkey", access_token=kite.login(), client_id="ZS0001"
    )


@pytest.fixture
def kite_strategy(alice_kite, instruments) -> Strategy:
    return StrategyFactory(broker_account=alice_kite, status=Strategy.Status.RUNNING)


def buy(strategy: Strategy) -> Order | None:
    return services.execute_trigger(
        strategy_id=strategy.pk, event="BUY", session_date=SESSION, scheduled_at=datetime.now(UTC)
    )


def placements(kite, side: str = "BUY") -> int:
    """Order requests for `side` that reached the simulator, answered or not."""
    return sum(
        1
        for request in kite.requests
        if request.method == "POST" and request.path == PLACE and request.form().get("transaction_type") == [side]
    )


def test_it_stamps_market_protection_and_the_algo_id(kite_strategy, kite):
    entry = buy(kite_strategy)

    placed = kite.order(entry.broker_order_id)
    assert entry.status == "complete"
    assert placed.algo_id == "ALGO-TEST-1"
    assert placed.market_protection == Decimal(-1)


def test_it_places_one_order_after_two_transient_failures(kite_strategy, kite):
    kite.inject(Fault(status=503, path_prefix=PLACE), times=2)

    entry = buy(kite_strategy)

    assert entry.status == "complete"
    assert entry.attempts == 3
    assert placements(kite) == 3
    assert len([o for o in ZerodhaBroker(kite_strategy.broker_account.credentials()).orders_by_tag(entry.tag)]) == 1
    assert StrategyRun.objects.get(strategy=kite_strategy).position == "bought"


def test_it_adopts_the_order_the_broker_took_after_a_timeout(kite_strategy, kite, monkeypatch):
    # The broker answers after the adapter gave up: the order exists although we saw a timeout.
    monkeypatch.setitem(ZerodhaBroker.__init__.__kwdefaults__, "timeout", 0.3)
    kite.inject(Fault(delay=0.6, path_prefix=PLACE))

    entry = buy(kite_strategy)

    assert entry.status == "complete"
    assert entry.attempts == 1
    assert placements(kite) == 1
    assert StrategyRun.objects.get(strategy=kite_strategy).position == "bought"


def test_it_fails_the_strategy_when_the_broker_rejects_after_accepting(kite_strategy, kite):
    kite.reject_next_fill("TCS")

    entry = buy(kite_strategy)

    kite_strategy.refresh_from_db()
    assert entry.status == "rejected"
    assert entry.broker_order_id
    assert "RMS" in entry.error
    assert kite_strategy.status == "failed"
    assert StrategyEvent.objects.filter(strategy=kite_strategy, kind="failed").exists()
    assert placements(kite) == 1


def test_it_marks_the_account_expired_and_holds_its_strategies_on_an_expired_token(kite_strategy, kite):
    kite.expire_tokens()

    entry = buy(kite_strategy)

    kite_strategy.refresh_from_db()
    kite_strategy.broker_account.refresh_from_db()
    assert kite_strategy.broker_account.status == "expired"
    assert entry.status == "failed"
    assert kite_strategy.status == "stopped"
    assert StrategyRun.objects.get(strategy=kite_strategy).position == "none"
    event = StrategyEvent.objects.get(strategy=kite_strategy, kind="stopped")
    assert event.data["reason"] == "broker_session_expired"


@pytest.mark.django_db(transaction=True)
def test_it_paces_eleven_orders_of_one_account_instead_of_hitting_the_429(alice_kite, instruments, kite):
    strategies = [StrategyFactory(broker_account=alice_kite, status=Strategy.Status.RUNNING) for _ in range(11)]
    started = time.monotonic()
    barrier = threading.Barrier(11)

    def trigger(strategy: Strategy) -> None:
        barrier.wait()
        try:
            buy(strategy)
        finally:
            connection.close()

    threads = [threading.Thread(target=trigger, args=(strategy,)) for strategy in strategies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    entries = Order.objects.filter(event="BUY")
    assert entries.count() == 11
    assert set(entries.values_list("status", flat=True)) == {"complete"}
    assert set(entries.values_list("attempts", flat=True)) == {1}, "no order was answered 429 and retried"
    # 11 BUYs and their 11 protective stops: 22 order requests, paced over two windows.
    assert placements(kite, "BUY") == 11
    assert placements(kite, "SELL") == 11
    assert Order.objects.filter(event="PROTECTIVE_STOP", status="placed").count() == 11
    assert time.monotonic() - started >= 2 * WINDOW_MS / 1000, "the 11th and later requests waited"


def test_the_premarket_check_holds_strategies_whose_broker_session_expired(kite_strategy, kite):
    from strategies import schedules

    Strategy.objects.filter(pk=kite_strategy.pk).update(status=Strategy.Status.RUNNING)
    kite_strategy.refresh_from_db()
    schedules.arm(kite_strategy)
    kite.expire_tokens()

    result = services.premarket_check()

    kite_strategy.refresh_from_db()
    kite_strategy.broker_account.refresh_from_db()
    assert result == {"checked": 1, "held": 1}
    assert kite_strategy.broker_account.status == "expired"
    assert kite_strategy.status == "stopped"
    assert not PeriodicTask.objects.filter(name__startswith=f"strategy:{kite_strategy.pk}:").exists()
    assert StrategyEvent.objects.get(strategy=kite_strategy, kind="stopped").data["reason"] == "broker_session_expired"


def test_the_premarket_check_leaves_working_sessions_alone(kite_strategy):
    Strategy.objects.filter(pk=kite_strategy.pk).update(status=Strategy.Status.RUNNING)

    assert services.premarket_check() == {"checked": 1, "held": 0}
    kite_strategy.refresh_from_db()
    assert kite_strategy.status == "running"
