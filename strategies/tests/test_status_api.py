import io
import json
import logging
from datetime import date, timedelta
from decimal import Decimal

import pytest
import time_machine
from asgiref.sync import async_to_sync
from django.test import AsyncClient
from django.utils import timezone
from rest_framework.test import APIClient, APIRequestFactory, force_authenticate
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from accounts.models import User
from algotrader.logging import JsonFormatter, RequestContextFilter
from algotrader.redis import redis_client
from conftest import client_for
from strategies.api import strategy_status_reference
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


# The view answers a 200 itself and leaves every other answer to the DRF view it replaces
# (strategies.api.strategy_status_reference); these hold it to that view's exact bytes.


def reference_response(user, strategy: Strategy):
    """What the DRF view answers for `user` asking about `strategy`."""
    request = APIRequestFactory().get(f"/api/v1/strategy/status/{strategy.id}")
    force_authenticate(request, user=user)
    response = strategy_status_reference(request, strategy_id=str(strategy.id))
    response.render()
    return response


@pytest.mark.parametrize("price", [None, "3390.25", "not a number"])
@pytest.mark.parametrize(
    ("position", "runtime_action", "exit_reason"),
    [("none", None, ""), ("bought", None, ""), ("bought", "BUY", ""), ("exited", "SELL", "stoploss")],
)
def test_it_answers_exactly_as_the_drf_view(strategy, price, position, runtime_action, exit_reason):
    Strategy.objects.filter(pk=strategy.pk).update(status=Strategy.Status.RUNNING)
    StrategyRun.objects.create(strategy=strategy, session_date=date(2026, 11, 20), position="exited")
    StrategyRun.objects.create(
        strategy=strategy,
        session_date=date(2026, 11, 23),
        position=position,
        entry_price=Decimal("3400.00") if position != "none" else None,
        exit_price=Decimal("3350.05") if position == "exited" else None,
        exit_reason=exit_reason,
        realised_pnl=Decimal("-499.50") if position == "exited" else None,
    )
    if price is not None:
        redis_client().set("price:TCS", price)
    if runtime_action is not None:
        redis_client().hset(f"runtime:{strategy.id}", mapping={"last_action": runtime_action})

    with time_machine.travel("2026-11-23T12:00:00+05:30", tick=False):
        response = client_for(strategy.user).get(f"/api/v1/strategy/status/{strategy.id}")
        expected = reference_response(strategy.user, strategy)

    assert response.status_code == expected.status_code == 200
    assert response.content == expected.content
    assert response["Content-Type"] == "application/json"


def test_it_reads_the_database_once(alice_api, strategy, django_assert_num_queries):
    redis_client().set("price:TCS", "3390.25")

    with django_assert_num_queries(1):
        response = alice_api.get(f"/api/v1/strategy/status/{strategy.id}")

    assert response.status_code == 200
    assert response.json()["last_price"] == "3390.25"


def test_another_users_or_a_deleted_strategy_is_not_found(alice_api, bob_api, bob_paper, strategy):
    assert bob_api.get(f"/api/v1/strategy/status/{strategy.id}").json()["error"] == "NOT_FOUND"
    Strategy.objects.filter(pk=strategy.pk).update(deleted_at=timezone.now())

    response = alice_api.get(f"/api/v1/strategy/status/{strategy.id}")

    assert response.status_code == 404
    assert response.json() == {"error": "NOT_FOUND", "message": "Not found."}


def bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=token)
    return client


def test_it_refuses_bad_tokens_in_the_api_format(alice, strategy):
    path = f"/api/v1/strategy/status/{strategy.id}"
    access = str(AccessToken.for_user(alice))
    header, payload, signature = access.split(".")
    with time_machine.travel(timezone.now() + timedelta(minutes=16)):
        expired = bearer(f"Bearer {access}").get(path)
    cases = {
        "expired": (expired, 401, "TOKEN_EXPIRED"),
        "tampered": (bearer(f"Bearer {header}.{payload}.{signature[:-4]}AAAA").get(path), 401, "TOKEN_INVALID"),
        "refresh": (bearer(f"Bearer {RefreshToken.for_user(alice)}").get(path), 401, "TOKEN_INVALID"),
        "another scheme": (bearer(f"Basic {access}").get(path), 401, "TOKEN_INVALID"),
        "none": (APIClient().get(path), 401, "NOT_AUTHENTICATED"),
    }

    for name, (response, status, error) in cases.items():
        assert (response.status_code, response.json()["error"]) == (status, error), name
        assert response["WWW-Authenticate"] == 'Bearer realm="api"', name


def test_an_inactive_users_token_is_refused(alice, alice_api, strategy):
    User.objects.filter(pk=alice.pk).update(is_active=False)

    response = alice_api.get(f"/api/v1/strategy/status/{strategy.id}")

    assert response.status_code == 401
    assert response.json()["error"] == "TOKEN_INVALID"


def test_it_is_served_on_the_event_loop_and_logged_with_its_user(alice, alice_api, strategy, django_assert_num_queries):
    # AsyncClient runs the ASGI handler, so the middleware and the view take their async
    # paths, as under uvicorn; async_to_sync keeps their database work on this thread, in
    # the test's transaction.
    lines = io.StringIO()
    handler = logging.StreamHandler(lines)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestContextFilter())
    logging.getLogger("algotrader.request").addHandler(handler)
    try:
        with django_assert_num_queries(1):
            response = async_to_sync(AsyncClient().get)(
                f"/api/v1/strategy/status/{strategy.id}",
                headers={"Authorization": f"Bearer {AccessToken.for_user(alice)}", "X-Request-ID": "status-0123456789"},
            )
    finally:
        logging.getLogger("algotrader.request").removeHandler(handler)

    assert response.status_code == 200
    assert response.content == alice_api.get(f"/api/v1/strategy/status/{strategy.id}").content
    assert response["X-Request-ID"] == "status-0123456789"
    [line] = [json.loads(text) for text in lines.getvalue().splitlines()]
    assert (line["status"], line["user_id"], line["request_id"]) == (200, str(alice.id), "status-0123456789")


def test_the_schema_still_documents_the_status_operation(alice_api):
    schema = alice_api.get("/api/schema/", HTTP_ACCEPT="application/json").json()

    operation = schema["paths"]["/api/v1/strategy/status/{strategy_id}"]["get"]
    assert operation["operationId"] == "strategy_status_retrieve"
    assert operation["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/StrategyStatus"
    }
