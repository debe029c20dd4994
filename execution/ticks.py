"""The tick worker (`manage.py runworker ticks`): last prices, stop-loss checks, live prices.

The feed sends each frame's ticks as one `ticks.batch` message. Per batch the worker makes
one Redis round trip: it stores every last price and asks each symbol's stop-loss index
(`sl:{symbol}`, a sorted set scored by stop-loss) for the positions at or above the price,
O(log n + k), never a scan. A hit is claimed by ZREM from the index: of several tick workers
and a burst of ticks, exactly one gets 1, and only that one queues the exit on the `stoploss`
queue, whose worker never waits behind other work. The database is not touched here: the
exit task claims the run (`bought -> exit_pending`) under the strategy's lock, as every exit
does, so a SELL or a stop racing the stop-loss still gives one exit.
"""

from __future__ import annotations

import logging
import time
from decimal import Decimal

from celery import current_app
from channels.consumer import AsyncConsumer

from algotrader.redis import redis_client
from execution import runtime
from execution.fanout import publish_prices

logger = logging.getLogger(__name__)

EXIT_TASK = "execution.tasks.exit_position_task"
# Prices reach the app at most this often per symbol; stop-loss checks see every tick.
PRICE_PUSH_INTERVAL_S = 0.5


def check_ticks(ticks: list[list]) -> list[tuple[str, str, Decimal, float]]:
    """Stores the batch's last prices and returns (symbol, strategy_id, price, stop-loss) for
    every stop-loss the batch reaches whose exit this worker claimed in Redis."""
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
        pipe.zrangebyscore(runtime.stop_loss_key(symbol), float(lowest[symbol]), "+inf", withscores=True)
    answers = pipe.execute()[len(latest) :]
    hits = [(symbol, hit) for symbol, members in zip(symbols, answers, strict=True) for hit in members]
    if not hits:
        return []
    pipe = client.pipeline(transaction=False)
    for symbol, (member, _stop) in hits:
        pipe.zrem(runtime.stop_loss_key(symbol), member)
    claimed = pipe.execute()
    return [
        (symbol, member, lowest[symbol], stop)
        for (symbol, (member, stop)), won in zip(hits, claimed, strict=True)
        if won
    ]


def queue_stop_loss_exit(symbol: str, strategy_id: str, price: Decimal, stop: float) -> None:
    """Queues the exit of a stop-loss this worker claimed. Should the queue refuse it, the
    stop-loss goes back into the index, so that the next tick claims it again."""
    try:
        current_app.send_task(EXIT_TASK, args=[None, "stoploss"], kwargs={"strategy_id": strategy_id}, queue="stoploss")
    except Exception:
        logger.exception("stop-loss exit not queued", extra={"strategy_id": strategy_id})
        redis_client().zadd(runtime.stop_loss_key(symbol), {strategy_id: stop})
        return
    logger.info("stop-loss hit", extra={"strategy_id": strategy_id, "price": str(price)})


class TickConsumer(AsyncConsumer):
    """Handles the `ticks` channel; several of these may run at once."""

    async def websocket_connect(self, message: dict) -> None:  # pragma: no cover - not a socket
        raise RuntimeError("the tick worker serves the `ticks` channel only")

    async def ticks_batch(self, message: dict) -> None:
        ticks = message["ticks"]
        for symbol, strategy_id, price, stop in check_ticks(ticks):
            queue_stop_loss_exit(symbol, strategy_id, price, stop)
        await self._push_prices(ticks)

    async def _push_prices(self, ticks: list[list]) -> None:
        now = time.monotonic()
        pushed = getattr(self, "_pushed_at", None)
        if pushed is None:
            pushed = self._pushed_at = {}
        latest = {symbol: (price, ts) for symbol, price, ts, *_ in ticks}
        due = []
        for symbol, (price, ts) in latest.items():
            if now - pushed.get(symbol, 0.0) >= PRICE_PUSH_INTERVAL_S:
                pushed[symbol] = now
                due.append((symbol, str(price), int(ts)))
        if due:
            publish_prices(due)
