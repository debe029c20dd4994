"""The market feed gateway: one connection to the market-data source for the whole platform.

`manage.py run_feed` runs it. It subscribes only to the symbols of running strategies and sends
every frame of ticks as one message to the Channels channel `ticks`:

    {"type": "ticks.batch", "ticks": [[symbol, "price", epoch_ms], ...]}

which the tick worker (`manage.py runworker ticks`) consumes. It also keeps, in Redis,
`price:{symbol}` (the last price) and `feed:last_tick:{symbol}` (epoch ms of the last tick).

Which symbols (DESIGN.md section 6): a strategy that starts adds its id to
`symbol:{symbol}:strategies` and its symbol to `symbols:active` in one transaction
(`execution.runtime.activate`); one that stops removes its id (`runtime.deactivate`). Once a
second the feed reads `symbols:active` and prunes from it the symbols whose strategies set is
empty, in one Lua script so that a start racing the prune is never lost. Nothing scans the keyspace.

Sources (`MARKET_DATA_SOURCE`):

- `paper`: a simulated market. Every `PAPER_STEP_SECONDS` each subscribed symbol takes a random
  step of a few ticks from its current paper-market price, applied through `paper.set_price`, so
  resting paper orders fill and trigger as they would on a live market.
- `zerodha`: KiteTicker on `KITE_TICKER_URL` with the platform's own market-data credentials, in
  LTP mode, instrument tokens from the shipped instrument list. KiteTicker reconnects by itself
  with backoff and resubscribes; a refused token (403) or exhausted retries end the feed with an
  error, for the process supervisor to see.

Health: a subscribed symbol with no tick for `FEED_STALE_SECONDS` (10 by default) is stale. The
`feed:health` hash holds `status` (ok|degraded), the stale symbols and when it was checked; it
expires when the feed stops writing it, so a missing hash means no feed. Stale symbols are
resubscribed, at most once per stale period.

The feed never touches the database.
"""

from __future__ import annotations

import asyncio
import logging
import random
import signal
import threading
import time
from collections.abc import Iterable
from decimal import Decimal
from typing import Any, NamedTuple, Protocol

import redis
from channels.exceptions import ChannelFull
from channels.layers import get_channel_layer
from django.conf import settings

from algotrader.redis import redis_client
from brokers.adapters import paper
from brokers.instruments import shipped_instruments
from execution.events import user_group
from execution.runtime import ACTIVE_SYMBOLS, price_key, strategy_key, symbol_key

logger = logging.getLogger(__name__)

TICKS_CHANNEL = "ticks"
HEALTH_KEY = "feed:health"
SYNC_SECONDS = 1.0  # how soon a strategy start or stop reaches the subscriptions
HEALTH_TTL_SECONDS = 5
DEFAULT_STALE_SECONDS = 10.0
PAPER_STEP_SECONDS = 0.25  # four ticks per second per symbol
PAPER_MAX_STEP_TICKS = 3
DEFAULT_TICK_SIZE = Decimal("0.05")
MAX_BACKOFF_SECONDS = 10.0

# Prunes and lists `symbols:active` atomically: a strategy starting between a non-atomic
# SCARD and SREM would have its symbol removed while it runs. The key name is runtime.symbol_key's.
_ACTIVE_SYMBOLS = """
local active = {}
for _, symbol in ipairs(redis.call('SMEMBERS', KEYS[1])) do
    if redis.call('SCARD', 'symbol:' .. symbol .. ':strategies') > 0 then
        active[#active + 1] = symbol
    else
        redis.call('SREM', KEYS[1], symbol)
    end
end
return active
"""


def last_tick_key(symbol: str) -> str:
    return f"feed:last_tick:{symbol}"


def active_symbols() -> set[str]:
    """The symbols with at least one running strategy; prunes the others from `symbols:active`."""
    client = redis_client()
    return set(client.eval(_ACTIVE_SYMBOLS, 1, ACTIVE_SYMBOLS))


def now_ms() -> int:
    return int(time.time() * 1000)


