"""Zerodha, through Kite Connect: the unmodified kiteconnect SDK behind the BrokerAdapter interface.

Importing kiteconnect installs Twisted's default reactor (its package imports the ticker), one
reason the adapter registry imports this module only when a Zerodha account is used.
"""

from __future__ import annotations

import dataclasses
import enum
import http.cookiejar
import os
import threading
import traceback
from collections.abc import Callable
from datetime import datetime, timedelta
from datetime import time as clock_time
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import requests
from django.conf import settings
from kiteconnect import KiteConnect
from kiteconnect import exceptions as kite_errors

from brokers.adapters.base import (
    BrokerAdapter,
    BrokerAuthError,
    BrokerError,
    BrokerRejected,
    BrokerUnavailable,
    Credentials,
    OrderRequest,
    OrderState,
    OrderStatus,
    OrderType,
    Position,
    Profile,
    Side,
)

IST = ZoneInfo("Asia/Kolkata")
SESSION_ENDS_AT = clock_time(6, 0)
VARIETY = KiteConnect.VARIETY_REGULAR
LTP_BATCH = 1000  # Kite's most instruments per LTP request

T = TypeVar("T")
E = TypeVar("E", bound=enum.Enum)


_sessions: dict[int, requests.Session] = {}
_sessions_lock = threading.Lock()


def _shared_session() -> requests.Session:
    """The process's HTTP session for every account's Kite calls: an adapter is built per
    operation, and a session of its own would open a new connection each time (a TCP and TLS
    handshake before every order). Credentials travel per request, in the Authorization header
    the SDK builds; cookies are refused, so nothing of one account's replies reaches another's
    requests. One per process: a forked worker must not share its parent's sockets."""
    pid = os.getpid()
    with _sessions_lock:
        session = _sessions.get(pid)
        if session is None:
            session = requests.Session()
            session.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
            # Room for every thread of a batch (execution.services.BATCH_THREADS) to keep its connection.
            adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=32)
            session.mount("https://", adapter)
            session.mount("http://", adapter)
            _sessions.clear()
            _sessions[pid] = session
    return session


def token_expiry(moment: datetime) -> datetime:
    """The first 06:00 IST after `moment`: when Kite ends every session (the regulatory daily logout)."""
    local = moment.astimezone(IST)
    end = datetime.combine(local.date(), SESSION_ENDS_AT, tzinfo=IST)
    return end if end > local else end + timedelta(days=1)


def _raised_reading_kite_reply(error: BaseException) -> bool:
    # The SDK itself crashes on two malformed replies: a KeyError on a missing Content-Type and a
    # TypeError on an error without `error_type`. Only those count as the broker's fault; the same
    # exception types raised by our own call (a wrong argument) must surface as the bugs they are.
    sdk_module = Path("kiteconnect", "connect.py")
    return any(
        frame.name == "_request" and Path(frame.filename).parts[-2:] == sdk_module.parts
        for frame in traceback.extract_tb(error.__traceback__)
    )


def broker_error(error: Exception) -> BrokerError:
    """What a failure of a Kite call means to the engine.

    The SDK's exception class is not enough: error types it does not define (MarginException,
    UserException, ...) arrive as GeneralException with the real HTTP status, so for those the
    status decides between "the broker said no" and "try again later".
    """
    message = str(error) or type(error).__name__
    if isinstance(error, requests.RequestException):  # timeouts, refused connections, a dead proxy
        return BrokerUnavailable(f"Kite is unreachable: {message}", raw=error)
    if not isinstance(error, kite_errors.KiteException):
        return BrokerUnavailable(f"Kite sent a reply the SDK could not read: {message}", raw=error)
    code = error.code
    if isinstance(error, kite_errors.TokenException):
        return BrokerAuthError(message, code=code, raw=error)
    if isinstance(error, kite_errors.NetworkException | kite_errors.DataException):
        return BrokerUnavailable(message, code=code, raw=error)
    if isinstance(error, kite_errors.InputException | kite_errors.OrderException | kite_errors.PermissionException):
        return BrokerRejected(message, code=code, raw=error)
    if code == 403:
        return BrokerAuthError(message, code=code, raw=error)
    if code == 429 or code >= 500:
        return BrokerUnavailable(message, code=code, raw=error)
    return BrokerRejected(message, code=code, raw=error)


def _decimal(value: Any) -> Decimal | None:
    # Kite reports "no price" as 0 (an unfilled order's average price, a limit order's trigger).
    return Decimal(str(value)) if value else None


def _wire(value: Decimal | None) -> str | None:
    # Plain notation: str(Decimal("1E+3")) would reach Kite as "1E+3".
    return None if value is None else format(value, "f")


def _member(kind: type[E], value: Any) -> E | None:
    try:
        return kind(value)
    except ValueError:
        return None


