"""The order path against the paper broker: BUY, protective stop, SELL, stop-loss, races."""

import threading
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection

from brokers.adapters.paper import PaperBroker, set_price
from execution import runtime, services
from execution.models import Order
from strategies.models import Strategy, StrategyEvent, StrategyRun

SESSION = date(2026, 11, 23)


@pytest.fixture
def running(strategy: Strategy) -> Strategy:
    Strategy.objects.filter(pk=strategy.pk).update(status=Strategy.Status.RUNNING)
    strategy.refresh_from_db()
    # Above the 3500 stop-loss, so the protective stop can rest below the market.
    set_price("TCS", Decimal("3600.00"))
    return strategy


def buy(strategy: Strategy) -> Order | None:
    scheduled = datetime.now(UTC) - timedelta(milliseconds=5)
    return services.execute_trigger(strategy_id=strategy.pk, event="BUY", session_date=SESSION, scheduled_at=scheduled)


def sell(strategy: Strategy) -> Order | None:
    now = datetime.now(UTC)
    return services.execute_trigger(strategy_id=strategy.pk, event="SELL", session_date=SESSION, scheduled_at=now)


def paper_orders(strategy: Strategy) -> list:
    broker = PaperBroker(strategy.broker_account.credentials())
    return [status for order in Order.objects.filter(strategy=strategy) for status in broker.orders_by_tag(order.tag)]


def test_it_buys_then_sells_with_one_order_each_and_records_latency(running):
    entry = buy(running)
    run = StrategyRun.objects.get(strategy=running, session_date=SESSION)

    assert run.position == "bought"
    assert run.entry_price == Decimal("3600.00")
    assert entry.status == "complete"
    assert entry.broker_order_id
    assert entry.latency_ms is not None
    assert entry.latency_ms >= 5
    assert entry.average_price == Decimal("3600.00")
    assert runtime.strategies_hit("TCS", Decimal("3500")) == [str(running.pk)]
    stop = Order.objects.get(run=run, event="PROTECTIVE_STOP")
    assert stop.status == "placed"
    assert stop.order_type == "SL-M"
    assert stop.trigger_price == Decimal("3500.00")

    set_price("TCS", Decimal("3650.00"))
    exit_order = sell(running)
    run.refresh_from_db()
    stop.refresh_from_db()

    assert exit_order.event == "SELL"
    assert exit_order.status == "complete"
    assert run.position == "exited"
    assert run.exit_reason == "sell_time"
    assert run.exit_price == Decimal("3650.00")
    assert run.realised_pnl == Decimal("500.00")
    assert stop.status == "cancelled", "a stop never stays resting after its position is closed"
    assert Order.objects.filter(strategy=running).count() == 3
    assert [s.state for s in paper_orders(running)].count("COMPLETE") == 2
    running.refresh_from_db()
    assert running.status == "completed"
    kinds = list(StrategyEvent.objects.filter(strategy=running).values_list("kind", flat=True))
    assert kinds == ["buy", "sell", "completed"]


def test_it_places_one_order_when_the_same_trigger_runs_twice(running):
    first, second = buy(running), buy(running)

    assert first.status == "complete"
    assert second is None
    assert Order.objects.filter(strategy=running, event="BUY").count() == 1
    assert len([s for s in paper_orders(running) if s.side == "BUY"]) == 1


def test_it_adopts_the_broker_order_when_a_pending_row_is_redelivered(running):
    entry = buy(running)
    # A worker that died after the broker took the order but before recording it.
    Order.objects.filter(pk=entry.pk).update(status="pending", broker_order_id="", attempts=1)
    StrategyRun.objects.filter(pk=entry.run_id).update(position="buy_pending")

    again = buy(running)

    again.refresh_from_db()
    assert again.status == "complete"
    assert again.broker_order_id == entry.broker_order_id
    assert len([s for s in paper_orders(running) if s.side == "BUY"]) == 1


def test_it_marks_the_run_exited_by_stoploss_when_the_protective_stop_fills(running):
    buy(running)
    run = StrategyRun.objects.get(strategy=running)
    stop = Order.objects.get(run=run, event="PROTECTIVE_STOP")

    set_price("TCS", Decimal("3490.00"))
    assert services.track_order(order_id=stop.pk) is True

    run.refresh_from_db()
    assert run.position == "exited"
    assert run.exit_reason == "stoploss"
    assert run.exit_price == Decimal("3490.00")
    assert sell(running) is None, "stop-loss overrides SELL"
    assert not Order.objects.filter(run=run, event__in=["SELL", "STOPLOSS"]).exists()


def test_it_finds_the_filled_stop_instead_of_selling_again_on_a_stoploss_exit(running):
    buy(running)
    run = StrategyRun.objects.get(strategy=running)
    set_price("TCS", Decimal("3490.00"))  # the broker's stop fills before our tick worker acts

    assert services.exit_position(run_id=run.pk, reason="stoploss") is None

    run.refresh_from_db()
    assert run.position == "exited"
    assert run.exit_reason == "stoploss"
    assert sorted(s.side for s in paper_orders(running) if s.state == "COMPLETE") == ["BUY", "SELL"]


