"""What the app receives over `/ws/status/`, as typed payloads, and the one way to send them.

The TypeScript mirror is `mobile/src/api/events.ts`. Events go out only after the
transaction that produced them commits, so the app never sees a state the database rolled
back.
"""

from __future__ import annotations

from typing import Literal, TypedDict

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction


class StrategyStatusEvent(TypedDict):
    type: Literal["strategy.status"]
    strategy_id: str
    status: str
    position: str
    last_action: str | None
    last_price: str | None
    pnl: str | None


class OrderUpdateEvent(TypedDict):
    type: Literal["order.update"]
    strategy_id: str
    order: dict


class PriceEvent(TypedDict):
    type: Literal["price"]
    symbol: str
    price: str
    ts: int


class FeedHealthEvent(TypedDict):
    type: Literal["feed.health"]
    status: Literal["ok", "degraded"]
    symbols: list[str]


Event = StrategyStatusEvent | OrderUpdateEvent | PriceEvent | FeedHealthEvent


def user_group(user_id: object) -> str:
    return f"user.{user_id}"


def _send(group: str, event: Event) -> None:
    async_to_sync(get_channel_layer().group_send)(group, {"type": "push", "event": event})


def send_to_user(user_id: object, event: Event) -> None:
    """Sends `event` to every socket of the user once the current transaction commits
    (at once outside a transaction)."""
    transaction.on_commit(lambda: _send(user_group(user_id), event))
