"""`/ws/status/`: live strategy status, order updates and prices for the signed-in user.

Clients only listen here; everything they ask for goes through the REST API. The access
token comes in the query string (`?token=`) or as the subprotocol pair `["jwt", token]`,
since browsers cannot set headers on a WebSocket. A bad or expired token closes the socket
with 4401, so the app knows to refresh and reconnect.
"""

from __future__ import annotations

from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from rest_framework.exceptions import AuthenticationFailed

from accounts.authentication import decode_access_token
from accounts.models import User
from execution.events import user_group
from execution.fanout import fanout
from strategies.models import Strategy

CLOSE_UNAUTHORIZED = 4401
SUBPROTOCOL = "jwt"


@database_sync_to_async
def _authenticated_user(raw_token: str) -> User | None:
    try:
        token = decode_access_token(raw_token)
    except AuthenticationFailed:
        return None
    return User.objects.filter(pk=token["user_id"], is_active=True).first()


@database_sync_to_async
def _watched_symbols(user: User) -> list[str]:
    # Every strategy the user has, not only running ones: one started after the socket opened
    # gets its prices too.
    return sorted(set(Strategy.objects.owned_by(user).values_list("symbol", flat=True)))


class StatusConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        token, subprotocol = self._token()
        self.groups_joined: list[str] = []
        user = await _authenticated_user(token) if token else None
        # A close code can only be sent on an accepted socket.
        await self.accept(subprotocol=subprotocol)
        if user is None:
            await self.close(code=CLOSE_UNAUTHORIZED)
            return
        self.user = user
        await self.channel_layer.group_add(user_group(user.pk), self.channel_name)
        self.groups_joined.append(user_group(user.pk))
        # Prices come through the process-local fan-out, not a group per symbol.
        fanout.watch(await _watched_symbols(user), self._send_price)

    async def disconnect(self, code: int) -> None:
        fanout.forget(self._send_price)
        for group in getattr(self, "groups_joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def _send_price(self, payload: str) -> None:
        await self.send(text_data=payload)

    async def receive_json(self, content: object, **kwargs: object) -> None:
        pass  # requests go through the REST API

    async def push(self, message: dict) -> None:
        await self.send_json(message["event"])

    def _token(self) -> tuple[str, str | None]:
        query = parse_qs(self.scope.get("query_string", b"").decode())
        if query.get("token"):
            return query["token"][0], None
        protocols = self.scope.get("subprotocols") or []
        if len(protocols) == 2 and protocols[0] == SUBPROTOCOL:
            return protocols[1], SUBPROTOCOL
        return "", None
