from datetime import date, time
from decimal import Decimal

import pytest

from brokers.models import BrokerAccount
from strategies.models import Strategy, StrategyEvent, StrategyRun
from strategies.tests.factories import StrategyFactory

VALID = {"symbol": "TCS", "buy_time": "09:30:00", "sell_time": "15:15:00", "stop_loss": 3500, "quantity": 10}


def create(client, **changes):
    body = {**VALID, **changes}
    return client.post("/api/v1/strategy/create", {k: v for k, v in body.items() if v is not None}, format="json")


def test_it_creates_a_strategy_with_the_seed_request(alice_api, alice_paper, instruments):
    response = create(alice_api)

    assert response.status_code == 201, response.json()
    body = response.json()
    assert set(body) == {
        "id",
        "strategy_id",
        "symbol",
        "exchange",
        "buy_time",
        "sell_time",
        "stop_loss",
        "quantity",
        "product",
        "recurrence",
        "broker",
        "status",
        "created_at",
        "updated_at",
    }
    assert body["strategy_id"] == body["id"]
    assert body["status"] == "created"
    assert (body["symbol"], body["exchange"], body["buy_time"], body["sell_time"]) == (
        "TCS",
        "NSE",
        "09:30:00",
        "15:15:00",
    )
    assert (body["stop_loss"], body["quantity"], body["product"], body["recurrence"]) == ("3500.00", 10, "MIS", "once")
    assert body["broker"] == "paper"
    strategy = Strategy.objects.get(pk=body["id"])
    assert strategy.broker_account == alice_paper
    assert list(strategy.events.values_list("kind", "actor_type")) == [("created", "user")]


def test_it_resolves_the_named_broker_to_the_users_own_account(alice_api, alice_paper, bob_paper, instruments):
    response = create(alice_api, broker="paper", symbol="tcs", recurrence="daily")

    assert response.status_code == 201, response.json()
    assert Strategy.objects.get(pk=response.json()["id"]).broker_account == alice_paper
    assert response.json()["symbol"] == "TCS"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"stop_loss": None}, "stop_loss"),
        ({"stop_loss": 0}, "stop_loss"),
        ({"stop_loss": -5}, "stop_loss"),
        ({"stop_loss": "3500.03"}, "stop_loss"),  # TCS ticks by 0.05
        ({"stop_loss": "abc"}, "stop_loss"),
        ({"quantity": 0}, "quantity"),
        ({"quantity": -1}, "quantity"),
        ({"quantity": None}, "quantity"),
        ({"symbol": "LOTTY", "stop_loss": "100.10", "quantity": 30}, "quantity"),  # lots of 25
        ({"symbol": "LOTTY", "stop_loss": "100.05", "quantity": 25}, "stop_loss"),  # ticks of 0.10
        ({"symbol": "NOPE"}, "symbol"),
        ({"exchange": "BSE"}, "symbol"),
        ({"buy_time": "15:15:00", "sell_time": "09:30:00"}, "sell_time"),
        ({"buy_time": "10:00:00", "sell_time": "10:00:00"}, "sell_time"),
        ({"buy_time": "09:00:00"}, "buy_time"),
        ({"sell_time": "15:31:00"}, "sell_time"),
        ({"buy_time": "9.30"}, "buy_time"),
        ({"product": "CNC"}, "product"),
        ({"recurrence": "weekly"}, "recurrence"),
        ({"broker": "zerodha"}, "broker"),
    ],
)
def test_it_rejects_an_invalid_strategy_with_a_field_error(alice_api, alice_paper, instruments, changes, field):
    response = create(alice_api, **changes)

    assert response.status_code == 400
    assert response.json()["error"] == "STRATEGY_INVALID"
    assert field in response.json()["fields"], response.json()
    assert not Strategy.objects.exists()


def test_it_accepts_a_lot_and_tick_multiple(alice_api, alice_paper, instruments):
    assert create(alice_api, symbol="LOTTY", stop_loss="100.10", quantity=50).status_code == 201


def test_it_asks_for_a_broker_account_when_the_user_has_none(alice_api, instruments):
    response = create(alice_api)

    assert response.status_code == 400
    assert response.json()["error"] == "STRATEGY_INVALID"
    assert "broker" in response.json()["fields"]


def test_it_never_uses_another_users_account(alice_api, bob_paper, instruments):
    response = create(alice_api, broker="paper")

    assert response.status_code == 400
    assert "broker" in response.json()["fields"]


