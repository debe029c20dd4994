"""The one interface every broker adapter implements, and the three kinds of failure.

The execution engine acts on the kind of an error, never on a broker's own codes:

- `BrokerAuthError`: the token is expired or the keys are wrong; the account needs the user.
- `BrokerRejected`: the broker said no (bad input, margin, risk checks); retrying will not help.
- `BrokerUnavailable`: network, timeout, 5xx, 429; the same request may succeed later.

Order states use Kite's vocabulary for every broker: OPEN, TRIGGER PENDING, COMPLETE,
REJECTED, CANCELLED.
"""

from __future__ import annotations

import abc
import enum
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

MAX_TAG_LENGTH = 20
# Kite's "automatic" market protection; MARKET and SL-M orders without one are rejected.
DEFAULT_MARKET_PROTECTION = -1


class ErrorKind(enum.StrEnum):
    AUTH = "auth"
    REJECTED = "rejected"
    TRANSIENT = "transient"


class BrokerError(Exception):
    kind: ErrorKind

    def __init__(self, message: str, *, code: str | int | None = None, raw: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.raw = raw


class BrokerAuthError(BrokerError):
    kind = ErrorKind.AUTH


class BrokerRejected(BrokerError):
    kind = ErrorKind.REJECTED


class BrokerUnavailable(BrokerError):
    kind = ErrorKind.TRANSIENT


class Side(enum.StrEnum):
    BUY = "BUY"
    SELL = "SELL"


class OrderType(enum.StrEnum):
    MARKET = "MARKET"
    LIMIT = "LIMIT"
    SL = "SL"
    SL_M = "SL-M"


class OrderState(enum.StrEnum):
    OPEN = "OPEN"
    TRIGGER_PENDING = "TRIGGER PENDING"
    COMPLETE = "COMPLETE"
    REJECTED = "REJECTED"
    CANCELLED = "CANCELLED"

    @property
    def is_final(self) -> bool:
        return self in {OrderState.COMPLETE, OrderState.REJECTED, OrderState.CANCELLED}


@dataclass(frozen=True)
class Credentials:
    """What the user gave us to reach their broker account. Never logged, never returned."""

    api_key: str = ""
    api_secret: str = ""
    access_token: str = ""
    client_id: str = ""
    # One-time login codes exchanged for an access token by `complete_login`.
    request_token: str = ""

    def __repr__(self) -> str:  # keeps secrets out of tracebacks and debug output
        return f"Credentials(api_key={self.api_key[:4]!r}..., client_id={self.client_id!r})"


@dataclass(frozen=True)
class Profile:
    client_id: str
    name: str = ""
    email: str = ""
    token_expires_at: datetime | None = None


@dataclass(frozen=True)
class OrderRequest:
    symbol: str
    side: Side
    quantity: int
    order_type: OrderType
    tag: str
    exchange: str = "NSE"
    product: str = "MIS"
    price: Decimal | None = None
    trigger_price: Decimal | None = None
    algo_id: str | None = None
    market_protection: int = DEFAULT_MARKET_PROTECTION
    # The broker's numeric id of the instrument, for brokers that trade by id (Dhan, Angel One).
    instrument_token: str | None = None

    def __post_init__(self) -> None:
        if not self.tag or len(self.tag) > MAX_TAG_LENGTH:
            raise BrokerRejected(f"An order tag must have 1 to {MAX_TAG_LENGTH} characters, not {len(self.tag)}.")
        if self.quantity <= 0:
            raise BrokerRejected("Quantity must be positive.")
        if self.order_type in {OrderType.SL, OrderType.SL_M} and self.trigger_price is None:
            raise BrokerRejected(f"A {self.order_type} order needs a trigger price.")
        if self.order_type in {OrderType.LIMIT, OrderType.SL} and self.price is None:
            raise BrokerRejected(f"A {self.order_type} order needs a price.")

    @property
    def needs_market_protection(self) -> bool:
        return self.order_type in {OrderType.MARKET, OrderType.SL_M}


@dataclass(frozen=True)
class OrderStatus:
    order_id: str
    state: OrderState
    symbol: str = ""
    side: Side | None = None
    quantity: int = 0
    filled_quantity: int = 0
    average_price: Decimal | None = None
    trigger_price: Decimal | None = None
    order_type: OrderType | None = None
    tag: str = ""
    message: str = ""
    raw: dict[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class Position:
    symbol: str
    exchange: str
    product: str
    quantity: int
    average_price: Decimal


class BrokerAdapter(abc.ABC):
    """One broker account, reached through its broker's protocol.

    Adapters are cheap to build; build one per operation from the stored credentials.
    `proxy` routes order traffic through the deployment's or the account's static-IP egress.
    """

    name: str

    def __init__(self, credentials: Credentials, *, proxy: str | None = None, timeout: float = 7.0) -> None:
        self.credentials = credentials
        self.proxy = proxy
        self.timeout = timeout

    def complete_login(self) -> Credentials:
        """Exchanges the one-time login code in `credentials.request_token` for an access
        token, for brokers that log in that way; called only when a code was given."""
        raise BrokerRejected(f"{self.name} does not log in with a one-time code; send an access token.")

    @abc.abstractmethod
    def validate(self) -> Profile:
        """The account's profile; raises BrokerAuthError when the credentials do not work."""

    @abc.abstractmethod
    def place_order(self, order: OrderRequest) -> str:
        """Places the order and returns the broker's order id."""

    @abc.abstractmethod
    def order_status(self, order_id: str) -> OrderStatus: ...

    @abc.abstractmethod
    def orders_by_tag(self, tag: str) -> list[OrderStatus]:
        """Today's orders carrying `tag`: how a retry finds an order the broker already took."""

    @abc.abstractmethod
    def modify_order(
        self,
        order_id: str,
        *,
        quantity: int | None = None,
        price: Decimal | None = None,
        trigger_price: Decimal | None = None,
    ) -> str: ...

    @abc.abstractmethod
    def cancel_order(self, order_id: str) -> str: ...

    @abc.abstractmethod
    def last_prices(self, symbols: list[str], exchange: str = "NSE") -> dict[str, Decimal]:
        """Last traded prices by symbol; symbols the broker has no price for are absent."""

    @abc.abstractmethod
    def positions(self) -> list[Position]: ...
