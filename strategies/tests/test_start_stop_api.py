from datetime import date, timedelta

import pytest
from django.utils import timezone

from algotrader.api_errors import ApiError
from brokers.models import BrokerAccount
from strategies.models import Strategy, StrategyRun
from strategies.services import strategy_start


def start(client, strategy, form):
    if form == "path":
        return client.post(f"/api/v1/strategy/{strategy.id}/start")
    return client.post("/api/v1/strategy/start", {"strategy_id": str(strategy.id)}, format="json")


def stop(client, strategy, form):
    if form == "path":
        return client.post(f"/api/v1/strategy/{strategy.id}/stop")
    return client.post("/api/v1/strategy/stop", {"strategy_id": str(strategy.id)}, format="json")


@pytest.mark.parametrize("form", ["body", "path"])
def test_it_starts_and_stops_with_the_id_in_the_body_or_the_path(alice_api, strategy, form):
    started = start(alice_api, strategy, form)
    stopped = stop(alice_api, strategy, form)

    assert started.status_code == 200
    assert started.json() == {"strategy_id": str(strategy.id), "status": "running"}
    assert stopped.status_code == 200
    assert stopped.json() == {"strategy_id": str(strategy.id), "status": "stopped"}
    events = list(strategy.events.values_list("kind", "actor_type", "actor"))
    assert events == [("started", "user", strategy.user_id), ("stopped", "user", strategy.user_id)]


def test_it_restarts_a_stopped_strategy(alice_api, strategy):
    Strategy.objects.filter(pk=strategy.pk).update(status=Strategy.Status.STOPPED)

    assert start(alice_api, strategy, "path").json()["status"] == "running"


@pytest.mark.parametrize("status", ["running", "completed", "failed"])
def test_it_refuses_to_start_a_strategy_in_the_wrong_state(alice_api, strategy, status):
    Strategy.objects.filter(pk=strategy.pk).update(status=status)

    response = start(alice_api, strategy, "body")

    assert response.status_code == 409
    assert response.json()["error"] == "STRATEGY_STATE"
    assert not strategy.events.filter(kind="started").exists()


@pytest.mark.parametrize("status", ["stopped", "completed", "failed"])
def test_it_refuses_to_stop_a_strategy_that_is_not_active(alice_api, strategy, status):
    Strategy.objects.filter(pk=strategy.pk).update(status=status)

    response = stop(alice_api, strategy, "path")

    assert response.status_code == 409
    assert response.json()["error"] == "STRATEGY_STATE"


@pytest.mark.parametrize(
    "account_state",
    [
        {"status": "expired"},
        {"status": "invalid"},
        {"status": "connected", "token_expires_at": timezone.now() - timedelta(minutes=1)},
    ],
)
def test_it_refuses_to_start_without_a_usable_broker_account(alice_api, strategy, account_state):
    BrokerAccount.objects.filter(pk=strategy.broker_account_id).update(**account_state)

    response = start(alice_api, strategy, "body")

    assert response.status_code == 409
    assert response.json()["error"] == "BROKER_NOT_CONNECTED"
    strategy.refresh_from_db()
    assert strategy.status == "created"


def test_it_starts_when_the_token_is_still_valid(alice_api, strategy):
    BrokerAccount.objects.filter(pk=strategy.broker_account_id).update(
        token_expires_at=timezone.now() + timedelta(hours=1)
    )

    assert start(alice_api, strategy, "body").status_code == 200


def test_it_refuses_to_restart_into_an_overlap(alice_api, alice_paper, strategy):
    Strategy.objects.filter(pk=strategy.pk).update(status=Strategy.Status.STOPPED)
    alice_api.post(
        "/api/v1/strategy/create",
        {"symbol": "TCS", "buy_time": "10:00:00", "sell_time": "11:00:00", "stop_loss": 3500, "quantity": 1},
        format="json",
    )

    response = start(alice_api, strategy, "path")

    assert response.status_code == 400
    assert response.json()["error"] == "STRATEGY_OVERLAP"


def test_a_second_start_of_the_same_strategy_is_refused(strategy, alice):
    stale_copy = Strategy.objects.get(pk=strategy.pk)
    strategy_start(strategy=strategy, actor=alice)

    with pytest.raises(ApiError, match="cannot be started"):
        strategy_start(strategy=stale_copy, actor=alice)
    assert strategy.events.filter(kind="started").count() == 1


def test_it_notes_an_open_position_when_stopping(alice_api, strategy):
    Strategy.objects.filter(pk=strategy.pk).update(status=Strategy.Status.RUNNING)
    StrategyRun.objects.create(strategy=strategy, session_date=date(2026, 11, 23), position="bought")

    stop(alice_api, strategy, "body")

    assert strategy.events.get(kind="stopped").data == {"open_position": True}


def test_it_asks_for_the_strategy_id_in_the_body(alice_api, strategy):
    response = alice_api.post("/api/v1/strategy/start", {}, format="json")

    assert response.status_code == 400
    assert "strategy_id" in response.json()["fields"]


def test_the_audit_trail_is_append_only(alice_api, strategy):
    start(alice_api, strategy, "body")
    event = strategy.events.get(kind="started")
    event.data = {"forged": True}

    with pytest.raises(ValueError, match="append-only"):
        event.save()
