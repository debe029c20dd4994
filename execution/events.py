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


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def notify_strategy(strategy_id: object) -> None:
    """Tells the strategy's owner where it stands, read from the database after the commit,
    in the same shape as `GET strategy/status/{id}`."""

    def send() -> None:
        from strategies.models import Strategy
        from strategies.services import strategy_snapshots

        strategy = Strategy.objects.filter(pk=strategy_id).first()
        if strategy is None:
            return
        [snapshot] = strategy_snapshots([strategy], with_last_action=True)
        event: StrategyStatusEvent = {
            "type": "strategy.status",
            "strategy_id": str(strategy.pk),
            "status": strategy.status,
            "position": snapshot.position,
            "last_action": snapshot.last_action,
            "last_price": _text(snapshot.last_price),
            "pnl": _text(snapshot.pnl),
        }
        _send(user_group(strategy.user_id), event)

    transaction.on_commit(send)


def notify_order(order: object) -> None:
    """Tells the order's owner its new state, after the commit."""

    def send() -> None:
        from execution.serializers import OrderSerializer

        event: OrderUpdateEvent = {
            "type": "order.update",
            "strategy_id": str(order.strategy_id),  # type: ignore[attr-defined]
            # The REST representation: ids, decimals and datetimes already as text.
            "order": dict(OrderSerializer(order).data),
        }
        _send(user_group(order.user_id), event)  # type: ignore[attr-defined]

    transaction.on_commit(send)
