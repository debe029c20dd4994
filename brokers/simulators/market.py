"""What the REST broker simulators (Dhan, Fyers, Angel One) share: a market and an account.

`MarketSimulator` keeps the tokens, the orders and the orders-per-second window, fills orders
against the prices a test sets (MARKET at once, LIMIT at its price or better, stop orders resting
until `set_price` crosses their trigger) and nets filled orders into positions. It reads and
writes orders in the broker's own field names, named by the subclass's `OrderFields`, and
answers in the broker's own dialect through the `_refusal`, `_rate_limit_reply` and
`_server_error_reply` hooks: the wire format stays in each simulator's module.
"""

from __future__ import annotations

import abc
import itertools
import secrets
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from brokers.simulators.base import Fault, Reply, Request, SimulatorApp

IST = ZoneInfo("Asia/Kolkata")

# What an order does when the market moves, whatever the broker calls it.
MARKET, LIMIT, STOP_MARKET, STOP_LIMIT = "MARKET", "LIMIT", "STOP_MARKET", "STOP_LIMIT"


@dataclass(frozen=True)
class OrderFields:
    """Where a broker's order record keeps what matching and netting read."""

    instrument: str  # the key `set_price` moves
    status: str
    working: frozenset[Any]  # statuses in which an order can still fill
    side: str
    buy: Any  # the side's value for a buy; any other value is a sell
    kind: str
    kinds: Mapping[Any, str]  # the broker's order types -> MARKET, LIMIT, STOP_MARKET, STOP_LIMIT
    trigger: str
    limit: str
    product: str
    filled: str
    average: str


@dataclass
class Position:
    """Filled orders of one instrument and product, netted; `order` is the first of them."""

    order: dict[str, Any]
    bought: int = 0
    bought_value: Decimal = Decimal(0)
    sold: int = 0
    sold_value: Decimal = Decimal(0)

    @property
    def net(self) -> int:
        return self.bought - self.sold

    @property
    def buy_average(self) -> Decimal:
        return self.bought_value / self.bought if self.bought else Decimal(0)

    @property
    def sell_average(self) -> Decimal:
        return self.sold_value / self.sold if self.sold else Decimal(0)

    @property
    def net_average(self) -> Decimal:
        return self.buy_average if self.net > 0 else self.sell_average if self.net < 0 else Decimal(0)

    @property
    def realized(self) -> Decimal:
        return min(self.bought, self.sold) * (self.sell_average - self.buy_average)


def order_value(quantity: int | str, price: object, market: Decimal) -> Decimal:
    """What an order costs: its quantity at its own price, or at the market's without one."""
    return Decimal(quantity) * (Decimal(str(price or 0)) or market)


class MarketSimulator(SimulatorApp, abc.ABC):
    fields: OrderFields

    def __init__(self, *, orders_per_second: int, funds: Decimal, first_order_id: int) -> None:
        super().__init__()
        self.orders_per_second = orders_per_second
        self.funds = funds
        self.tokens: dict[str, bool] = {}  # token -> still valid
        self.orders: dict[str, dict[str, Any]] = {}
        self._order_times: deque[float] = deque()
        self._order_ids = itertools.count(first_order_id)

    # The broker's dialect and price book, for subclasses to give.

    @abc.abstractmethod
    def _refusal(self, request: Request) -> Reply | None:
        """The broker's answer to a request without a live session, or None to serve it."""

    @abc.abstractmethod
    def _rate_limit_reply(self) -> Reply:
        """The broker's answer to an order beyond its per-second limit."""

    @abc.abstractmethod
    def _server_error_reply(self, status: int) -> Reply:
        """The broker's answer to an injected server error."""

    def _new_token(self) -> str:
        return secrets.token_urlsafe(24)

    @abc.abstractmethod
    def _market_price(self, instrument: str) -> Decimal:
        """The current price of an instrument, in the simulator's own book."""

    @abc.abstractmethod
    def _store_price(self, instrument: str, price: Decimal) -> None:
        """Records a new price for an instrument."""

    @abc.abstractmethod
    def _fill(self, order: dict[str, Any], price: Decimal) -> None:
        """Marks an order filled at `price`, in the broker's own fields."""

    def _trigger_pending(self, order: dict[str, Any]) -> None:
        """A stop order's trigger is not crossed yet."""

    def _triggered(self, order: dict[str, Any]) -> None:
        """A stop-limit order's trigger is crossed: it now rests as a limit order."""

    # Shared behaviour.

    def issue_token(self) -> str:
        token = self._new_token()
        with self.lock:
            self.tokens[token] = True
        return token

    def expire_tokens(self) -> None:
        """Every token issued so far lapses, as brokers' sessions do each day."""
        with self.lock:
            self.tokens = dict.fromkeys(self.tokens, False)

    def set_price(self, instrument: str, price: Decimal) -> None:
        """Moves the market: resting orders whose price or trigger is crossed fill now."""
        with self.lock:
            self._store_price(instrument, price)
            for order in self.orders.values():
                if order[self.fields.instrument] == instrument and order[self.fields.status] in self.fields.working:
                    self._match(order)

    def fault_reply(self, fault: Fault) -> Reply:
        status = fault.status or 500
        if fault.body is not None:
            # A string body stands for a gateway's HTML error page rather than the broker's JSON.
            return Reply(status, fault.body, "text/html" if isinstance(fault.body, str) else "application/json")
        if status == 429:
            return self._rate_limit_reply()
        return self._server_error_reply(status)

    def dispatch(self, request: Request) -> Reply:
        return self._refusal(request) or super().dispatch(request)

    def _next_order_id(self) -> str:
        return str(next(self._order_ids))

    def _rate_limited(self) -> Reply | None:
        now = time.monotonic()
        with self.lock:
            while self._order_times and now - self._order_times[0] >= 1:
                self._order_times.popleft()
            if len(self._order_times) >= self.orders_per_second:
                return self._rate_limit_reply()
            self._order_times.append(now)
        return None

    def _match(self, order: dict[str, Any]) -> None:
        fields = self.fields
        if order[fields.status] not in fields.working:
            return
        kind = fields.kinds[order[fields.kind]]
        price = self._market_price(order[fields.instrument])
        buying = order[fields.side] == fields.buy
        if kind in {STOP_MARKET, STOP_LIMIT}:
            trigger = Decimal(str(order[fields.trigger]))
            if (price < trigger) if buying else (price > trigger):
                self._trigger_pending(order)
                return
            if kind == STOP_MARKET:
                self._fill(order, price)
                return
            self._triggered(order)
        if kind == MARKET:
            self._fill(order, price)
            return
        # LIMIT, or a stop-limit whose trigger has been crossed: fills at its price or better.
        limit = Decimal(str(order[fields.limit]))
        if (price <= limit) if buying else (price >= limit):
            self._fill(order, limit)

    def _positions(self) -> list[Position]:
        """Filled orders netted by instrument and product, in the order they were first filled.
        Call it holding the lock."""
        fields = self.fields
        books: dict[tuple[Any, Any], Position] = {}
        for order in self.orders.values():
            filled = int(order[fields.filled])
            if not filled:
                continue
            book = books.setdefault((order[fields.instrument], order[fields.product]), Position(order))
            value = filled * Decimal(str(order[fields.average]))
            if order[fields.side] == fields.buy:
                book.bought += filled
                book.bought_value += value
            else:
                book.sold += filled
                book.sold_value += value
        return list(books.values())