def test_it_fails_the_strategy_and_sends_nothing_more_on_a_rejection(running):
    running.quantity = 10**9  # the paper broker refuses nothing on size, so break a rule: lot size
    Strategy.objects.filter(pk=running.pk).update(symbol="NOSUCH")
    running.refresh_from_db()

    entry = buy(running)

    running.refresh_from_db()
    assert entry.status == "rejected"
    assert entry.attempts == 1
    assert "NOSUCH" in entry.error
    assert running.status == "failed"
    assert StrategyRun.objects.get(strategy=running).position == "none"
    assert StrategyEvent.objects.filter(strategy=running, kind="failed").count() == 1
    assert buy(running) is None


@pytest.mark.django_db(transaction=True)
def test_it_places_one_order_when_two_workers_run_the_same_trigger_at_once(running):
    results = race(lambda: buy(running), lambda: buy(running))

    assert Order.objects.filter(strategy=running, event="BUY").count() == 1
    assert len([s for s in paper_orders(running) if s.side == "BUY"]) == 1
    assert StrategyRun.objects.get(strategy=running).position == "bought"
    assert len(results) == 2


@pytest.mark.django_db(transaction=True)
def test_it_exits_once_when_the_stoploss_and_the_sell_race(running):
    buy(running)
    run = StrategyRun.objects.get(strategy=running)

    race(lambda: services.exit_position(run_id=run.pk, reason="stoploss"), lambda: sell(running))

    run.refresh_from_db()
    assert run.position == "exited"
    assert Order.objects.filter(run=run).exits().count() == 1
    assert sorted(s.side for s in paper_orders(running) if s.state == "COMPLETE") == ["BUY", "SELL"]


def race(*calls):
    barrier = threading.Barrier(len(calls))
    results, errors = [], []

    def run(call):
        try:
            barrier.wait()
            results.append(call())
        except Exception as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    return results


def test_it_exits_a_run_the_tick_worker_already_claimed(running):
    buy(running)
    run = StrategyRun.objects.get(strategy=running)
    StrategyRun.objects.filter(pk=run.pk).update(position="exit_pending")  # the tick worker's claim
    set_price("TCS", Decimal("3510.00"))  # still above the broker's stop: our exit sells

    exit_order = services.exit_position(run_id=run.pk, reason="stoploss")

    run.refresh_from_db()
    assert exit_order.event == "STOPLOSS"
    assert run.position == "exited"
    assert run.exit_reason == "stoploss"
    assert sell(running) is None


def test_a_daily_strategy_is_armed_for_the_next_trading_day_after_its_sell(running):
    from django_celery_beat.models import PeriodicTask

    from strategies import schedules

    Strategy.objects.filter(pk=running.pk).update(recurrence=Strategy.Recurrence.DAILY)
    running.refresh_from_db()
    schedules.arm(running, now=datetime(2026, 11, 23, 3, 0, tzinfo=UTC))  # Monday 08:30 IST
    buy(running)

    sell(running)

    names = set(PeriodicTask.objects.filter(name__startswith=f"strategy:{running.pk}:").values_list("name", flat=True))
    # Tuesday 24 November 2026 is an NSE holiday in the seeded calendar: Wednesday is next.
    assert names == {f"strategy:{running.pk}:BUY:2026-11-25", f"strategy:{running.pk}:SELL:2026-11-25"}
    running.refresh_from_db()
    assert running.status == "running"


def test_a_new_stop_loss_moves_the_resting_stop_in_place(
    running, alice, monkeypatch, django_capture_on_commit_callbacks
):
    from strategies.services import strategy_update

    buy(running)
    stop = Order.objects.get(strategy=running, event="PROTECTIVE_STOP")
    assert stop.status == "placed"
    sent: list = []
    monkeypatch.setattr("strategies.services.current_app.send_task", lambda name, **kw: sent.append((name, kw)))

    with django_capture_on_commit_callbacks(execute=True):
        strategy_update(strategy=running, actor=alice, changes={"stop_loss": Decimal("3550.00")})
    assert sent == [("execution.tasks.move_protective_stop_task", {"args": [str(running.pk)], "queue": "orders"})]
    moved = services.move_protective_stop(strategy_id=running.pk)

    broker = PaperBroker(running.broker_account.credentials())
    at_broker = broker.order_status(stop.broker_order_id)
    assert moved.pk == stop.pk  # the same order, modified; never cancelled and replaced
    assert (at_broker.state, at_broker.trigger_price) == ("TRIGGER PENDING", Decimal("3550.00"))
    assert len(paper_orders(running)) == 2  # the BUY and the one stop
    # A price between the old stop (3500) and the new one (3550) now fills it.
    set_price("TCS", Decimal("3540.00"))
    assert broker.order_status(stop.broker_order_id).state == "COMPLETE"