def ticks_message(ticks: Iterable[Tick]) -> dict[str, Any]:
    """The Channels message of one frame of ticks; prices as plain decimal strings, never floats."""
    return {"type": "ticks.batch", "ticks": [[t.symbol, format(t.price, "f"), t.at_ms] for t in ticks]}


class Tick(NamedTuple):
    symbol: str
    price: Decimal
    at_ms: int


class FeedFailed(Exception):
    """The source cannot go on (credentials refused, retries exhausted)."""


class MarketSource(Protocol):
    name: str
    # True when the source writes `price:{symbol}` itself (the paper market does, through set_price).
    sets_prices: bool

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def subscribe(self, symbols: set[str]) -> None:
        """Makes `symbols` the whole subscription."""

    def resubscribe(self, symbols: set[str]) -> None:
        """Renews the subscription of symbols that went quiet."""

    async def next_ticks(self, timeout: float) -> list[Tick]:
        """The next frame of ticks, or [] when `timeout` seconds pass first. Raises FeedFailed."""

    def rest_prices(self, symbols: set[str]) -> dict[str, Decimal]:
        """Last prices over the source's REST API: stop-loss checks go on while symbols are stale."""


class PaperMarket:
    """A random walk per subscribed symbol, in tick-size steps, from its paper-market price."""

    name = "paper"
    sets_prices = True

    def __init__(self, step_seconds: float = PAPER_STEP_SECONDS, rng: random.Random | None = None) -> None:
        self.step_seconds = step_seconds
        self.rng = rng or random.Random()
        self.symbols: set[str] = set()
        self._next_step = time.monotonic()

    async def start(self) -> None:
        self._next_step = time.monotonic()

    async def stop(self) -> None:
        return

    def subscribe(self, symbols: set[str]) -> None:
        self.symbols = set(symbols)

    def resubscribe(self, symbols: set[str]) -> None:
        # Nothing to renew: a paper symbol goes quiet only when it has no price (not a shipped instrument).
        logger.warning("paper feed: no price for %s", ", ".join(sorted(symbols)))

    def rest_prices(self, symbols: set[str]) -> dict[str, Decimal]:
        return paper.market_prices(sorted(symbols))

    async def next_ticks(self, timeout: float) -> list[Tick]:
        wait = self._next_step - time.monotonic()
        if wait > timeout:
            await asyncio.sleep(timeout)
            return []
        await asyncio.sleep(max(wait, 0))
        # A late step does not cause a burst of catch-up steps.
        self._next_step = max(self._next_step + self.step_seconds, time.monotonic())
        return self.step()

    def step(self) -> list[Tick]:
        if not self.symbols:
            return []
        instruments = shipped_instruments()
        ticks = []
        for symbol, price in paper.market_prices(sorted(self.symbols)).items():
            instrument = instruments.get(symbol)
            tick_size = instrument.tick_size if instrument else DEFAULT_TICK_SIZE
            on_grid = (price / tick_size).to_integral_value() * tick_size
            moved = max(tick_size, on_grid + tick_size * self.rng.randint(-PAPER_MAX_STEP_TICKS, PAPER_MAX_STEP_TICKS))
            paper.set_price(symbol, moved)
            ticks.append(Tick(symbol, moved, now_ms()))
        return ticks


