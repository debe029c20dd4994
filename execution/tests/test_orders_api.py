"""The order log of a strategy: the owner's only."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from brokers.adapters.paper import set_price
from execution import services
from strategies.models import Strategy, StrategyRun


@pytest.fixture
def bought(strategy: Strategy) -> StrategyRun:
    Strategy.objects.filter(pk=strategy.pk).update(status=Strategy.Status.RUNNING)
    set_price("TCS", Decimal("3600.00"))
    services.execute_trigger(
        strategy_id=strategy.pk, event="BUY", session_date=date(2026, 11, 23), scheduled_at=datetime.now(UTC)
    )
    return StrategyRun.objects.get(strategy=strategy)


def test_it_lists_the_orders_of_a_strategy(alice_api, bought):
    response = alice_api.get(f"/api/v1/strategies/{bought.strategy_id}/orders")

    assert response.status_code == 200
    orders = response.json()
    assert [order["event"] for order in orders] == ["BUY", "PROTECTIVE_STOP"]
    assert set(orders[0]) == {
        "id", "event", "side", "quantity", "order_type", "status", "broker_order_id", "average_price",
        "requested_at", "placed_at", "latency_ms", "error",
    }  # fmt: skip
    assert orders[0]["status"] == "complete"


def test_it_hides_the_orders_of_another_users_strategy(bob_api, bought):
    assert bob_api.get(f"/api/v1/strategies/{bought.strategy_id}/orders").status_code == 404
