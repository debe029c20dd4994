"""Triggers due at the same instant, run as one batch (`execute_triggers`, `settle_entries`):
each BUY exactly once, whatever is delivered twice or fails beside it."""

import threading
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from algotrader.celery import app
from brokers.adapters.paper import PaperBroker, set_price
from brokers.adapters.zerodha import ZerodhaBroker
from brokers.models import BrokerAccount
from brokers.simulators.base import Fault, SimulatorServer
from brokers.simulators.kite import KiteSimulator
from conftest import make_user
from execution import services
from execution.locks import strategy_lock
from execution.models import Order
from execution.ratelimit import WINDOW_MS
from execution.tasks import execute_triggers_task
from strategies.models import Strategy, StrategyEvent, StrategyRun
from strategies.schedules import Trigger
from strategies.tests.factories import StrategyFactory

SESSION = date(2026, 11, 23)
pytestmark = pytest.mark.django_db(transaction=True)  # the batch places on threads of its own


@pytest.fixture
def traders(instruments) -> list[Strategy]:
    """Five traders, each with a paper account and a running strategy on TCS."""
    set_price("TCS", Decimal("3600.00"))
    strategies = []
    for n in range(5):
        user = make_user(f"trader{n}@example.com")
        account = BrokerAccount.objects.create(user=user, broker="paper", client_id=f"PAPER-{n}", status="connected")
        strategies.append(StrategyFactory(broker_account=account, status=Strategy.Status.RUNNING))
    return strategies


def trigger(strategy: Strategy, event: str = "BUY", scheduled: datetime | None = None) -> Trigger:
    scheduled = scheduled or datetime.now(UTC) - timedelta(milliseconds=5)
    return Trigger(str(strategy.pk), event, SESSION.isoformat(), scheduled.isoformat())


def run_batch(triggers: list[Trigger]) -> list[str]:
    placed = services.execute_triggers(triggers=triggers)
    services.settle_entries(order_ids=placed)
    return placed


def at_broker(strategy: Strategy, event: str = "BUY") -> list:
    """The broker's orders carrying the tag of the strategy's `event` order."""
    order = Order.objects.get(strategy=strategy, event=event)
    return PaperBroker(strategy.broker_account.credentials()).orders_by_tag(order.tag)


def test_it_places_every_buy_of_the_batch_once(traders):
    scheduled = datetime.now(UTC) - timedelta(milliseconds=5)

    placed = run_batch([trigger(strategy, scheduled=scheduled) for strategy in traders])

    assert len(placed) == len(traders)
    assert Order.objects.filter(event="BUY").count() == len(traders)
    for strategy in traders:
        entry = Order.objects.get(strategy=strategy, event="BUY")
        assert entry.status == "complete"
        assert entry.requested_at == scheduled
        assert entry.placed_at is not None
        assert entry.latency_ms >= 5
        assert entry.attempts == 1
        assert len(at_broker(strategy)) == 1
        run = StrategyRun.objects.get(strategy=strategy, session_date=SESSION)
        assert run.position == "bought"
        assert run.entry_price == Decimal("3600.00")
        # What follows the fill happened too: the protective stop rests at the broker.
        stop = Order.objects.get(run=run, event="PROTECTIVE_STOP")
        assert stop.status == "placed"
        assert len(at_broker(strategy, "PROTECTIVE_STOP")) == 1
        assert StrategyEvent.objects.filter(strategy=strategy, kind=StrategyEvent.Kind.BUY).count() == 1


def test_it_places_nothing_more_when_the_same_batch_comes_twice(traders):
    batch = [trigger(strategy) for strategy in traders]
    run_batch(batch)

    again = run_batch(batch)

    assert again == []
    assert Order.objects.filter(event="BUY").count() == len(traders)
    assert Order.objects.filter(event="PROTECTIVE_STOP").count() == len(traders)
    for strategy in traders:
        assert len(at_broker(strategy)) == 1
        assert len(at_broker(strategy, "PROTECTIVE_STOP")) == 1


