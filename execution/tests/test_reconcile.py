"""Reconciliation: our state follows the broker where the broker proves it; the rest is flagged."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.core.management import call_command

from brokers.adapters.paper import set_price
from execution import services
from execution.models import Order
from strategies.models import Strategy, StrategyEvent, StrategyRun


@pytest.fixture
def bought(strategy: Strategy) -> StrategyRun:
    Strategy.objects.filter(pk=strategy.pk).update(status=Strategy.Status.RUNNING)
    set_price("TCS", Decimal("3600.00"))
    services.execute_trigger(
        strategy_id=strategy.pk, event="BUY", session_date=date(2026, 11, 23), scheduled_at=datetime.now(UTC)
    )
    return StrategyRun.objects.get(strategy=strategy)


def test_it_adopts_an_entry_a_crashed_worker_never_recorded(bought):
    entry = Order.objects.get(run=bought, event="BUY")
    Order.objects.filter(pk=entry.pk).update(status="pending", broker_order_id="", average_price=None)
    StrategyRun.objects.filter(pk=bought.pk).update(position="buy_pending", entry_price=None)

    result = services.reconcile_account(account=bought.strategy.broker_account)

    bought.refresh_from_db()
    entry.refresh_from_db()
    assert result["fixed"] == 1
    assert entry.status == "complete"
    assert bought.position == "bought"
    assert bought.entry_price == Decimal("3600.00")


def test_it_marks_the_run_exited_when_the_protective_stop_filled(bought):
    set_price("TCS", Decimal("3480.00"))

    call_command("reconcile")

    bought.refresh_from_db()
    assert bought.position == "exited"
    assert bought.exit_reason == "stoploss"
    assert bought.exit_price == Decimal("3480.00")


def test_it_flags_a_placed_order_the_broker_does_not_know(bought):
    stop = Order.objects.get(run=bought, event="PROTECTIVE_STOP")
    Order.objects.filter(pk=stop.pk).update(tag="UNKNOWNTAG")

    result = services.reconcile_account(account=bought.strategy.broker_account)

    stop.refresh_from_db()
    assert result["flagged"] == 1
    assert stop.needs_attention
    assert StrategyEvent.objects.filter(strategy=bought.strategy, kind="needs_attention").count() == 1