def test_it_allows_any_time_of_day_when_the_calendar_is_always_open(alice_api, alice_paper, instruments, settings):
    settings.MARKET_CALENDAR = "ALWAYS_OPEN"

    assert create(alice_api, buy_time="00:00:00", sell_time="23:59:59").status_code == 201


def test_it_refuses_an_overlapping_strategy_on_the_same_symbol(alice_api, alice_paper, instruments):
    assert create(alice_api).status_code == 201

    response = create(alice_api, buy_time="15:00:00", sell_time="15:20:00")

    assert response.status_code == 400
    assert response.json()["error"] == "STRATEGY_OVERLAP"
    assert Strategy.objects.count() == 1


def test_it_allows_windows_that_do_not_overlap_or_other_symbols_or_stopped_ones(
    alice_api, bob_api, alice_paper, bob_paper, instruments
):
    StrategyFactory(broker_account=alice_paper, status=Strategy.Status.STOPPED)

    assert create(alice_api).status_code == 201
    assert create(alice_api, buy_time="15:16:00", sell_time="15:20:00").status_code == 201
    assert create(alice_api, symbol="INFY").status_code == 201
    assert create(bob_api).status_code == 201


def test_it_lists_the_users_strategies_with_position_price_and_pnl(alice_api, alice_paper, bob_paper, instruments):
    from algotrader.redis import redis_client

    held = StrategyFactory(broker_account=alice_paper, status=Strategy.Status.RUNNING)
    StrategyRun.objects.create(
        strategy=held, session_date=date(2026, 11, 20), position="exited", realised_pnl=Decimal("-12.50")
    )
    StrategyRun.objects.create(
        strategy=held, session_date=date(2026, 11, 23), position="bought", entry_price=Decimal("3400.00")
    )
    idle = StrategyFactory(broker_account=alice_paper, symbol="INFY")
    StrategyFactory(broker_account=alice_paper, symbol="LOTTY", quantity=25, deleted_at="2026-11-20T10:00:00Z")
    StrategyFactory(broker_account=bob_paper)
    redis_client().set("price:TCS", "3410.50")

    response = alice_api.get("/api/v1/strategies")

    assert response.status_code == 200
    items = {item["id"]: item for item in response.json()}
    assert set(items) == {str(held.id), str(idle.id)}
    assert (items[str(held.id)]["position"], items[str(held.id)]["last_price"]) == ("bought", "3410.50")
    assert items[str(held.id)]["pnl"] == "105.00"
    assert (items[str(idle.id)]["position"], items[str(idle.id)]["last_price"], items[str(idle.id)]["pnl"]) == (
        "none",
        None,
        None,
    )


def test_it_reads_one_strategy(alice_api, strategy):
    response = alice_api.get(f"/api/v1/strategies/{strategy.id}")

    assert response.status_code == 200
    assert response.json()["id"] == str(strategy.id)
    assert "strategy_id" not in response.json()


def test_it_changes_any_field_before_the_buy_and_records_the_change(alice_api, strategy):
    response = alice_api.patch(
        f"/api/v1/strategies/{strategy.id}", {"buy_time": "10:00:00", "quantity": 5, "symbol": "INFY"}, format="json"
    )

    assert response.status_code == 200, response.json()
    strategy.refresh_from_db()
    assert (strategy.buy_time, strategy.quantity, strategy.symbol) == (time(10), 5, "INFY")
    event = strategy.events.get(kind="updated")
    assert event.actor_type == "user"
    assert event.data == {"buy_time": ["09:30:00", "10:00:00"], "quantity": ["10", "5"], "symbol": ["TCS", "INFY"]}


def test_it_validates_a_change_like_a_create(alice_api, strategy):
    response = alice_api.patch(f"/api/v1/strategies/{strategy.id}", {"sell_time": "09:00:00"}, format="json")

    assert response.status_code == 400
    assert response.json()["error"] == "STRATEGY_INVALID"
    assert "sell_time" in response.json()["fields"]
    strategy.refresh_from_db()
    assert strategy.sell_time == time(15, 15)
    assert not strategy.events.filter(kind="updated").exists()


def test_it_refuses_a_change_into_an_overlap(alice_api, alice_paper, strategy):
    other = StrategyFactory(broker_account=alice_paper, symbol="INFY")

    response = alice_api.patch(f"/api/v1/strategies/{other.id}", {"symbol": "TCS"}, format="json")

    assert response.status_code == 400
    assert response.json()["error"] == "STRATEGY_OVERLAP"


