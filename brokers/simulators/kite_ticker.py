"""A KiteTicker simulator: Kite's market-data WebSocket, as kiteconnect 5.2.2 speaks it (BROKERS.md section 2).

It lets the unmodified `kiteconnect.KiteTicker` and our feed run against Kite's real wire protocol
on loopback rather than against a mock of the SDK:

- The URL is `{url}?api_key=..&access_token=..`; a pair it does not know is refused at the HTTP
  upgrade with 403, as Kite does (the SDK then retries until told to stop).
- Clients send text frames `{"a":"subscribe","v":[tokens]}`, `{"a":"unsubscribe","v":[tokens]}` and
  `{"a":"mode","v":["ltp"|"quote"|"full",[tokens]]}`; a new subscription streams in quote mode.
- `publish()` sends Kite's big-endian binary frame: a uint16 packet count, then each packet as a
  uint16 length and 8 (ltp), 44 (quote) or 184 (full) bytes, prices in paise (the SDK divides by the
  token's segment divisor, so currency segments use theirs). Each connection gets the packets of
  the tokens it subscribed, in the mode it chose for each.
- A 1-byte heartbeat goes to a connection that has been sent nothing for a second.
- `send_order_update()` and `send_error()` send Kite's text messages (`{"type":"order","data":...}`).
- `drop_connections()` aborts every connection's TCP stream, as a network failure would, so that
  reconnects and resubscriptions can be tested.

Only equity-style packets are built; index packets (28 and 32 bytes, segment 9) are not.

It runs the `websockets` server on its own event loop in a background thread: `start()`/`stop()`
(or `with`), and `.url` to give KiteTicker as `root`.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import struct
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

DEFAULT_API_KEY = "kitesimkey"
DEFAULT_ACCESS_TOKEN = "kitesimtoken"  # noqa: S105 (the sandbox's published credential)

MODE_LTP, MODE_QUOTE, MODE_FULL = "ltp", "quote", "full"
MODES = frozenset({MODE_LTP, MODE_QUOTE, MODE_FULL})
HEARTBEAT = b"\x00"
DEPTH_LEVELS = 5
NSE_TICK = Decimal("0.05")
# The SDK's divisor per segment (token & 0xFF): CDS 3, BCD 6, NCO 12; every other segment is in paise.
SEGMENT_DIVISORS = {3: 10_000_000, 6: 10_000, 12: 10_000}
PAISE = 100


def divisor(token: int) -> int:
    return SEGMENT_DIVISORS.get(token & 0xFF, PAISE)


def encode_price(token: int, price: Decimal | int | float | str) -> int:
    """A price in the token's wire units (paise for equities): an unsigned 32-bit integer."""
    raw = (Decimal(str(price)) * divisor(token)).to_integral_value(ROUND_HALF_UP)
    if not 0 <= raw <= 0xFFFFFFFF:
        raise ValueError(f"{price} does not fit Kite's unsigned 32-bit price field")
    return int(raw)


def frame(packets: Iterable[bytes]) -> bytes:
    """Kite's binary message: the number of packets, then each one prefixed by its length."""
    packets = list(packets)
    return struct.pack(">H", len(packets)) + b"".join(struct.pack(">H", len(p)) + p for p in packets)


@dataclass
class InstrumentState:
    """What a token's packets report, in wire units; `publish` moves it."""

    token: int
    last: int = 0
    open: int = 0
    high: int = 0
    low: int = 0
    close: int = 0  # the previous session's close: the SDK computes `change` from it
    volume: int = 0
    turnover: int = 0  # sum of quantity * price, for the average traded price
    last_quantity: int = 0
    last_trade_time: int = 0

    def trade(self, price: int, quantity: int, close: int | None) -> None:
        if not self.volume:
            self.open = self.high = self.low = price
            self.close = price if close is None else close
        elif close is not None:
            self.close = close
        self.last = price
        self.high = max(self.high, price)
        self.low = min(self.low, price)
        self.volume += quantity
        self.turnover += quantity * price
        self.last_quantity = quantity
        self.last_trade_time = int(time.time())

    def depth(self) -> list[tuple[int, int, int]]:
        """Five bids below the last price and five asks above it, a tick apart: (quantity, price, orders)."""
        step = max(1, encode_price(self.token, NSE_TICK))
        bids = [(100 * (level + 1), max(0, self.last - step * (level + 1)), level + 1) for level in range(DEPTH_LEVELS)]
        asks = [(100 * (level + 1), self.last + step * (level + 1), level + 1) for level in range(DEPTH_LEVELS)]
        return bids + asks

    def ltp_packet(self) -> bytes:
        return struct.pack(">II", self.token, self.last)

    def quote_packet(self) -> bytes:
        resting = sum(quantity for quantity, _, _ in self.depth()[:DEPTH_LEVELS])
        average = self.turnover // self.volume if self.volume else 0
        return struct.pack(
            ">11I",
            self.token,
            self.last,
            self.last_quantity,
            average,
            self.volume,
            resting,  # total buy quantity
            resting,  # total sell quantity
            self.open,
            self.high,
            self.low,
            self.close,
        )

    def full_packet(self) -> bytes:
        header = struct.pack(">5I", self.last_trade_time, 0, 0, 0, int(time.time()))  # no open interest for equities
        depth = b"".join(struct.pack(">IIH2x", quantity, price, orders) for quantity, price, orders in self.depth())
        return self.quote_packet() + header + depth

    def packet(self, mode: str) -> bytes:
        if mode == MODE_LTP:
            return self.ltp_packet()
        if mode == MODE_FULL:
            return self.full_packet()
        return self.quote_packet()