def test_it_adopts_the_placed_buys_when_the_batch_comes_again_before_they_were_settled(traders):
    batch = [trigger(strategy) for strategy in traders]
    placed = services.execute_triggers(triggers=batch)
    assert set(StrategyRun.objects.values_list("position", flat=True)) == {"buy_pending"}

    # A worker died after the BUYs were acknowledged: the message is delivered again.
    assert services.execute_triggers(triggers=batch) == []
    services.settle_entries(order_ids=placed)

    assert Order.objects.filter(event="BUY").count() == len(traders)
    assert set(StrategyRun.objects.values_list("position", flat=True)) == {"bought"}
    for strategy in traders:
        assert len(at_broker(strategy)) == 1
        assert len(at_broker(strategy, "PROTECTIVE_STOP")) == 1
        assert Order.objects.get(strategy=strategy, event="BUY").attempts == 1


def test_a_strategy_locked_elsewhere_is_placed_once_its_lock_is_free(traders):
    busy, taken, release = traders[0], threading.Event(), threading.Event()

    def hold() -> None:
        with strategy_lock(busy.pk):
            taken.set()
            release.wait(5)

    holder = threading.Thread(target=hold)
    holder.start()
    taken.wait(5)
    threading.Timer(0.3, release.set).start()
    started = time.monotonic()

    run_batch([trigger(strategy) for strategy in traders])

    holder.join()
    assert time.monotonic() - started >= 0.3
    for strategy in traders:
        assert Order.objects.get(strategy=strategy, event="BUY").status == "complete"
        assert len(at_broker(strategy)) == 1
        assert StrategyRun.objects.get(strategy=strategy).position == "bought"


def test_one_rejected_buy_does_not_stop_the_others(traders):
    unknown = traders[0]
    Strategy.objects.filter(pk=unknown.pk).update(symbol="NOSUCHSYMBOL")

    run_batch([trigger(strategy) for strategy in traders])

    rejected = Order.objects.get(strategy=unknown, event="BUY")
    assert rejected.status == "rejected"
    assert "not a known instrument" in rejected.error
    unknown.refresh_from_db()
    assert unknown.status == "failed"
    assert StrategyRun.objects.get(strategy=unknown).position == "none"
    for strategy in traders[1:]:
        assert Order.objects.get(strategy=strategy, event="BUY").status == "complete"
        assert StrategyRun.objects.get(strategy=strategy).position == "bought"


def test_it_runs_a_sell_and_a_buy_of_different_strategies_in_one_batch(traders):
    seller, buyer = traders[0], traders[1]
    services.execute_trigger(strategy_id=seller.pk, event="BUY", session_date=SESSION, scheduled_at=datetime.now(UTC))

    run_batch([trigger(seller, "SELL"), trigger(buyer, "BUY")])

    sold = StrategyRun.objects.get(strategy=seller)
    assert sold.position == "exited"
    assert Order.objects.filter(strategy=seller, event="SELL").count() == 1
    assert Order.objects.get(strategy=seller, event="PROTECTIVE_STOP").status == "cancelled"
    assert StrategyRun.objects.get(strategy=buyer).position == "bought"
    assert Order.objects.filter(strategy=buyer, event="BUY").count() == 1
    assert Order.objects.filter(strategy=buyer, event="SELL").count() == 0


def test_it_leaves_a_strategy_that_is_not_running_alone(traders):
    stopped = traders[0]
    Strategy.objects.filter(pk=stopped.pk).update(status=Strategy.Status.STOPPED)

    placed = run_batch([trigger(strategy) for strategy in traders])

    assert len(placed) == len(traders) - 1
    assert not Order.objects.filter(strategy=stopped).exists()


def test_the_task_settles_what_it_placed(traders):
    app.conf.task_always_eager = True
    try:
        execute_triggers_task.delay([trigger(strategy).args for strategy in traders])
    finally:
        app.conf.task_always_eager = False

    assert set(StrategyRun.objects.values_list("position", flat=True)) == {"bought"}
    assert Order.objects.filter(event="PROTECTIVE_STOP", status="placed").count() == len(traders)


