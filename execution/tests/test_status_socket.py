"""`/ws/status/` through the real ASGI server (uvicorn) with a real WebSocket client."""

import json

import pytest
from django.db import transaction
from django.utils import timezone
from rest_framework_simplejwt.tokens import AccessToken
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from execution.events import send_to_user
from execution.fanout import publish_price
from strategies.services import strategy_start

pytestmark = pytest.mark.django_db(transaction=True)

STATUS = {
    "type": "strategy.status",
    "strategy_id": "s1",
    "status": "running",
    "position": "bought",
    "last_action": "BUY",
    "last_price": "3510.00",
    "pnl": "100.00",
}


def open_socket(server: str, *, token: str | None = None, subprotocol_token: str | None = None) -> ClientConnection:
    query = f"?token={token}" if token else ""
    protocols = ["jwt", subprotocol_token] if subprotocol_token else None
    return connect(f"ws://{server}/ws/status/{query}", subprotocols=protocols, open_timeout=5)


def close_code(socket: ClientConnection) -> int | None:
    with socket, pytest.raises(ConnectionClosed) as closed:
        socket.recv(timeout=3)
    return closed.value.rcvd.code if closed.value.rcvd else None


def receive(socket: ClientConnection, timeout: float = 3) -> dict:
    return json.loads(socket.recv(timeout=timeout))


def hears_nothing(socket: ClientConnection) -> bool:
    try:
        socket.recv(timeout=0.4)
    except TimeoutError:
        return True
    return False


def test_it_closes_with_4401_for_a_bad_or_missing_token(asgi_server, alice):
    assert close_code(open_socket(asgi_server, token="not-a-jwt")) == 4401
    assert close_code(open_socket(asgi_server)) == 4401


def test_it_closes_with_4401_for_an_expired_token(asgi_server, alice):
    token = AccessToken.for_user(alice)
    token.set_exp(from_time=timezone.now() - timezone.timedelta(hours=1))

    assert close_code(open_socket(asgi_server, token=str(token))) == 4401


def test_each_user_receives_only_their_own_events(asgi_server, alice, bob):
    with (
        open_socket(asgi_server, token=str(AccessToken.for_user(alice))) as alice_socket,
        open_socket(asgi_server, subprotocol_token=str(AccessToken.for_user(bob))) as bob_socket,
    ):
        assert bob_socket.subprotocol == "jwt"
        hears_nothing(alice_socket)  # both joined their groups

        send_to_user(alice.pk, STATUS)

        assert receive(alice_socket) == STATUS
        assert hears_nothing(bob_socket)


def test_a_rolled_back_event_never_leaves(asgi_server, alice):
    with open_socket(asgi_server, token=str(AccessToken.for_user(alice))) as socket:
        hears_nothing(socket)
        with transaction.atomic():
            send_to_user(alice.pk, {"type": "feed.health", "status": "degraded", "symbols": ["TCS"]})
            transaction.set_rollback(True)
        send_to_user(alice.pk, STATUS)

        assert receive(socket) == STATUS  # the first thing to arrive is the committed event


def test_prices_reach_only_users_watching_the_symbol(asgi_server, alice, bob, strategy):
    strategy_start(strategy=strategy, actor=alice)
    price = {"type": "price", "symbol": strategy.symbol, "price": "3500.05", "ts": 1}
    with (
        open_socket(asgi_server, token=str(AccessToken.for_user(alice))) as alice_socket,
        open_socket(asgi_server, token=str(AccessToken.for_user(bob))) as bob_socket,
    ):
        hears_nothing(alice_socket)

        publish_price(strategy.symbol, "3500.05", 1)

        assert receive(alice_socket) == price
        assert hears_nothing(bob_socket)


def drain(socket: ClientConnection) -> list[dict]:
    """Everything the socket received until it has been quiet for a moment."""
    received = []
    while True:
        try:
            received.append(json.loads(socket.recv(timeout=1.0)))
        except TimeoutError:
            return received


def test_status_and_order_updates_follow_the_buy_and_the_stop_loss(asgi_server, alice, bob, strategy):
    from datetime import UTC, date, datetime
    from decimal import Decimal

    from brokers.adapters.paper import set_price
    from execution import services
    from execution.ticks import check_ticks
    from strategies.models import StrategyRun

    strategy_start(strategy=strategy, actor=alice)
    set_price(strategy.symbol, strategy.stop_loss + 100)
    session = date(2026, 11, 23)
    with (
        open_socket(asgi_server, token=str(AccessToken.for_user(alice))) as alice_socket,
        open_socket(asgi_server, token=str(AccessToken.for_user(bob))) as bob_socket,
    ):
        drain(alice_socket)

        services.execute_trigger(
            strategy_id=strategy.pk, event="BUY", session_date=session, scheduled_at=datetime.now(UTC)
        )
        after_buy = drain(alice_socket)
        # The stop-loss: the price falls through it (the protective stop at the broker fills),
        # the tick worker's check claims the exit, and the engine records it.
        set_price(strategy.symbol, strategy.stop_loss - Decimal("1"))
        assert check_ticks([[strategy.symbol, str(strategy.stop_loss - 1), 1]])
        run = StrategyRun.objects.get(strategy=strategy, session_date=session)
        StrategyRun.objects.filter(pk=run.pk).update(position="exit_pending", exit_reason="stoploss")
        services.exit_position(run_id=run.pk, reason="stoploss")
        after_exit = drain(alice_socket)

        assert hears_nothing(bob_socket)

    statuses = [event for event in after_buy if event["type"] == "strategy.status"]
    orders = [event["order"] for event in after_buy if event["type"] == "order.update"]
    assert statuses[-1]["position"] == "bought"
    assert {"BUY", "PROTECTIVE_STOP"} <= {order["event"] for order in orders}
    assert any(order["event"] == "BUY" and order["status"] == "complete" for order in orders)
    assert [event for event in after_exit if event["type"] == "strategy.status"][-1]["position"] == "exited"
    # The protective stop filled at the broker, so it is the exit order; no second SELL.
    exit_orders = [event["order"] for event in after_exit if event["type"] == "order.update"]
    assert any(order["event"] == "PROTECTIVE_STOP" and order["status"] == "complete" for order in exit_orders)
    assert not any(order["event"] in {"SELL", "STOPLOSS"} for order in exit_orders)