class KiteMarket:
    """KiteTicker in this process: its Twisted reactor runs in a thread, and every call into it goes
    through `reactor.callFromThread`, since autobahn's protocol is not thread-safe."""

    name = "zerodha"
    sets_prices = False

    def __init__(self, api_key: str, access_token: str, root: str) -> None:
        self.api_key = api_key
        self.access_token = access_token
        self.root = root
        self.symbols_by_token = {i.token: i.symbol for i in shipped_instruments().values()}
        self._tokens_by_symbol = {symbol: token for token, symbol in self.symbols_by_token.items()}
        self._wanted: frozenset[int] = frozenset()  # touched only on the reactor thread
        self._unknown_reported: set[str] = set()
        self._queue: asyncio.Queue[list[Tick]] = asyncio.Queue()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._failure: str | None = None
        self._ticker: Any = None
        self._reactor: Any = None

    async def start(self) -> None:
        # Imported here: importing kiteconnect installs Twisted's global reactor (BROKERS.md 2.5).
        from kiteconnect import KiteTicker
        from twisted.internet import reactor

        self._loop = asyncio.get_running_loop()
        self._reactor = reactor
        # The shortest delay KiteTicker allows and its most tries: roughly 25 minutes of retrying
        # every 5 s before the feed gives up and exits for its supervisor to restart it.
        ticker = KiteTicker(
            self.api_key, self.access_token, root=self.root, reconnect_max_delay=5, reconnect_max_tries=300
        )
        ticker.on_open = self._on_open
        ticker.on_ticks = self._on_ticks
        ticker.on_error = self._on_error
        ticker.on_close = lambda ws, code, reason: logger.warning("kite feed: connection closed (%s)", code)
        ticker.on_reconnect = lambda ws, attempt: logger.warning("kite feed: reconnecting, attempt %s", attempt)
        ticker.on_noreconnect = lambda ws: self._fail("KiteTicker gave up reconnecting")
        self._ticker = ticker
        ticker.connect(threaded=True)

    async def stop(self) -> None:
        if self._ticker is None:
            return
        self._reactor.callFromThread(self._ticker.close)
        self._reactor.callFromThread(self._reactor.stop)
        thread = getattr(self._ticker, "websocket_thread", None)
        if thread is not None:
            await asyncio.to_thread(thread.join, 5)

    def subscribe(self, symbols: set[str]) -> None:
        unknown = {s for s in symbols if s not in self._tokens_by_symbol} - self._unknown_reported
        if unknown:
            # They stay unsubscribed, hence stale: feed:health names them.
            logger.warning("kite feed: no instrument token for %s", ", ".join(sorted(unknown)))
            self._unknown_reported |= unknown
        tokens = frozenset(self._tokens_by_symbol[s] for s in symbols if s in self._tokens_by_symbol)
        self._reactor.callFromThread(self._want, tokens)

    def resubscribe(self, symbols: set[str]) -> None:
        tokens = sorted(self._tokens_by_symbol[s] for s in symbols if s in self._tokens_by_symbol)
        if tokens:
            self._reactor.callFromThread(self._renew, tokens)

    async def next_ticks(self, timeout: float) -> list[Tick]:
        try:
            ticks = await asyncio.wait_for(self._queue.get(), timeout)
        except TimeoutError:
            ticks = []
        if self._failure:
            raise FeedFailed(self._failure)
        return ticks

    def rest_prices(self, symbols: set[str]) -> dict[str, Decimal]:
        from brokers.adapters.base import BrokerError, Credentials
        from brokers.adapters.zerodha import ZerodhaBroker

        adapter = ZerodhaBroker(Credentials(api_key=self.api_key, access_token=self.access_token), timeout=3)
        try:
            return adapter.last_prices(sorted(symbols))
        except BrokerError as error:
            logger.warning("kite feed: REST prices unavailable too: %s", error.message)
            return {}

    # --- On the reactor thread

    def _want(self, tokens: frozenset[int]) -> None:
        self._wanted = tokens
        self._apply()

    def _apply(self) -> None:
        ticker = self._ticker
        if not ticker.is_connected():
            return  # _on_open applies the subscription once connected
        current = set(ticker.subscribed_tokens)
        gone = sorted(current - self._wanted)
        new = sorted(self._wanted - current)
        if gone:
            ticker.unsubscribe(gone)
        if new:
            ticker.subscribe(new)
            ticker.set_mode(ticker.MODE_LTP, new)

    def _renew(self, tokens: list[int]) -> None:
        tokens = [t for t in tokens if t in self._wanted]
        if tokens and self._ticker.is_connected():
            self._ticker.unsubscribe(tokens)
            self._ticker.subscribe(tokens)
            self._ticker.set_mode(self._ticker.MODE_LTP, tokens)

    def _on_open(self, ws: Any) -> None:
        # On a reconnect KiteTicker has just resubscribed what it had; this adds what started and
        # drops what stopped while the connection was down.
        logger.info("kite feed: connected")
        self._apply()

    def _on_ticks(self, ws: Any, ticks: list[dict[str, Any]]) -> None:
        at = now_ms()
        batch = [
            Tick(symbol, Decimal(str(tick["last_price"])).quantize(Decimal("0.01")), at)
            for tick in ticks
            if (symbol := self.symbols_by_token.get(tick["instrument_token"]))
        ]
        if batch:
            self._post(batch)

    def _on_error(self, ws: Any, code: int, reason: Any) -> None:
        logger.warning("kite feed: error %s: %s", code, reason)
        if "403" in str(reason):
            # Kite refuses the upgrade with 403 for a bad or expired token; retrying cannot help.
            ws.stop_retry()
            self._fail("Kite refused the market-data credentials (403): renew MARKET_DATA_ACCESS_TOKEN")

    def _fail(self, reason: str) -> None:
        self._failure = reason
        self._post([])  # wakes the gateway, which raises FeedFailed

    def _post(self, batch: list[Tick]) -> None:
        assert self._loop is not None
        self._loop.call_soon_threadsafe(self._queue.put_nowait, batch)