def test_an_account_over_its_rate_limit_waits_for_its_slots_and_places_each_buy_once(traders, instruments):
    account = traders[0].broker_account
    many = [StrategyFactory(broker_account=account, status=Strategy.Status.RUNNING) for _ in range(11)]
    started = time.monotonic()

    run_batch([trigger(strategy) for strategy in [*many, *traders[1:]]])

    entries = Order.objects.filter(event="BUY")
    assert entries.count() == len(many) + len(traders) - 1
    assert set(entries.values_list("status", flat=True)) == {"complete"}
    # None was throttled by the broker and retried: the 11th and 12th waited for the window.
    assert set(entries.values_list("attempts", flat=True)) == {1}
    assert time.monotonic() - started >= WINDOW_MS / 1000
    for strategy in many:
        assert len(at_broker(strategy)) == 1


def test_an_expired_session_holds_the_account_and_spares_the_others(traders):
    expired = traders[0]
    BrokerAccount.objects.filter(pk=expired.broker_account_id).update(client_id="")  # the paper broker's auth error

    run_batch([trigger(strategy) for strategy in traders])

    entry = Order.objects.get(strategy=expired, event="BUY")
    assert entry.status == "failed"
    assert BrokerAccount.objects.get(pk=expired.broker_account_id).status == "expired"
    assert Strategy.objects.get(pk=expired.pk).status == "stopped"
    assert StrategyRun.objects.get(strategy=expired).position == "none"
    for strategy in traders[1:]:
        assert Order.objects.get(strategy=strategy, event="BUY").status == "complete"


def test_a_batch_through_kite_retries_a_transient_failure_and_places_each_buy_once(instruments, settings):
    simulator = KiteSimulator()
    with SimulatorServer(simulator) as server:
        settings.KITE_API_ROOT = server.url
        simulator.set_price("TCS", "3600")
        strategies = []
        for n in range(3):
            api_key = f"batchkey{n}"
            simulator.add_account(api_key=api_key, api_secret=f"secret{n}", user_id=f"ZB{n}")
            account = BrokerAccount.objects.create(
                user=make_user(f"kite{n}@example.com"),
                broker="zerodha",
                api_key=api_key,
                access_token=simulator.login(api_key),
                client_id=f"ZB{n}",
            )
            strategies.append(StrategyFactory(broker_account=account, status=Strategy.Status.RUNNING))
        simulator.inject(Fault(status=503, path_prefix="/orders/regular"))

        run_batch([trigger(strategy) for strategy in strategies])

        entries = Order.objects.filter(event="BUY")
        assert set(entries.values_list("status", flat=True)) == {"complete"}
        assert sorted(entries.values_list("attempts", flat=True)) == [1, 1, 2]
        for strategy in strategies:
            order = Order.objects.get(strategy=strategy, event="BUY")
            assert len(ZerodhaBroker(strategy.broker_account.credentials()).orders_by_tag(order.tag)) == 1
            assert StrategyRun.objects.get(strategy=strategy).position == "bought"


@pytest.mark.django_db(transaction=True)
def test_batch_items_are_taken_in_order_although_the_pool_is_smaller_than_the_threads(settings):
    from django.db import connection

    pool_size = settings.DATABASES["default"]["OPTIONS"]["pool"]["max_size"]
    assert services.BATCH_THREADS > pool_size  # what this test is about
    items = list(range(services.BATCH_THREADS * 4))
    began: dict[int, float] = {}

    def query(item: int) -> int:
        with connection.cursor() as cursor:
            began[item] = time.monotonic()
            cursor.execute("SELECT pg_sleep(0.02)")
        return item

    assert services._in_threads(items, query) == items
    # The threads beyond the pool's size took their first item at once and waited for a
    # connection: one handed back after an item, not one held until its thread ran out of items
    # (which made them wait for the whole batch, and time out on a long one).
    first_round, last_round = items[: services.BATCH_THREADS], items[-services.BATCH_THREADS :]
    assert max(began[item] for item in first_round) < min(began[item] for item in last_round)
