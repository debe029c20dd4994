"""Live prices to many sockets: one Redis subscription per server process, fanned out locally.

A Channels group send costs a Redis round trip per receiving socket; with 1,000 sockets on
one symbol that is 400-500 ms at p99 here. Instead the tick worker PUBLISHes each (throttled)
price once on the `prices:{db}` channel; every web process holds a single subscription and hands
the already-encoded JSON to its own sockets watching that symbol.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable

import redis.asyncio as aioredis
from django.conf import settings

from algotrader.redis import redis_client

logger = logging.getLogger(__name__)

Sender = Callable[[str], Awaitable[None]]


def prices_channel() -> str:
    """Pub/sub channels are global to a Redis server, not per database: the database number
    keeps deployments (and test runs) that share a server apart."""
    return f"prices:{redis_client().connection_pool.connection_kwargs.get('db', 0)}"


def publish_price(symbol: str, price: str, ts: int) -> None:
    """Sends one price to every web process (and so to every socket watching `symbol`)."""
    publish_prices([(symbol, price, ts)])


def publish_prices(prices: list[tuple[str, str, int]]) -> None:
    """Sends (symbol, price, ts) prices to every web process in one round trip: a frame of
    500 symbols published one by one kept the tick worker from the next frame for 25-50 ms."""
    channel = prices_channel()
    pipe = redis_client().pipeline(transaction=False)
    for symbol, price, ts in prices:
        pipe.publish(channel, json.dumps({"type": "price", "symbol": symbol, "price": price, "ts": ts}))
    pipe.execute()


class PriceFanout:
    """The sockets of this process by symbol, fed by one subscription to `prices`."""

    def __init__(self) -> None:
        self.watchers: defaultdict[str, set[Sender]] = defaultdict(set)
        self._listener: asyncio.Task | None = None

    def watch(self, symbols: list[str], send: Sender) -> None:
        for symbol in symbols:
            self.watchers[symbol].add(send)
        if self._listener is None or self._listener.done():
            self._listener = asyncio.get_running_loop().create_task(self._listen())

    def forget(self, send: Sender) -> None:
        for symbol in list(self.watchers):
            self.watchers[symbol].discard(send)
            if not self.watchers[symbol]:
                del self.watchers[symbol]

    async def _listen(self) -> None:
        while True:
            client = aioredis.Redis.from_url(settings.REDIS_URL)
            try:
                async with client.pubsub() as pubsub:
                    await pubsub.subscribe(prices_channel())
                    async for message in pubsub.listen():
                        if message["type"] == "message":
                            await self._deliver(message["data"].decode())
            except asyncio.CancelledError:
                raise
            except Exception:  # Redis went away: resubscribe after a pause, never give up
                logger.exception("price subscription lost; resubscribing")
                await asyncio.sleep(1)
            finally:
                await client.aclose()

    async def _deliver(self, payload: str) -> None:
        # The symbol is read once; every socket gets the same encoded text.
        symbol = json.loads(payload)["symbol"]
        receivers = list(self.watchers.get(symbol, ()))
        if receivers:
            await asyncio.gather(*(send(payload) for send in receivers), return_exceptions=True)


fanout = PriceFanout()