def configured_source() -> MarketSource:
    if settings.MARKET_DATA_SOURCE == "zerodha":
        if not settings.MARKET_DATA_API_KEY or not settings.MARKET_DATA_ACCESS_TOKEN:
            raise FeedFailed("MARKET_DATA_SOURCE=zerodha needs MARKET_DATA_API_KEY and MARKET_DATA_ACCESS_TOKEN")
        return KiteMarket(settings.MARKET_DATA_API_KEY, settings.MARKET_DATA_ACCESS_TOKEN, settings.KITE_TICKER_URL)
    return PaperMarket()


class FeedGateway:
    def __init__(self, source: MarketSource, *, stale_seconds: float | None = None) -> None:
        self.source = source
        self.stale_seconds = (
            stale_seconds
            if stale_seconds is not None
            else float(getattr(settings, "FEED_STALE_SECONDS", DEFAULT_STALE_SECONDS))
        )
        self.subscribed: set[str] = set()
        self._watched_since: dict[str, float] = {}  # monotonic time of subscribing or last renewal
        self._last_tick: dict[str, float] = {}  # monotonic
        self._renewed_at: dict[str, float] = {}
        self._health: tuple[str, tuple[str, ...]] | None = None
        self.stale: list[str] = []
        # Symbols whose users must hear the feed changed for them (went stale or recovered).
        self._to_tell: set[str] = set()
        self._dropped = 0
        self._stopping = threading.Event()

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        """Runs until `stop()`, SIGTERM or SIGINT. Raises FeedFailed when the source gives up."""
        loop = asyncio.get_running_loop()
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(signum, self.stop)
        layer = get_channel_layer()
        await self.source.start()
        logger.info("feed started: source %s, stale after %ss", self.source.name, self.stale_seconds)
        backoff = 1.0
        next_sync = 0.0
        try:
            while not self._stopping.is_set():
                try:
                    if time.monotonic() >= next_sync:
                        self._sync()
                        next_sync = time.monotonic() + SYNC_SECONDS
                        if self.stale:
                            await self._publish_rest_prices(layer)
                        if self._to_tell:
                            await self._tell_users(layer)
                    ticks = await self.source.next_ticks(min(max(next_sync - time.monotonic(), 0), 0.25))
                    if ticks:
                        await self._publish(layer, ticks)
                    backoff = 1.0
                except (redis.RedisError, OSError) as error:
                    # Redis (state or channel layer) is down: keep the connection to the market and retry.
                    logger.error("feed: %s; retrying in %ss", error, backoff)
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
        finally:
            await self.source.stop()
            await layer.close_pools()
            logger.info("feed stopped")

    def _sync(self) -> None:
        symbols = active_symbols()
        now = time.monotonic()
        if symbols != self.subscribed:
            added, removed = symbols - self.subscribed, self.subscribed - symbols
            logger.info(
                "feed: subscribing %s; unsubscribing %s", sorted(added) or "nothing", sorted(removed) or "nothing"
            )
            self.source.subscribe(symbols)
            for symbol in added:
                self._watched_since[symbol] = now
            for symbol in removed:
                self._watched_since.pop(symbol, None)
                self._last_tick.pop(symbol, None)
                self._renewed_at.pop(symbol, None)
            self.subscribed = symbols
        self._check_health(now)

    def _check_health(self, now: float) -> None:
        stale = sorted(
            symbol
            for symbol in self.subscribed
            if now - max(self._watched_since[symbol], self._last_tick.get(symbol, 0.0)) >= self.stale_seconds
        )
        status = "degraded" if stale else "ok"
        pipe = redis_client().pipeline(transaction=True)
        pipe.hset(
            HEALTH_KEY,
            mapping={
                "status": status,
                "stale": ",".join(stale),
                "subscribed": len(self.subscribed),
                "source": self.source.name,
                "checked_at": now_ms(),
            },
        )
        pipe.expire(HEALTH_KEY, HEALTH_TTL_SECONDS)
        pipe.execute()
        self.stale = stale
        if (status, tuple(stale)) != self._health:
            previously = set(self._health[1]) if self._health else set()
            self._to_tell |= previously ^ set(stale)
            if stale:
                logger.warning("feed degraded: no tick for %ss on %s", self.stale_seconds, ", ".join(stale))
            elif self._health is not None:
                logger.info("feed ok")
            self._health = (status, tuple(stale))
        renew = {s for s in stale if now - self._renewed_at.get(s, self._watched_since[s]) >= self.stale_seconds}
        if renew:
            self.source.resubscribe(renew)
            for symbol in renew:
                self._renewed_at[symbol] = now

    async def _publish_rest_prices(self, layer: Any) -> None:
        """While symbols are stale, their REST prices go to the tick worker once a second, so
        stop-losses are still checked. They do not count as ticks: the feed stays degraded
        until the stream itself recovers."""
        prices = await asyncio.to_thread(self.source.rest_prices, set(self.stale))
        if not prices:
            return
        at = now_ms()
        ticks = [Tick(symbol, price, at) for symbol, price in prices.items() if symbol in self.subscribed]
        if not self.source.sets_prices:
            pipe = redis_client().pipeline(transaction=False)
            for tick in ticks:
                pipe.set(price_key(tick.symbol), format(tick.price, "f"))
            pipe.execute()
        await self._send(layer, ticks)

    async def _tell_users(self, layer: Any) -> None:
        """Sends `feed.health` to the users whose running strategies trade the symbols that
        went stale or recovered (found through the runtime, without the database)."""
        symbols, self._to_tell = sorted(self._to_tell), set()
        client = redis_client()
        users: dict[str, set[str]] = {}
        for symbol in symbols:
            for strategy_id in client.smembers(symbol_key(symbol)):
                user_id = client.hget(strategy_key(strategy_id), "user_id")
                if user_id:
                    users.setdefault(user_id, set()).add(symbol)
        stale = set(self.stale)
        for user_id, mine in users.items():
            event = {
                "type": "feed.health",
                "status": "degraded" if mine & stale else "ok",
                "symbols": sorted(mine & stale),
            }
            await layer.group_send(user_group(user_id), {"type": "push", "event": event})

    async def _publish(self, layer: Any, ticks: list[Tick]) -> None:
        now = time.monotonic()
        # A tick of a symbol that was just unsubscribed may still be in flight; it is not published.
        ticks = [t for t in ticks if t.symbol in self.subscribed]
        if not ticks:
            return
        pipe = redis_client().pipeline(transaction=False)
        for tick in ticks:
            self._last_tick[tick.symbol] = now
            pipe.set(last_tick_key(tick.symbol), tick.at_ms)
            if not self.source.sets_prices:
                pipe.set(price_key(tick.symbol), format(tick.price, "f"))
        pipe.execute()
        await self._send(layer, ticks)

    async def _send(self, layer: Any, ticks: list[Tick]) -> None:
        try:
            await layer.send(TICKS_CHANNEL, ticks_message(ticks))
        except ChannelFull:
            # Nobody consumes `ticks` (no tick worker running): drop, since a late price is a wrong price.
            self._dropped += 1
            if self._dropped % 100 == 1:
                logger.warning("feed: the %s channel is full; %s batches dropped so far", TICKS_CHANNEL, self._dropped)
