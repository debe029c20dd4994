"""A Kite Connect REST simulator: the protocol kiteconnect 5.2.2 speaks, with Kite's rules.

It answers the unmodified SDK over real HTTP so that the Zerodha adapter and the engine can be
tested against Kite's behaviour rather than a mock of it (BROKERS.md sections 1 and 3):

- Kite's envelope, `{"status":"success","data":...}` or `{"status":"error","message":...,
  "data":null,"error_type":...}`, always with a Content-Type (the SDK crashes without one).
- Authorization exactly `token api_key:access_token`; tokens die at 06:00 IST the next day
  (by a clock tests can set), on `expire_tokens()`, or on DELETE /session/token.
- The order rules in force since April 2026: a tag of at most 20 characters (longer is
  rejected), market protection on every MARKET and SL-M order, at most 10 order requests
  per second per API key (429), a margin check, tick sizes.
- An order lifecycle: MARKET fills at once at the simulated price, LIMIT rests OPEN until the
  price reaches it, SL and SL-M rest as TRIGGER PENDING until the price crosses the trigger.
  `set_price()` moves the market; `reject_next_fill()` makes the broker's risk system reject
  an order after accepting it.

As a local sandbox: `python -m brokers.simulators.kite --port 18765` prints its URL and the
credentials to use, and walks prices randomly so that resting orders trigger.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import hmac
import io
import itertools
import random
import secrets
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from datetime import time as clock_time
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from brokers.simulators.base import Fault, Reply, Request, SimulatorApp, SimulatorServer, route

IST = ZoneInfo("Asia/Kolkata")
DEFAULT_API_KEY = "kitesimkey"
DEFAULT_API_SECRET = "kitesimsecret"  # noqa: S105 (the sandbox's published credential)
DEFAULT_USER_ID = "ZS0001"

BAD_SESSION_MESSAGE = "Incorrect `api_key` or `access_token`."
NO_PROTECTION_MESSAGE = (
    "Market orders without market protection are not allowed via API. "
    "Please set market protection or use a Limit order."
)
# Kite's own limit; longer tags are rejected, never truncated.
MAX_TAG_LENGTH = 20
MAX_MODIFICATIONS = 25
SESSION_ENDS_AT = clock_time(6, 0)
REQUEST_TOKEN_LIFETIME = timedelta(minutes=5)
# Intraday (MIS) equity positions need a fifth of their value; delivery and F&O carry-forward the whole.
MIS_MARGIN_RATE = Decimal("0.2")
RESTING = {"OPEN", "TRIGGER PENDING"}
STOP_TYPES = {"SL", "SL-M"}
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"

# How Kite labels an error status; 5xx come from its gateways as NetworkException, except a bare 500.
FAULT_ERRORS = {
    400: ("InputException", "Invalid request."),
    403: ("TokenException", BAD_SESSION_MESSAGE),
    429: ("NetworkException", "Too many requests"),
    500: ("GeneralException", "Something went wrong. Please try again."),
    502: ("NetworkException", "Gateway error: the order management system is not reachable."),
    503: ("NetworkException", "Service unavailable."),
    504: ("NetworkException", "Gateway timed out."),
}


class KiteError(Exception):
    """Raised by a handler; answered as Kite's error envelope."""

    def __init__(self, status: int, error_type: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.message = message

    def reply(self) -> Reply:
        return Reply(
            status=self.status,
            body={"status": "error", "message": self.message, "data": None, "error_type": self.error_type},
        )


def _input_error(message: str) -> KiteError:
    return KiteError(400, "InputException", message)


def _success(data: Any) -> Reply:
    return Reply(body={"status": "success", "data": data})


def _number(value: Decimal) -> float:
    # Kite's JSON carries prices as numbers; Decimal stays the simulator's own arithmetic.
    return float(value)


def _first_values(values: dict[str, list[str]]) -> dict[str, str]:
    return {key: items[0] for key, items in values.items() if items}


def session_end(login_time: datetime) -> datetime:
    """The 06:00 IST that ends a Kite session started at `login_time` (regulatory daily logout)."""
    local = login_time.astimezone(IST)
    end = datetime.combine(local.date(), SESSION_ENDS_AT, tzinfo=IST)
    return end if end > local else end + timedelta(days=1)


@dataclass
class Instrument:
    instrument_token: int
    exchange: str
    tradingsymbol: str
    name: str
    last_price: Decimal
    tick_size: Decimal = Decimal("0.05")
    lot_size: int = 1
    instrument_type: str = "EQ"

    @property
    def key(self) -> str:
        return f"{self.exchange}:{self.tradingsymbol}"


def default_instruments() -> list[Instrument]:
    return [
        Instrument(408065, "NSE", "INFY", "INFOSYS", Decimal("1500.00")),
        Instrument(779521, "NSE", "SBIN", "STATE BANK OF INDIA", Decimal("800.00")),
        Instrument(738561, "NSE", "RELIANCE", "RELIANCE INDUSTRIES", Decimal("2900.00")),
        Instrument(2953217, "NSE", "TCS", "TATA CONSULTANCY SERV LT", Decimal("3400.00")),
        Instrument(341249, "NSE", "HDFCBANK", "HDFC BANK", Decimal("1700.00")),
        Instrument(1270529, "NSE", "ICICIBANK", "ICICI BANK.", Decimal("1250.00")),
        Instrument(2714625, "NSE", "BHARTIARTL", "BHARTI AIRTEL", Decimal("1600.00")),
        Instrument(424961, "NSE", "ITC", "ITC", Decimal("450.00")),
    ]


@dataclass
class Account:
    api_key: str
    api_secret: str
    user_id: str
    user_name: str
    email: str
    available_margin: Decimal
    order_request_times: deque[float] = field(default_factory=deque)

    def profile(self) -> dict[str, Any]:
        return {
            "user_id": self.user_id,
            "user_name": self.user_name,
            "user_shortname": self.user_name.split()[0],
            "email": self.email,
            "user_type": "individual",
            "broker": "ZERODHA",
            "exchanges": ["NSE", "NFO", "BFO", "CDS", "BSE", "MCX", "BCD", "MF"],
            "products": ["CNC", "NRML", "MIS", "BO", "CO"],
            "order_types": ["MARKET", "LIMIT", "SL", "SL-M"],
            "avatar_url": None,
            "meta": {"demat_consent": "physical"},
        }


@dataclass
class Session:
    api_key: str
    access_token: str
    login_time: datetime
    expires_at: datetime
    live: bool = True


@dataclass
class RequestToken:
    api_key: str
    expires_at: datetime


@dataclass
class OrderTerms:
    """What a client may set on an order, checked against Kite's rules."""

    transaction_type: str
    order_type: str
    product: str
    validity: str
    quantity: int
    price: Decimal
    trigger_price: Decimal
    market_protection: Decimal | None


@dataclass
class SimOrder:
    order_id: str
    account: Account
    variety: str
    instrument: Instrument
    terms: OrderTerms
    tag: str | None
    algo_id: str | None
    placed_at: datetime
    status: str = ""
    status_message: str | None = None
    exchange_order_id: str | None = None
    average_price: Decimal = Decimal(0)
    filled_quantity: int = 0
    cancelled_quantity: int = 0
    modifications: int = 0
    updated_at: datetime | None = None
    history: list[dict[str, Any]] = field(default_factory=list)

    @property
    def resting(self) -> bool:
        return self.status in RESTING

    @property
    def market_protection(self) -> Decimal | None:
        return self.terms.market_protection

    def stop_reached(self, price: Decimal) -> bool:
        if self.terms.transaction_type == "SELL":
            return price <= self.terms.trigger_price
        return price >= self.terms.trigger_price

    def limit_reached(self, price: Decimal) -> bool:
        if self.terms.transaction_type == "BUY":
            return price <= self.terms.price
        return price >= self.terms.price

    def snapshot(self) -> dict[str, Any]:
        terms = self.terms
        stamp = (self.updated_at or self.placed_at).strftime(TIMESTAMP_FORMAT)
        return {
            "placed_by": self.account.user_id,
            "order_id": self.order_id,
            "exchange_order_id": self.exchange_order_id,
            "parent_order_id": None,
            "status": self.status,
            "status_message": self.status_message,
            "status_message_raw": self.status_message,
            "order_timestamp": stamp,
            "exchange_update_timestamp": stamp if self.exchange_order_id else None,
            "exchange_timestamp": self.placed_at.strftime(TIMESTAMP_FORMAT) if self.exchange_order_id else None,
            "variety": self.variety,
            "modified": self.modifications > 0,
            "exchange": self.instrument.exchange,
            "tradingsymbol": self.instrument.tradingsymbol,
            "instrument_token": self.instrument.instrument_token,
            "order_type": terms.order_type,
            "transaction_type": terms.transaction_type,
            "validity": terms.validity,
            "validity_ttl": 0,
            "product": terms.product,
            "quantity": terms.quantity,
            "disclosed_quantity": 0,
            "price": _number(terms.price),
            "trigger_price": _number(terms.trigger_price),
            "average_price": _number(self.average_price),
            "filled_quantity": self.filled_quantity,
            "pending_quantity": terms.quantity - self.filled_quantity - self.cancelled_quantity
            if self.status not in {"REJECTED", "CANCELLED", "COMPLETE"}
            else 0,
            "cancelled_quantity": self.cancelled_quantity,
            "market_protection": _number(terms.market_protection or Decimal(0)),
            "meta": {},
            "tag": self.tag,
            "tags": [self.tag] if self.tag else [],
            "guid": f"sim-{self.order_id}",
        }


@dataclass
class SimTrade:
    trade_id: str
    order: SimOrder
    quantity: int
    price: Decimal
    filled_at: datetime

    def as_kite(self) -> dict[str, Any]:
        order = self.order
        return {
            "trade_id": self.trade_id,
            "order_id": order.order_id,
            "exchange": order.instrument.exchange,
            "tradingsymbol": order.instrument.tradingsymbol,
            "instrument_token": order.instrument.instrument_token,
            "product": order.terms.product,
            "average_price": _number(self.price),
            "quantity": self.quantity,
            "exchange_order_id": order.exchange_order_id,
            "transaction_type": order.terms.transaction_type,
            "fill_timestamp": self.filled_at.strftime(TIMESTAMP_FORMAT),
            "order_timestamp": order.placed_at.strftime("%H:%M:%S"),
            "exchange_timestamp": self.filled_at.strftime(TIMESTAMP_FORMAT),
        }


class KiteSimulator(SimulatorApp):
    """Kite Connect's REST API for one market and any number of accounts (one by default)."""

    def __init__(
        self,
        *,
        api_key: str = DEFAULT_API_KEY,
        api_secret: str = DEFAULT_API_SECRET,
        user_id: str = DEFAULT_USER_ID,
        orders_per_second: int = 10,
        instruments: list[Instrument] | None = None,
    ) -> None:
        super().__init__()
        self.orders_per_second = orders_per_second
        self.default_api_key = api_key
        self._clock: datetime | None = None
        self._accounts: dict[str, Account] = {}
        self._sessions: dict[str, Session] = {}
        self._request_tokens: dict[str, RequestToken] = {}
        self._instruments = {item.key: item for item in instruments or default_instruments()}
        self._orders: dict[str, SimOrder] = {}
        self._trades: list[SimTrade] = []
        self._rejections: defaultdict[str, deque[str]] = defaultdict(deque)
        self._order_numbers = itertools.count(1)
        self._trade_numbers = itertools.count(1)
        self.add_account(api_key=api_key, api_secret=api_secret, user_id=user_id)

    # --- Controls for tests and the sandbox ---------------------------------------------------

    def add_account(
        self,
        *,
        api_key: str,
        api_secret: str,
        user_id: str,
        user_name: str = "Simulated Trader",
        available_margin: Decimal = Decimal("10000000"),
    ) -> Account:
        with self.lock:
            account = Account(
                api_key, api_secret, user_id, user_name, f"{user_id.lower()}@example.com", available_margin
            )
            self._accounts[api_key] = account
            return account

    def set_margin(self, available: Decimal, api_key: str | None = None) -> None:
        with self.lock:
            self._accounts[api_key or self.default_api_key].available_margin = Decimal(available)

    def now(self) -> datetime:
        with self.lock:
            return self._clock or datetime.now(IST)

    def set_clock(self, moment: datetime | None) -> None:
        """Freezes the simulator's wall clock at an aware `moment`; None follows the real clock."""
        if moment is not None and moment.tzinfo is None:
            raise ValueError("The simulator's clock needs an aware datetime.")
        with self.lock:
            self._clock = moment.astimezone(IST) if moment else None

    def issue_request_token(self, api_key: str | None = None) -> str:
        """The one-time token Kite's login page hands back in its redirect."""
        token = secrets.token_hex(16)
        with self.lock:
            self._request_tokens[token] = RequestToken(
                api_key or self.default_api_key, self.now() + REQUEST_TOKEN_LIFETIME
            )
        return token

    def login(self, api_key: str | None = None) -> str:
        """An access token without the login round trip, for the sandbox and tests about other things."""
        with self.lock:
            return self._start_session(self._accounts[api_key or self.default_api_key]).access_token

    def expire_tokens(self) -> None:
        """Ends every session, as a master logout or the 06:00 cut-off would."""
        with self.lock:
            for session in self._sessions.values():
                session.live = False

    def price(self, symbol: str, exchange: str = "NSE") -> Decimal:
        with self.lock:
            return self._instruments[f"{exchange}:{symbol}"].last_price

    def set_price(self, symbol: str, price: Decimal | float | str, exchange: str = "NSE") -> None:
        """Moves the market and fills or triggers the resting orders the move reaches."""
        with self.lock:
            instrument = self._instruments[f"{exchange}:{symbol}"]
            instrument.last_price = Decimal(str(price))
            for order in list(self._orders.values()):
                if order.instrument is instrument and order.resting:
                    self._match(order, resting=True)

    def reject_next_fill(
        self,
        symbol: str,
        message: str = "RMS:Rule: Check circuit limit including square off order",
        exchange: str = "NSE",
    ) -> None:
        """The next order accepted for `symbol` is then REJECTED by the risk system with `message`."""
        with self.lock:
            self._rejections[f"{exchange}:{symbol}"].append(message)

    def order(self, order_id: str) -> SimOrder:
        """An order as the simulator holds it, including what the wire does not echo (algo_id)."""
        with self.lock:
            return self._orders[order_id]

    def wander(self, rng: random.Random) -> None:
        """One random step of every price, a few ticks at most: the sandbox's market."""
        with self.lock:
            for instrument in list(self._instruments.values()):
                step = instrument.tick_size * rng.randint(-4, 4)
                if instrument.last_price + step > 0:
                    self.set_price(instrument.tradingsymbol, instrument.last_price + step, instrument.exchange)

    # --- Protocol plumbing --------------------------------------------------------------------

    def dispatch(self, request: Request) -> Reply:
        try:
            return super().dispatch(request)
        except KiteError as error:
            return error.reply()

    def fault_reply(self, fault: Fault) -> Reply:
        status = fault.status or 500
        if isinstance(fault.body, str | bytes):
            # A gateway in front of Kite answers outages with an HTML page (DataException in the SDK).
            return Reply(status=status, body=fault.body, content_type="text/html")
        if fault.body is not None:
            return Reply(status=status, body=fault.body)
        error_type, message = FAULT_ERRORS.get(status, ("GeneralException", "Something went wrong."))
        return KiteError(status, error_type, message).reply()

    def not_found(self, request: Request) -> Reply:
        return KiteError(404, "GeneralException", "Route not found").reply()

    def _authenticate(self, request: Request) -> Account:
        scheme, _, pair = request.headers.get("authorization", "").partition(" ")
        api_key, _, access_token = pair.partition(":")
        session = self._sessions.get(access_token)
        if scheme != "token" or session is None or session.api_key != api_key or not self._live(session):
            raise KiteError(403, "TokenException", BAD_SESSION_MESSAGE)
        return self._accounts[api_key]

    def _live(self, session: Session) -> bool:
        return session.live and self.now() < session.expires_at

    def _start_session(self, account: Account) -> Session:
        login_time = self.now()
        session = Session(account.api_key, secrets.token_hex(16), login_time, session_end(login_time))
        self._sessions[session.access_token] = session
        return session

    def _admit_order_request(self, account: Account) -> None:
        """Kite's 10 order requests per second per key; excess requests are answered 429 and not counted."""
        now = time.monotonic()
        window = account.order_request_times
        while window and now - window[0] >= 1.0:
            window.popleft()
        if len(window) >= self.orders_per_second:
            raise KiteError(429, "NetworkException", "Too many requests")
        window.append(now)

    def _instrument(self, exchange: str, tradingsymbol: str) -> Instrument:
        instrument = self._instruments.get(f"{exchange}:{tradingsymbol}")
        if instrument is None:
            raise _input_error(f"Invalid `tradingsymbol`: {exchange}:{tradingsymbol} is not a known instrument.")
        return instrument

    def _owned_order(self, account: Account, order_id: str) -> SimOrder:
        order = self._orders.get(order_id)
        if order is None or order.account is not account:
            raise KiteError(400, "OrderException", "Couldn't find that `order_id`.")
        return order

    # --- Session -------------------------------------------------------------------------------

    @route("POST", "/session/token")
    def create_session(self, request: Request) -> Reply:
        form = _first_values(request.form())
        api_key, request_token = form.get("api_key", ""), form.get("request_token", "")
        with self.lock:
            account = self._accounts.get(api_key)
            if account is None:
                raise KiteError(403, "TokenException", "Invalid `api_key`.")
            expected = hashlib.sha256(f"{api_key}{request_token}{account.api_secret}".encode()).hexdigest()
            if not hmac.compare_digest(form.get("checksum", ""), expected):
                raise KiteError(403, "TokenException", "Invalid `checksum`.")
            issued = self._request_tokens.pop(request_token, None)  # single use, whatever follows
            if issued is None or issued.api_key != api_key or self.now() >= issued.expires_at:
                raise KiteError(403, "TokenException", "Token is invalid or has expired.")
            session = self._start_session(account)
            return _success(
                {
                    **account.profile(),
                    "api_key": api_key,
                    "access_token": session.access_token,
                    "public_token": secrets.token_hex(16),
                    "enctoken": secrets.token_hex(16),
                    "refresh_token": "",
                    "silo": "",
                    "login_time": session.login_time.strftime(TIMESTAMP_FORMAT),
                }
            )

    @route("DELETE", "/session/token")
    def delete_session(self, request: Request) -> Reply:
        query = _first_values(request.query)
        with self.lock:
            session = self._sessions.get(query.get("access_token", ""))
            if session is None or session.api_key != query.get("api_key") or not self._live(session):
                raise KiteError(403, "TokenException", BAD_SESSION_MESSAGE)
            session.live = False
            return _success(True)

    @route("GET", "/user/profile")
    def profile(self, request: Request) -> Reply:
        with self.lock:
            return _success(self._authenticate(request).profile())

    # --- Orders --------------------------------------------------------------------------------

    @route("POST", "/orders/{variety}")
    def place_order(self, request: Request) -> Reply:
        form = _first_values(request.form())
        with self.lock:
            account = self._authenticate(request)
            self._admit_order_request(account)
            variety = request.params["variety"]
            if variety != "regular":
                raise _input_error(f"The simulator supports only the regular variety, not `{variety}`.")
            instrument = self._instrument(form.get("exchange", ""), form.get("tradingsymbol", ""))
            tag = form.get("tag") or None
            if tag is not None and len(tag) > MAX_TAG_LENGTH:
                raise _input_error(f"`tag` should be max {MAX_TAG_LENGTH} characters.")
            terms = self._checked_terms(instrument, form)
            self._check_margin(account, instrument, terms)
            number = next(self._order_numbers)
            order = SimOrder(
                order_id=str(250000000000000 + number),
                account=account,
                variety=variety,
                instrument=instrument,
                terms=terms,
                tag=tag,
                algo_id=form.get("algo_id") or None,
                placed_at=self.now(),
            )
            self._orders[order.order_id] = order
            self._accept(order, exchange_number=number)
            return _success({"order_id": order.order_id})

    @route("PUT", "/orders/{variety}/{order_id}")
    def modify_order(self, request: Request) -> Reply:
        form = _first_values(request.form())
        with self.lock:
            account = self._authenticate(request)
            self._admit_order_request(account)
            order = self._owned_order(account, request.params["order_id"])
            if not order.resting:
                raise _input_error(f"Order cannot be modified as it is {order.status.lower()}.")
            if order.modifications >= MAX_MODIFICATIONS:
                raise _input_error("Maximum allowed order modifications exceeded.")
            current = order.terms
            proposed = {
                "transaction_type": current.transaction_type,
                "product": current.product,
                "order_type": current.order_type,
                "validity": current.validity,
                "quantity": str(current.quantity),
                "price": str(current.price),
                "trigger_price": str(current.trigger_price),
                "market_protection": "" if current.market_protection is None else str(current.market_protection),
            }
            for name in ("order_type", "validity", "quantity", "price", "trigger_price", "market_protection"):
                if form.get(name):
                    proposed[name] = form[name]
            # An SL order whose stop has fired is a plain limit order now; its trigger no longer matters.
            triggered = order.status == "OPEN" and current.order_type in STOP_TYPES
            terms = self._checked_terms(order.instrument, proposed, check_trigger=not triggered)
            if terms.quantity < order.filled_quantity:
                raise _input_error("Quantity cannot be less than the quantity already filled.")
            order.terms = terms
            order.modifications += 1
            self._record(order, "MODIFY VALIDATION PENDING")
            self._record(order, "TRIGGER PENDING" if terms.order_type in STOP_TYPES and not triggered else "OPEN")
            self._match(order, resting=False)
            return _success({"order_id": order.order_id})

    @route("DELETE", "/orders/{variety}/{order_id}")
    def cancel_order(self, request: Request) -> Reply:
        with self.lock:
            account = self._authenticate(request)
            self._admit_order_request(account)
            order = self._owned_order(account, request.params["order_id"])
            if not order.resting:
                raise _input_error(f"Order cannot be cancelled as it is {order.status.lower()}.")
            order.cancelled_quantity = order.terms.quantity - order.filled_quantity
            self._record(order, "CANCELLED")
            return _success({"order_id": order.order_id})

    @route("GET", "/orders")
    def list_orders(self, request: Request) -> Reply:
        with self.lock:
            account = self._authenticate(request)
            return _success([order.history[-1] for order in self._orders.values() if order.account is account])

    @route("GET", "/orders/{order_id}")
    def order_history(self, request: Request) -> Reply:
        with self.lock:
            order = self._owned_order(self._authenticate(request), request.params["order_id"])
            return _success(list(order.history))

    @route("GET", "/orders/{order_id}/trades")
    def order_trades(self, request: Request) -> Reply:
        with self.lock:
            order = self._owned_order(self._authenticate(request), request.params["order_id"])
            return _success([trade.as_kite() for trade in self._trades if trade.order is order])

    @route("GET", "/trades")
    def trades(self, request: Request) -> Reply:
        with self.lock:
            account = self._authenticate(request)
            return _success([trade.as_kite() for trade in self._trades if trade.order.account is account])

    @route("GET", "/portfolio/positions")
    def positions(self, request: Request) -> Reply:
        with self.lock:
            account = self._authenticate(request)
            net = self._positions(account)
            # Nothing is carried overnight here, so the day's positions are the net ones.
            return _success({"net": net, "day": [dict(position) for position in net]})

    # --- Market data ---------------------------------------------------------------------------

    @route("GET", "/quote/ltp")
    def ltp(self, request: Request) -> Reply:
        with self.lock:
            self._authenticate(request)
            keys = request.query.get("i", [])
            if not keys:
                raise _input_error("No instruments specified.")
            return _success(
                {
                    key: {"instrument_token": item.instrument_token, "last_price": _number(item.last_price)}
                    for key in keys
                    if (item := self._instruments.get(key)) is not None
                }
            )

    # Kite serves the instrument dump without a session: it is public.
    @route("GET", "/instruments")
    def instruments(self, request: Request) -> Reply:
        return self._instrument_csv(exchange=None)

    @route("GET", "/instruments/{exchange}")
    def exchange_instruments(self, request: Request) -> Reply:
        return self._instrument_csv(exchange=request.params["exchange"])

    def _instrument_csv(self, exchange: str | None) -> Reply:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(
            [
                "instrument_token",
                "exchange_token",
                "tradingsymbol",
                "name",
                "last_price",
                "expiry",
                "strike",
                "tick_size",
                "lot_size",
                "instrument_type",
                "segment",
                "exchange",
            ]
        )
        with self.lock:
            for item in self._instruments.values():
                if exchange in (None, item.exchange):
                    # The SDK does float(strike): an empty strike would crash it, so equities say 0.0.
                    writer.writerow(
                        [
                            item.instrument_token,
                            item.instrument_token >> 8,
                            item.tradingsymbol,
                            item.name,
                            _number(item.last_price),
                            "",
                            "0.0",
                            _number(item.tick_size),
                            item.lot_size,
                            item.instrument_type,
                            item.exchange,
                            item.exchange,
                        ]
                    )
        return Reply(body=out.getvalue(), content_type="text/csv")

    # --- Rules and the order book ---------------------------------------------------------------

    def _checked_terms(self, instrument: Instrument, form: dict[str, str], *, check_trigger: bool = True) -> OrderTerms:
        def choice(name: str, allowed: set[str], default: str = "") -> str:
            value = form.get(name) or default
            if value not in allowed:
                raise _input_error(f"Invalid `{name}`: {value!r}.")
            return value

        def amount(name: str) -> Decimal:
            try:
                value = Decimal(form.get(name) or "0")
            except InvalidOperation:
                raise _input_error(f"Invalid `{name}`.") from None
            if not value.is_finite() or value < 0:
                raise _input_error(f"Invalid `{name}`.")
            if value % instrument.tick_size:
                raise _input_error(
                    f"Tick size for this script is {instrument.tick_size}. "
                    f"Kindly enter {name.replace('_', ' ')} in the multiple of tick size for this script."
                )
            return value

        transaction_type = choice("transaction_type", {"BUY", "SELL"})
        order_type = choice("order_type", {"MARKET", "LIMIT", "SL", "SL-M"})
        terms = OrderTerms(
            transaction_type=transaction_type,
            order_type=order_type,
            product=choice("product", {"CNC", "MIS", "NRML", "MTF"}),
            validity=choice("validity", {"DAY", "IOC"}, default="DAY"),
            quantity=self._quantity(instrument, form.get("quantity", "")),
            price=amount("price"),
            trigger_price=amount("trigger_price"),
            market_protection=self._market_protection(form.get("market_protection")),
        )
        if order_type in {"MARKET", "SL-M"} and not terms.market_protection:
            raise _input_error(NO_PROTECTION_MESSAGE)
        if order_type in {"LIMIT", "SL"} and not terms.price:
            raise _input_error(f"`price` is required for {order_type} orders.")
        if order_type in STOP_TYPES and check_trigger:
            if not terms.trigger_price:
                raise _input_error(f"`trigger_price` is required for {order_type} orders.")
            # Kite refuses a stop that the market has already crossed instead of firing it at once.
            if transaction_type == "SELL" and terms.trigger_price >= instrument.last_price:
                raise _input_error("Trigger price for stoploss sell orders should be lower than the last traded price.")
            if transaction_type == "BUY" and terms.trigger_price <= instrument.last_price:
                raise _input_error("Trigger price for stoploss buy orders should be higher than the last traded price.")
        return terms

    @staticmethod
    def _quantity(instrument: Instrument, raw: str) -> int:
        try:
            quantity = int(raw)
        except ValueError:
            raise _input_error("Invalid `quantity`.") from None
        if quantity <= 0:
            raise _input_error("Invalid `quantity`.")
        if quantity % instrument.lot_size:
            raise _input_error(f"Quantity should be a multiple of the lot size {instrument.lot_size}.")
        return quantity

    @staticmethod
    def _market_protection(raw: str | None) -> Decimal | None:
        if raw is None or raw == "":
            return None
        try:
            value = Decimal(raw)
        except InvalidOperation:
            raise _input_error(f"failed to decode market_protection: {raw!r} (expected decimal)") from None
        if not value.is_finite() or not (value == -1 or 0 <= value <= 100):
            raise _input_error("`market_protection` should be -1 (automatic) or a percentage from 0 to 100.")
        return value

    def _check_margin(self, account: Account, instrument: Instrument, terms: OrderTerms) -> None:
        price = terms.price if terms.order_type in {"LIMIT", "SL"} else instrument.last_price
        rate = MIS_MARGIN_RATE if terms.product == "MIS" else Decimal(1)
        required = (price * terms.quantity * rate).quantize(Decimal("0.01"))
        if required > account.available_margin:
            # Kite names it MarginException; the SDK has no such class and raises GeneralException(400).
            raise KiteError(
                400,
                "MarginException",
                f"Insufficient funds. Required margin is {required} but available margin is "
                f"{account.available_margin.quantize(Decimal('0.01'))}. Check the orderbook for open orders.",
            )

    def _record(self, order: SimOrder, status: str) -> None:
        order.status = status
        order.updated_at = self.now()
        order.history.append(order.snapshot())

    def _accept(self, order: SimOrder, *, exchange_number: int) -> None:
        self._record(order, "PUT ORDER REQ RECEIVED")
        self._record(order, "VALIDATION PENDING")
        pending = self._rejections.get(order.instrument.key)
        if pending:
            order.status_message = pending.popleft()
            self._record(order, "REJECTED")
            return
        order.exchange_order_id = str(1100000000000000 + exchange_number)
        self._record(order, "OPEN PENDING")
        self._record(order, "TRIGGER PENDING" if order.terms.order_type in STOP_TYPES else "OPEN")
        self._match(order, resting=False)

    def _match(self, order: SimOrder, *, resting: bool) -> None:
        """Fills or triggers `order` at the current price. A resting limit order fills at its own
        price when the market moves through it; an arriving one takes the market's better price."""
        price = order.instrument.last_price
        if order.status == "TRIGGER PENDING":
            if not order.stop_reached(price):
                return
            if order.terms.order_type == "SL-M":
                self._fill(order, price)
                return
            self._record(order, "OPEN")
            resting = False  # the stop's limit order reaches the exchange only now
        if order.status != "OPEN":
            return
        if order.terms.order_type in {"MARKET", "SL-M"}:
            self._fill(order, price)
        elif order.limit_reached(price):
            self._fill(order, order.terms.price if resting else price)
        elif order.terms.validity == "IOC":
            order.cancelled_quantity = order.terms.quantity - order.filled_quantity
            self._record(order, "CANCELLED")

    def _fill(self, order: SimOrder, price: Decimal) -> None:
        quantity = order.terms.quantity - order.filled_quantity
        self._trades.append(SimTrade(str(10000000 + next(self._trade_numbers)), order, quantity, price, self.now()))
        order.average_price = price
        order.filled_quantity = order.terms.quantity
        self._record(order, "COMPLETE")

    def _positions(self, account: Account) -> list[dict[str, Any]]:
        books: dict[tuple[str, str], list[SimTrade]] = defaultdict(list)
        for trade in self._trades:
            if trade.order.account is account:
                books[(trade.order.instrument.key, trade.order.terms.product)].append(trade)
        positions = []
        for (key, product), trades in books.items():
            instrument = self._instruments[key]
            buys = [trade for trade in trades if trade.order.terms.transaction_type == "BUY"]
            sells = [trade for trade in trades if trade.order.terms.transaction_type == "SELL"]
            buy_quantity = sum(trade.quantity for trade in buys)
            sell_quantity = sum(trade.quantity for trade in sells)
            buy_value = sum((trade.price * trade.quantity for trade in buys), Decimal(0))
            sell_value = sum((trade.price * trade.quantity for trade in sells), Decimal(0))
            buy_price = buy_value / buy_quantity if buy_quantity else Decimal(0)
            sell_price = sell_value / sell_quantity if sell_quantity else Decimal(0)
            quantity = buy_quantity - sell_quantity
            average_price = buy_price if quantity > 0 else sell_price if quantity < 0 else Decimal(0)
            pnl = sell_value - buy_value + quantity * instrument.last_price
            positions.append(
                {
                    "tradingsymbol": instrument.tradingsymbol,
                    "exchange": instrument.exchange,
                    "instrument_token": instrument.instrument_token,
                    "product": product,
                    "quantity": quantity,
                    "overnight_quantity": 0,
                    "multiplier": 1,
                    "average_price": _number(average_price),
                    "close_price": 0,
                    "last_price": _number(instrument.last_price),
                    "value": _number(sell_value - buy_value),
                    "pnl": _number(pnl),
                    "m2m": _number(pnl),
                    "unrealised": _number(pnl),
                    "realised": 0,
                    "buy_quantity": buy_quantity,
                    "buy_price": _number(buy_price),
                    "buy_value": _number(buy_value),
                    "buy_m2m": _number(buy_value),
                    "sell_quantity": sell_quantity,
                    "sell_price": _number(sell_price),
                    "sell_value": _number(sell_value),
                    "sell_m2m": _number(sell_value),
                    "day_buy_quantity": buy_quantity,
                    "day_buy_price": _number(buy_price),
                    "day_buy_value": _number(buy_value),
                    "day_sell_quantity": sell_quantity,
                    "day_sell_price": _number(sell_price),
                    "day_sell_value": _number(sell_value),
                }
            )
        return positions


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="A local Kite Connect REST sandbox.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=18765)
    parser.add_argument(
        "--wander", type=float, default=1.0, help="seconds between random price steps (0 keeps prices still)"
    )
    args = parser.parse_args(argv)
    simulator = KiteSimulator()
    access_token = simulator.login()
    server = SimulatorServer(simulator, host=args.host, port=args.port).start()
    print(f"Kite simulator at {server.url}  (KITE_API_ROOT={server.url})", flush=True)
    print(f"api_key={DEFAULT_API_KEY} api_secret={DEFAULT_API_SECRET} access_token={access_token}", flush=True)
    rng = random.Random()
    try:
        while True:
            time.sleep(args.wander or 3600)
            if args.wander:
                simulator.wander(rng)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    main()