def order_status_from(entry: dict[str, Any]) -> OrderStatus:
    """An OrderStatus from one Kite order (an `orders()` item or an `order_history()` entry)."""
    return OrderStatus(
        order_id=str(entry["order_id"]),
        # Kite's in-between states (PUT ORDER REQ RECEIVED, VALIDATION PENDING, OPEN PENDING,
        # MODIFY/CANCEL PENDING, AMO REQ RECEIVED, ...) all mean a live order that is not final.
        state=_member(OrderState, entry.get("status")) or OrderState.OPEN,
        symbol=entry.get("tradingsymbol") or "",
        side=_member(Side, entry.get("transaction_type")),
        quantity=int(entry.get("quantity") or 0),
        filled_quantity=int(entry.get("filled_quantity") or 0),
        average_price=_decimal(entry.get("average_price")),
        trigger_price=_decimal(entry.get("trigger_price")),
        order_type=_member(OrderType, entry.get("order_type")),
        tag=entry.get("tag") or "",
        message=entry.get("status_message") or "",
        raw=entry,
    )


class ZerodhaBroker(BrokerAdapter):
    name = "zerodha"

    def __init__(
        self,
        credentials: Credentials,
        *,
        proxy: str | None = None,
        timeout: float = 7.0,
        root: str | None = None,
    ) -> None:
        super().__init__(credentials, proxy=proxy, timeout=timeout)
        self.kite = KiteConnect(
            api_key=credentials.api_key,
            access_token=credentials.access_token or None,
            root=root or settings.KITE_API_ROOT,
            timeout=timeout,
            proxies={"http": proxy, "https": proxy} if proxy else None,
        )
        self.kite.reqsession = _shared_session()

    def _call(self, method: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        try:
            return method(*args, **kwargs)
        except (kite_errors.KiteException, requests.RequestException) as error:
            raise broker_error(error) from error
        except (KeyError, TypeError) as error:
            if not _raised_reading_kite_reply(error):
                raise
            raise broker_error(error) from error

    def complete_login(self) -> Credentials:
        if not self.credentials.request_token:
            raise BrokerAuthError("There is no request token to exchange: the user must log in to Kite again.")
        session = self._call(
            self.kite.generate_session, self.credentials.request_token, api_secret=self.credentials.api_secret
        )
        # A request token works once, so it is dropped with the exchange.
        self.credentials = dataclasses.replace(
            self.credentials,
            access_token=session["access_token"],
            client_id=session.get("user_id") or self.credentials.client_id,
            request_token="",
        )
        return self.credentials

    def validate(self) -> Profile:
        profile = self._call(self.kite.profile)
        return Profile(
            client_id=profile["user_id"],
            name=profile.get("user_name") or "",
            email=profile.get("email") or "",
            token_expires_at=token_expiry(datetime.now(IST)),
        )

    def place_order(self, order: OrderRequest) -> str:
        order_id = self._call(
            self.kite.place_order,
            variety=VARIETY,
            exchange=order.exchange,
            tradingsymbol=order.symbol,
            transaction_type=order.side.value,
            quantity=order.quantity,
            product=order.product,
            order_type=order.order_type.value,
            validity=KiteConnect.VALIDITY_DAY,
            price=_wire(order.price),
            trigger_price=_wire(order.trigger_price),
            # The SDK leaves out parameters that are None.
            market_protection=order.market_protection if order.needs_market_protection else None,
            algo_id=order.algo_id or settings.ALGO_ID,
            tag=order.tag,
        )
        return str(order_id)

    def order_status(self, order_id: str) -> OrderStatus:
        history = self._call(self.kite.order_history, order_id)
        if not history:
            raise BrokerRejected(f"Kite has no history for order {order_id}.")
        return order_status_from(history[-1])

    def orders_by_tag(self, tag: str) -> list[OrderStatus]:
        return [
            order_status_from(entry)
            for entry in self._call(self.kite.orders)
            if entry.get("tag") == tag or tag in (entry.get("tags") or [])
        ]

    def modify_order(
        self,
        order_id: str,
        *,
        quantity: int | None = None,
        price: Decimal | None = None,
        trigger_price: Decimal | None = None,
    ) -> str:
        if quantity is None and price is None and trigger_price is None:
            raise BrokerRejected("A modification must change the quantity, the price or the trigger price.")
        modified = self._call(
            self.kite.modify_order,
            variety=VARIETY,
            order_id=order_id,
            quantity=quantity,
            price=_wire(price),
            trigger_price=_wire(trigger_price),
        )
        return str(modified)

    def cancel_order(self, order_id: str) -> str:
        return str(self._call(self.kite.cancel_order, variety=VARIETY, order_id=order_id))

    def last_prices(self, symbols: list[str], exchange: str = "NSE") -> dict[str, Decimal]:
        keys = [f"{exchange}:{symbol}" for symbol in dict.fromkeys(symbols)]
        prices: dict[str, Decimal] = {}
        for start in range(0, len(keys), LTP_BATCH):
            quotes = self._call(self.kite.ltp, *keys[start : start + LTP_BATCH])
            for key, quote in quotes.items():
                prices[key.partition(":")[2]] = Decimal(str(quote["last_price"]))
        return prices

    def positions(self) -> list[Position]:
        return [
            Position(
                symbol=entry["tradingsymbol"],
                exchange=entry["exchange"],
                product=entry["product"],
                quantity=int(entry["quantity"]),
                average_price=Decimal(str(entry["average_price"])),
            )
            for entry in self._call(self.kite.positions)["net"]
        ]