@dataclass
class Client:
    """One open connection: what it subscribed, in which mode, and the text messages it sent."""

    id: int
    api_key: str
    connection: ServerConnection
    modes: dict[int, str] = field(default_factory=dict)
    last_sent: float = field(default_factory=time.monotonic)


@dataclass(frozen=True)
class Received:
    """A text message a client sent, as the server parsed it."""

    client: int
    action: str
    value: Any


class KiteTickerSimulator:
    def __init__(
        self,
        credentials: Mapping[str, str] | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        path: str = "/",
        heartbeat_seconds: float = 1.0,
    ) -> None:
        self.credentials = dict(credentials or {DEFAULT_API_KEY: DEFAULT_ACCESS_TOKEN})
        self.host = host
        self.port = port
        self.path = path
        self.heartbeat_seconds = heartbeat_seconds
        self.instruments: dict[int, InstrumentState] = {}
        self.received: list[Received] = []
        self.connections_accepted = 0
        self.refused = 0
        self._clients: dict[int, Client] = {}
        self._ids = itertools.count(1)
        # Guards what tests read from their own thread while the server's loop writes it.
        self._changed = threading.Condition()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: Server | None = None
        self._heartbeat_task: asyncio.Task[None] | None = None
        self._thread: threading.Thread | None = None

    # --- Lifecycle

    @property
    def url(self) -> str:
        return f"ws://{self.host}:{self.port}{self.path}"

    def start(self) -> KiteTickerSimulator:
        loop = asyncio.new_event_loop()
        started = threading.Event()
        self._loop = loop
        self._thread = threading.Thread(target=self._run, args=(loop, started), name="kite-ticker-sim", daemon=True)
        self._thread.start()
        if not started.wait(10):
            raise RuntimeError("the Kite ticker simulator did not start")
        return self

    def _run(self, loop: asyncio.AbstractEventLoop, started: threading.Event) -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(self._listen())
        started.set()
        loop.run_forever()
        loop.close()

    async def _listen(self) -> None:
        self._server = await serve(self._serve, self.host, self.port, process_request=self._authorize)
        self.port = self._server.sockets[0].getsockname()[1]
        self._heartbeat_task = asyncio.create_task(self._heartbeats())

    def stop(self) -> None:
        if self._loop is None or self._thread is None:
            return
        self._call(self._shutdown())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop = self._thread = None

    async def _shutdown(self) -> None:
        assert self._server is not None
        assert self._heartbeat_task is not None
        self._heartbeat_task.cancel()
        self._server.close()
        await self._server.wait_closed()

    def __enter__(self) -> KiteTickerSimulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _call(self, coroutine: Any) -> Any:
        """Runs a coroutine on the server's loop from a test's thread and waits for it."""
        assert self._loop is not None, "start() the simulator first"
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(10)

    # --- The connection

    def _authorize(self, connection: ServerConnection, request: Request) -> Response | None:
        url = urlsplit(request.path)
        if url.path != self.path:
            return connection.respond(HTTPStatus.NOT_FOUND, "Not Found\n")
        query = parse_qs(url.query)
        api_key = (query.get("api_key") or [""])[0]
        access_token = (query.get("access_token") or [""])[0]
        if not api_key or self.credentials.get(api_key) != access_token:
            with self._changed:
                self.refused += 1
                self._changed.notify_all()
            return connection.respond(HTTPStatus.FORBIDDEN, "Forbidden\n")
        return None

    async def _serve(self, connection: ServerConnection) -> None:
        api_key = parse_qs(urlsplit(connection.request.path).query)["api_key"][0]  # type: ignore[union-attr]
        client = Client(id=next(self._ids), api_key=api_key, connection=connection)
        with self._changed:
            self._clients[client.id] = client
            self.connections_accepted += 1
            self._changed.notify_all()
        try:
            async for message in connection:
                if isinstance(message, str):
                    self._on_text(client, message)
        except ConnectionClosed:
            pass
        finally:
            with self._changed:
                self._clients.pop(client.id, None)
                self._changed.notify_all()

    def _on_text(self, client: Client, message: str) -> None:
        try:
            request = json.loads(message)
            action, value = request["a"], request["v"]
        except (ValueError, KeyError, TypeError):
            return  # Kite ignores what it cannot parse
        with self._changed:
            if action == "subscribe":
                for token in value:
                    # Kite streams a new subscription in quote mode; the SDK records it so too.
                    client.modes.setdefault(int(token), MODE_QUOTE)
            elif action == "unsubscribe":
                for token in value:
                    client.modes.pop(int(token), None)
            elif action == "mode" and len(value) == 2 and value[0] in MODES:
                mode, tokens = value
                for token in tokens:
                    if int(token) in client.modes:
                        client.modes[int(token)] = mode
            self.received.append(Received(client.id, action, value))
            self._changed.notify_all()

    async def _heartbeats(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_seconds / 4)
            idle_since = time.monotonic() - self.heartbeat_seconds
            for client in list(self._clients.values()):
                if client.last_sent <= idle_since:
                    await self._send(client, HEARTBEAT)

    async def _send(self, client: Client, message: bytes | str) -> None:
        client.last_sent = time.monotonic()
        try:
            await client.connection.send(message)
        except ConnectionClosed:
            pass  # the client left between the snapshot and the send

    # --- What tests do

    def publish(
        self, token: int, price: Decimal | int | float | str, *, quantity: int = 1, close: Decimal | None = None
    ) -> int:
        """A trade of `quantity` at `price` on `token`; see `publish_many`."""
        return self.publish_many({token: price}, quantity=quantity, close=close)

    def publish_many(
        self, prices: Mapping[int, Decimal | int | float | str], *, quantity: int = 1, close: Decimal | None = None
    ) -> int:
        """Trades on several tokens, sent as one binary frame per connection holding a packet for each
        token that connection subscribed, in its mode. `close` sets the previous close the SDK's
        `change` is computed from. Returns how many connections were sent a frame."""
        for token, price in prices.items():
            state = self.instruments.setdefault(token, InstrumentState(token))
            state.trade(encode_price(token, price), quantity, None if close is None else encode_price(token, close))
        return self._call(self._broadcast(list(prices)))

    async def _broadcast(self, tokens: list[int]) -> int:
        sent = 0
        for client in list(self._clients.values()):
            packets = [self.instruments[t].packet(client.modes[t]) for t in tokens if t in client.modes]
            if packets:
                await self._send(client, frame(packets))
                sent += 1
        return sent

    def send_order_update(self, data: Mapping[str, Any], *, api_key: str | None = None) -> int:
        """Kite's order postback as a text message, to the connections of `api_key` (all when None)."""
        return self._call(self._send_text({"type": "order", "data": dict(data)}, api_key))

    def send_error(self, message: str, *, api_key: str | None = None) -> int:
        """Kite's error text message; the SDK reports it through on_error and keeps the connection."""
        return self._call(self._send_text({"type": "error", "data": message}, api_key))

    async def _send_text(self, payload: dict[str, Any], api_key: str | None) -> int:
        clients = [c for c in list(self._clients.values()) if api_key in (None, c.api_key)]
        for client in clients:
            await self._send(client, json.dumps(payload))
        return len(clients)

    def drop_connections(self) -> int:
        """Aborts every connection's TCP stream without a close handshake, as a network failure would."""
        return self._call(self._drop())

    async def _drop(self) -> int:
        clients = list(self._clients.values())
        for client in clients:
            client.connection.transport.abort()
        return len(clients)

    @property
    def open_connections(self) -> int:
        with self._changed:
            return len(self._clients)

    def subscriptions(self) -> dict[int, str]:
        """Every token some open connection subscribed, with its mode (the last connection's wins)."""
        with self._changed:
            return {token: mode for client in self._clients.values() for token, mode in client.modes.items()}

    def wait_for(self, condition: Callable[[], bool], timeout: float = 5.0) -> bool:
        """Waits until `condition()` (called under the simulator's lock) holds; False on timeout."""
        with self._changed:
            return self._changed.wait_for(condition, timeout)
