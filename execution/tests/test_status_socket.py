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
