"""What the REST adapters for Dhan, Fyers and Angel One share.

Their SDKs are not installed (BROKERS.md section 5), so each adapter speaks its broker's
documented REST protocol through `requests`. The parts every one of them does the same way live
here: the API root (`base_url=` in tests, else a Django setting, else the production URL), one
session per adapter, the egress proxy for order traffic, and the failures that mean "try again
later" whatever the broker says (network error, timeout, 429, 5xx). Each adapter only reads its
own envelope and names its own error codes.
"""

from __future__ import annotations

import abc
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any, ClassVar

import requests
from django.conf import settings

from brokers.adapters.base import (
    BrokerAdapter,
    BrokerAuthError,
    BrokerError,
    BrokerRejected,
    BrokerUnavailable,
    Credentials,
    OrderRequest,
    OrderState,
    OrderType,
)


def to_decimal(value: Any) -> Decimal | None:
    """A broker's price (a JSON number or a numeric string) as a Decimal; str() first, so that
    101.35 stays 101.35 instead of becoming the binary float's 101.3499999..."""
    if value is None or value == "":
        return None
    return Decimal(str(value))


def price_or_none(value: Any) -> Decimal | None:
    """These brokers send 0 for "no price" (an unfilled order's average, a LIMIT order's trigger)."""
    price = to_decimal(value)
    return price if price else None


def resting_state(order_type: OrderType | None) -> OrderState:
    """Dhan and Fyers report an untriggered stop order as merely pending; Kite's vocabulary,
    which the engine reads, calls it TRIGGER PENDING."""
    return OrderState.TRIGGER_PENDING if order_type in {OrderType.SL, OrderType.SL_M} else OrderState.OPEN


def batches(items: list[str], size: int) -> Iterator[list[str]]:
    """`items` in runs of at most `size`: quote endpoints cap the instruments per request."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def required_instrument_token(order: OrderRequest, broker: str) -> str:
    """Dhan and Angel One place orders by their own numeric instrument id, not by symbol."""
    if not order.instrument_token:
        raise BrokerRejected(
            f"{broker} places orders by its numeric instrument id; "
            f"the order for {order.exchange}:{order.symbol} has no instrument_token."
        )
    return order.instrument_token


def mapped(table: Mapping[str, str], value: str, what: str, broker: str) -> str:
    """`value` in the broker's vocabulary, or a rejection naming what it does not support."""
    try:
        return table[value]
    except KeyError:
        raise BrokerRejected(f"{broker} does not support the {what} {value!r}.") from None


class RestBrokerAdapter(BrokerAdapter):
    """A broker reached over JSON-over-HTTPS, one `requests` session per adapter."""

    api_root_setting: ClassVar[str]
    production_api_root: ClassVar[str]
    # The broker's own error codes whose kind its HTTP status does not tell.
    auth_codes: ClassVar[frozenset[str | int]] = frozenset()
    transient_codes: ClassVar[frozenset[str | int]] = frozenset()

    def __init__(
        self,
        credentials: Credentials,
        *,
        proxy: str | None = None,
        timeout: float = 7.0,
        base_url: str | None = None,
    ) -> None:
        super().__init__(credentials, proxy=proxy, timeout=timeout)
        root = base_url or getattr(settings, self.api_root_setting, None) or self.production_api_root
        self.base_url = root.rstrip("/")
        self.session = requests.Session()
        self.session.headers.update(self.auth_headers())

    @abc.abstractmethod
    def auth_headers(self) -> dict[str, str]:
        """The headers that carry the credentials on every request."""

    @abc.abstractmethod
    def envelope_error(self, status: int, body: Any) -> tuple[str | int | None, str] | None:
        """(code, message) when the broker's answer reports a failure, None when it succeeded."""

    def call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, str] | None = None,
        order_traffic: bool = False,
    ) -> Any:
        """The decoded JSON answer to one request; raises the BrokerError the answer means."""
        # Exchanges accept orders only from a registered static IP; reads may leave from anywhere
        # (MARKET-RULES.md), so only order traffic pays for the proxy hop.
        proxies = {"http": self.proxy, "https": self.proxy} if order_traffic and self.proxy else None
        try:
            response = self.session.request(
                method, self.base_url + path, json=json, params=params, timeout=self.timeout, proxies=proxies
            )
        except requests.Timeout as exc:
            raise BrokerUnavailable(f"{self.name} did not answer {method} {path} within {self.timeout} s.") from exc
        except requests.RequestException as exc:
            raise BrokerUnavailable(f"{self.name} could not be reached for {method} {path}: {exc}") from exc

        status = response.status_code
        try:
            body = response.json()
        except ValueError:
            # A gateway's HTML page rather than the broker's API: only its status says anything,
            # and an unreadable "success" is a broken gateway too.
            raise self.classify(status if status >= 400 else 502, None, f"HTTP {status}, not JSON", None) from None
        failure = self.envelope_error(status, body)
        if failure is None and status < 400:
            return body
        code, message = failure or (None, f"HTTP {status}")
        raise self.classify(status, code, message, body)

    def classify(self, status: int, code: str | int | None, message: str, raw: Any) -> BrokerError:
        """A failure's kind: throttling and outages first, whatever code they carry; then the
        broker's own code; then the status, for codes the adapter does not name."""
        text = f"{self.name}: {message}" + (f" ({code})" if code is not None else "")
        if status == 429 or status >= 500 or code in self.transient_codes:
            return BrokerUnavailable(text, code=code, raw=raw)
        if code in self.auth_codes or status in {401, 403}:
            return BrokerAuthError(text, code=code, raw=raw)
        return BrokerRejected(text, code=code, raw=raw)
