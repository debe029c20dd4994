"""The tick worker (`manage.py runworker ticks`): last prices, stop-loss checks, live prices.

The feed sends each frame's ticks as one `ticks.batch` message. Per batch the worker makes
one Redis round trip: it stores every last price and asks each symbol's stop-loss index
(`sl:{symbol}`, a sorted set scored by stop-loss) for the positions at or above the price,
O(log n + k), never a scan. A hit is claimed by ZREM from the index in the same script: of
several tick workers and a burst of ticks, exactly one takes it, and only that one queues the
exit on the `stoploss` queue, whose worker never waits behind other work. The database is not touched here: the
exit task claims the run (`bought -> exit_pending`) under the strategy's lock, as every exit
does, so a SELL or a stop racing the stop-loss still gives one exit.
"""

from __future__ import annotations

import logging
import time
from decimal import Decimal
from functools import cache

from celery import current_app
from channels.consumer import AsyncConsumer
from redis.commands.core import Script

from algotrader.redis import redis_client
from execution import runtime
from execution.fanout import publish_prices

logger = logging.getLogger(__name__)

EXIT_TASK = "execution.tasks.exit_position_task"
# Prices reach the app at most this often per symbol; stop-loss checks see every tick.
PRICE_PUSH_INTERVAL_S = 0.5


# One round trip per frame, atomic: store the last prices, then take (ZRANGEBYSCORE + ZREM) every
# stop-loss at or above the frame's lowest price of its symbol. Being one script, of two
# workers checking the same frame only one can take a given stop.
# KEYS: the frame's price keys, then its symbols' stop-loss keys. ARGV: the number of price
# keys, their prices, then each stop-loss key's lowest price.
# Returns flat triples: (index of the stop-loss key, member, its score).
_CHECK = """
local n = tonumber(ARGV[1])
for i = 1, n do
    redis.call('SET', KEYS[i], ARGV[i + 1])
end
local hits = {}
for i = n + 1, #KEYS do
    local found = redis.call('ZRANGEBYSCORE', KEYS[i], ARGV[i + 1], '+inf', 'WITHSCORES')
    for j = 1, #found, 2 do
        redis.call('ZREM', KEYS[i], found[j])
        hits[#hits + 1] = i - n
        hits[#hits + 1] = found[j]
        hits[#hits + 1] = found[j + 1]
    end
end
return hits
"""


@cache
def _check_script() -> Script:
    return redis_client().register_script(_CHECK)


def check_ticks(ticks: list[list]) -> list[tuple[str, str, Decimal, float]]:
    """Stores the batch's last prices and returns (symbol, strategy_id, price, stop-loss) for
    every stop-loss the batch reaches, each claimed by this call alone."""
    latest: dict[str, str] = {}
    lowest: dict[str, tuple[float, str]] = {}
    for symbol, price, *_ in ticks:
        latest[symbol] = price  # a later tick in the frame supersedes an earlier one
        value = float(price)
        # The lowest price of the frame: a dip below the stop inside one frame still counts.
        if symbol not in lowest or value < lowest[symbol][0]:
            lowest[symbol] = (value, price)
    symbols = list(lowest)
    keys = [runtime.price_key(symbol) for symbol in latest] + [runtime.stop_loss_key(symbol) for symbol in symbols]
    args = [len(latest), *latest.values(), *(lowest[symbol][1] for symbol in symbols)]
    found = _check_script()(keys=keys, args=args)
    return [
        (symbols[int(index) - 1], member, Decimal(lowest[symbols[int(index) - 1]][1]), float(score))
        for index, member, score in zip(found[0::3], found[1::3], found[2::3], strict=True)
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
