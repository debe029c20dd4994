"""The tick worker (`manage.py runworker ticks`): last prices, stop-loss checks, live prices.

The feed sends each frame's ticks as one `ticks.batch` message. Per batch the worker makes
one Redis round trip: it stores every last price and asks each symbol's stop-loss index
(`sl:{symbol}`, a sorted set scored by stop-loss) for the positions at or above the price,
O(log n + k), never a scan. A hit is claimed twice over, so several tick workers and a
burst of ticks still give one exit: ZREM from the index (only one worker gets 1), then the
run's `bought -> exit_pending` conditional update in PostgreSQL; the exit itself is queued
on the `stoploss` queue, whose worker never waits behind other work.
"""

from __future__ import annotations

import logging
import time
from decimal import Decimal

from celery import current_app
from channels.consumer import AsyncConsumer
from channels.db import database_sync_to_async
from django.db import transaction

from algotrader.redis import redis_client
from execution import runtime
from execution.fanout import publish_price

logger = logging.getLogger(__name__)

EXIT_TASK = "execution.tasks.exit_position_task"
# Prices reach the app at most this often per symbol; stop-loss checks see every tick.
PRICE_PUSH_INTERVAL_S = 0.5


def check_ticks(ticks: list[list]) -> list[tuple[str, str, Decimal]]:
    """Stores the batch's last prices and returns (symbol, strategy_id, price) for every
    stop-loss the batch reaches whose exit this worker claimed in Redis."""
    latest: dict[str, Decimal] = {}
    for symbol, price, *_ in ticks:
        latest[symbol] = Decimal(price)  # a later tick in the frame supersedes an earlier one
    lowest: dict[str, Decimal] = {}
    for symbol, price, *_ in ticks:
        lowest[symbol] = min(lowest.get(symbol, Decimal(price)), Decimal(price))
    client = redis_client()
    pipe = client.pipeline(transaction=False)
    for symbol, price in latest.items():
        pipe.set(runtime.price_key(symbol), str(price))
    symbols = list(lowest)
    for symbol in symbols:
        # The lowest price of the frame: a dip below the stop inside one frame still counts.
        pipe.zrangebyscore(runtime.stop_loss_key(symbol), float(lowest[symbol]), "+inf")
    answers = pipe.execute()[len(latest) :]
    hits = [(symbol, member) for symbol, members in zip(symbols, answers, strict=True) for member in members]
    if not hits:
        return []
    pipe = client.pipeline(transaction=False)
    for symbol, member in hits:
        pipe.zrem(runtime.stop_loss_key(symbol), member)
    claimed = pipe.execute()
    return [(symbol, member, lowest[symbol]) for (symbol, member), won in zip(hits, claimed, strict=True) if won]


def claim_stop_loss_exit(strategy_id: str, price: Decimal) -> str | None:
    """Moves the strategy's open run to `exit_pending` and queues its exit; the run id, or
    None when the run was no longer `bought` (a SELL or another exit got there first)."""
    from strategies.models import StrategyRun

    run = StrategyRun.objects.filter(strategy_id=strategy_id, position=StrategyRun.Position.BOUGHT).first()
    if run is None:
        return None
    with transaction.atomic():
        claimed = StrategyRun.objects.filter(pk=run.pk, position=StrategyRun.Position.BOUGHT).update(
            position=StrategyRun.Position.EXIT_PENDING, exit_reason=StrategyRun.ExitReason.STOPLOSS
        )
        if claimed != 1:
            return None
        transaction.on_commit(
            lambda: current_app.send_task(EXIT_TASK, args=[str(run.pk), "stoploss"], queue="stoploss")
        )
    logger.info("stop-loss hit", extra={"strategy_id": strategy_id, "run_id": str(run.pk), "price": str(price)})
    return str(run.pk)


class TickConsumer(AsyncConsumer):
    """Handles the `ticks` channel; several of these may run at once."""

    async def websocket_connect(self, message: dict) -> None:  # pragma: no cover - not a socket
        raise RuntimeError("the tick worker serves the `ticks` channel only")

    async def ticks_batch(self, message: dict) -> None:
        ticks = message["ticks"]
        for _symbol, strategy_id, price in check_ticks(ticks):
            await database_sync_to_async(claim_stop_loss_exit)(strategy_id, price)
        await self._push_prices(ticks)

    async def _push_prices(self, ticks: list[list]) -> None:
        now = time.monotonic()
        pushed = getattr(self, "_pushed_at", None)
        if pushed is None:
            pushed = self._pushed_at = {}
        latest = {symbol: (price, ts) for symbol, price, ts, *_ in ticks}
        for symbol, (price, ts) in latest.items():
            if now - pushed.get(symbol, 0.0) >= PRICE_PUSH_INTERVAL_S:
                pushed[symbol] = now
                publish_price(symbol, str(price), int(ts))
