"""The kill switch: API, command, and the exit of an open position on stop."""

from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.core.management import call_command

from algotrader.celery import app
from brokers.adapters.paper import set_price
from execution import services
from execution.models import Order
from strategies.models import Strategy, StrategyRun


@pytest.fixture
def eager() -> Iterator[None]:
    """Queued exits run in the test's process and transaction."""
    app.conf.task_always_eager = True
    try:
        yield
    finally:
        app.conf.task_always_eager = False


@pytest.fixture
def bought(strategy: Strategy) -> StrategyRun:
    Strategy.objects.filter(pk=strategy.pk).update(status=Strategy.Status.RUNNING)
    set_price("TCS", Decimal("3600.00"))
    services.execute_trigger(
        strategy_id=strategy.pk, event="BUY", session_date=date(2026, 11, 23), scheduled_at=datetime.now(UTC)
    )
    return StrategyRun.objects.get(strategy=strategy)


def test_it_stops_everything_and_exits_open_positions(alice_api, bought, eager, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_api.post("/api/v1/kill-switch")

    assert response.status_code == 200
    assert response.json() == {"stopped": 1, "exits": 1}
    bought.refresh_from_db()
    assert bought.position == "exited"
    assert bought.exit_reason == "manual"
    assert Order.objects.get(run=bought, event="PROTECTIVE_STOP").status == "cancelled"
    assert Order.objects.filter(run=bought).exits().get().event == "KILL"
    assert Strategy.objects.get(pk=bought.strategy_id).status == "stopped"


def test_it_leaves_other_users_alone(bob_api, bought, eager, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = bob_api.post("/api/v1/kill-switch")

    assert response.json() == {"stopped": 0, "exits": 0}
    bought.refresh_from_db()
    assert bought.position == "bought"


def test_it_runs_from_the_command_line_for_one_user(alice, bought, eager, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        call_command("kill_switch", "--user", alice.email)

    bought.refresh_from_db()
    assert bought.position == "exited"


def test_it_exits_the_position_when_the_user_stops_the_strategy(
    alice, bought, eager, django_capture_on_commit_callbacks
):
    from strategies.services import strategy_stop

    with django_capture_on_commit_callbacks(execute=True):
        strategy_stop(strategy=bought.strategy, actor=alice)

    bought.refresh_from_db()
    assert bought.position == "exited"
    assert Order.objects.filter(run=bought).exits().get().event == "SELL"
