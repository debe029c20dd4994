from datetime import date
from decimal import Decimal

import time_machine

from algotrader.redis import redis_client
from conftest import client_for
from strategies.models import Strategy, StrategyRun


def test_it_reports_a_created_strategy_with_no_triggers(alice_api, strategy):
    response = alice_api.get(f"/api/v1/strategy/status/{strategy.id}")

    assert response.status_code == 200
    assert response.json() == {
        "strategy_id": str(strategy.id),
        "status": "created",
        "position": "none",
        "last_action": None,
        "last_price": None,
        "pnl": None,
        "entry_price": None,
        "exit_price": None,
        "exit_reason": None,
        "next_triggers": {"buy": None, "sell": None},
    }


def status_at(moment: str, strategy: Strategy) -> dict:
    # The access token is minted at the travelled-to time, or it would look expired or not yet valid.
    with time_machine.travel(moment, tick=False):
        return client_for(strategy.user).get(f"/api/v1/strategy/status/{strategy.id}").json()


def test_it_gives_a_running_strategy_its_next_session_triggers(strategy):
    Strategy.objects.filter(pk=strategy.pk).update(status=Strategy.Status.RUNNING)

    triggers = status_at("2026-11-21T10:00:00+05:30", strategy)["next_triggers"]  # a Saturday

    assert triggers == {"buy": "2026-11-23T09:30:00+05:30", "sell": "2026-11-23T15:15:00+05:30"}


def test_it_reports_an_open_position_with_live_pnl(strategy):
    Strategy.objects.filter(pk=strategy.pk).update(status=Strategy.Status.RUNNING)
    StrategyRun.objects.create(
        strategy=strategy, session_date=date(2026, 11, 23), position="bought", entry_price=Decimal("3400.00")
    )
    redis_client().set("price:TCS", "3390.25")

    body = status_at("2026-11-23T12:00:00+05:30", strategy)  # Monday, between BUY and SELL

    assert (body["position"], body["last_action"], body["last_price"]) == ("bought", "BUY", "3390.25")
    assert (body["entry_price"], body["pnl"]) == ("3400.00", "-97.50")
    assert body["next_triggers"]["sell"] == "2026-11-23T15:15:00+05:30"


def test_it_reports_how_a_run_ended(alice_api, strategy):
    StrategyRun.objects.create(
        strategy=strategy,
        session_date=date(2026, 11, 20),
        position="exited",
        entry_price=Decimal("3400.00"),
        exit_price=Decimal("3350.00"),
        exit_reason="stoploss",
        realised_pnl=Decimal("-500.00"),
    )
    Strategy.objects.filter(pk=strategy.pk).update(status=Strategy.Status.COMPLETED)

    body = alice_api.get(f"/api/v1/strategy/status/{strategy.id}").json()

    assert (body["status"], body["position"], body["last_action"]) == ("completed", "exited", "STOPLOSS")
    assert (body["exit_price"], body["exit_reason"], body["pnl"]) == ("3350.00", "stoploss", "-500.00")


def test_the_runtime_last_action_wins_over_the_database(alice_api, strategy):
    redis_client().hset(f"runtime:{strategy.id}", mapping={"last_action": "SELL"})

    assert alice_api.get(f"/api/v1/strategy/status/{strategy.id}").json()["last_action"] == "SELL"