def test_it_changes_only_the_exit_while_a_position_is_open(alice_api, strategy):
    StrategyRun.objects.create(strategy=strategy, session_date=date(2026, 11, 23), position="bought")
    url = f"/api/v1/strategies/{strategy.id}"

    refused = alice_api.patch(url, {"quantity": 20}, format="json")
    allowed = alice_api.patch(url, {"stop_loss": "3450.50", "sell_time": "15:00:00"}, format="json")

    assert refused.status_code == 409
    assert refused.json()["error"] == "STRATEGY_STATE"
    assert allowed.status_code == 200, allowed.json()
    assert (allowed.json()["stop_loss"], allowed.json()["sell_time"], allowed.json()["quantity"]) == (
        "3450.50",
        "15:00:00",
        10,
    )


@pytest.mark.parametrize("position", ["buy_pending", "exit_pending"])
def test_it_changes_nothing_while_an_order_is_in_flight(alice_api, strategy, position):
    StrategyRun.objects.create(strategy=strategy, session_date=date(2026, 11, 23), position=position)

    response = alice_api.patch(f"/api/v1/strategies/{strategy.id}", {"stop_loss": "3400"}, format="json")

    assert response.status_code == 409
    assert response.json()["error"] == "STRATEGY_STATE"


def test_it_changes_nothing_once_completed(alice_api, strategy):
    Strategy.objects.filter(pk=strategy.pk).update(status=Strategy.Status.COMPLETED)

    response = alice_api.patch(f"/api/v1/strategies/{strategy.id}", {"stop_loss": "3400"}, format="json")

    assert response.status_code == 409


def test_it_soft_deletes_and_stops_a_running_strategy_first(alice_api, strategy):
    Strategy.objects.filter(pk=strategy.pk).update(status=Strategy.Status.RUNNING)

    response = alice_api.delete(f"/api/v1/strategies/{strategy.id}")

    assert response.status_code == 204
    strategy.refresh_from_db()
    assert strategy.deleted_at is not None
    assert strategy.status == "stopped"
    assert list(strategy.events.values_list("kind", flat=True)) == ["stopped", "deleted"]
    assert alice_api.get(f"/api/v1/strategies/{strategy.id}").status_code == 404
    assert alice_api.get("/api/v1/strategies").json() == []


def test_a_deleted_strategy_no_longer_blocks_its_window(alice_api, strategy):
    alice_api.delete(f"/api/v1/strategies/{strategy.id}")

    assert create(alice_api).status_code == 201


def test_it_searches_instruments_by_symbol_first(alice_api, instruments):
    response = alice_api.get("/api/v1/instruments", {"search": "TC"})

    assert response.status_code == 200
    assert response.json()[0] == {
        "exchange": "NSE",
        "symbol": "TCS",
        "name": "TATA CONSULTANCY SERV LT",
        "tick_size": "0.0500",
        "lot_size": 1,
    }
    assert len(alice_api.get("/api/v1/instruments").json()) <= 20


def test_it_needs_authentication(api, strategy):
    assert api.get("/api/v1/strategies").status_code == 401
    assert api.post("/api/v1/strategy/create", VALID, format="json").status_code == 401
    assert api.get("/api/v1/instruments").status_code == 401


def test_bob_gets_404_for_everything_of_alices(bob_api, bob_paper, strategy):
    paths = [
        ("get", f"/api/v1/strategies/{strategy.id}", None),
        ("patch", f"/api/v1/strategies/{strategy.id}", {"quantity": 1}),
        ("delete", f"/api/v1/strategies/{strategy.id}", None),
        ("get", f"/api/v1/strategy/status/{strategy.id}", None),
        ("post", f"/api/v1/strategy/{strategy.id}/start", None),
        ("post", f"/api/v1/strategy/{strategy.id}/stop", None),
        ("post", "/api/v1/strategy/start", {"strategy_id": str(strategy.id)}),
        ("post", "/api/v1/strategy/stop", {"strategy_id": str(strategy.id)}),
    ]
    for method, path, body in paths:
        response = getattr(bob_api, method)(path, body, format="json")
        assert response.status_code == 404, (method, path)
        assert response.json()["error"] == "NOT_FOUND"
    assert bob_api.get("/api/v1/strategies").json() == []
    strategy.refresh_from_db()
    assert (strategy.status, strategy.quantity, strategy.deleted_at) == ("created", 10, None)
    assert not StrategyEvent.objects.exclude(kind="created").exists()


def test_a_broker_account_in_use_cannot_be_deleted(alice_api, strategy):
    response = alice_api.delete(f"/api/v1/broker/{strategy.broker_account_id}")

    assert response.status_code == 409
    assert response.json()["error"] == "BROKER_IN_USE"
    assert BrokerAccount.objects.filter(pk=strategy.broker_account_id).exists()
