"""Dhan (DhanHQ API v2), spoken over REST as the dhanhq 2.3 SDK speaks it.

- Every request carries the `access-token` (Credentials.access_token) and `client-id`
  (Credentials.client_id) headers; order bodies repeat the client id as `dhanClientId`.
- A success is the bare JSON object or list; a failure is
  `{"errorType", "errorCode": "DH-9xx", "errorMessage"}` with a 4xx or 5xx status. (dhanhq wraps
  both into `{"status", "remarks", "data"}` on the client side; that envelope never crosses the
  wire.)
- Dhan names instruments by its security id: orders take `OrderRequest.instrument_token`, and
  `last_prices` takes security ids and answers by security id.
- The order tag travels as `correlationId`, which Dhan can look an order up by.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from brokers.adapters.base import (
    BrokerRejected,
    OrderRequest,
    OrderState,
    OrderStatus,
    OrderType,
    Position,
    Profile,
    Side,
)
from brokers.adapters.http import (
    RestBrokerAdapter,
    mapped,
    price_or_none,
    required_instrument_token,
    resting_state,
    to_decimal,
)

IST = ZoneInfo("Asia/Kolkata")

SEGMENTS = {
    "NSE": "NSE_EQ",
    "BSE": "BSE_EQ",
    "NFO": "NSE_FNO",
    "BFO": "BSE_FNO",
    "CDS": "NSE_CURRENCY",
    "MCX": "MCX_COMM",
}
EXCHANGES = {segment: exchange for exchange, segment in SEGMENTS.items()}
PRODUCTS = {"MIS": "INTRADAY", "CNC": "CNC", "NRML": "MARGIN"}
KITE_PRODUCTS = {dhan: kite for kite, dhan in PRODUCTS.items()}
ORDER_TYPES = {
    OrderType.MARKET: "MARKET",
    OrderType.LIMIT: "LIMIT",
    OrderType.SL: "STOP_LOSS",
    OrderType.SL_M: "STOP_LOSS_MARKET",
}
KITE_ORDER_TYPES = {dhan: kite for kite, dhan in ORDER_TYPES.items()}
FINAL_STATES = {
    "TRADED": OrderState.COMPLETE,
    "REJECTED": OrderState.REJECTED,
    "CANCELLED": OrderState.CANCELLED,
    "EXPIRED": OrderState.CANCELLED,
}
# Dhan's "no data" error: its answer for a correlation id that no order carries.
NO_DATA = "DH-907"


class DhanBroker(RestBrokerAdapter):
    name = "dhan"
    api_root_setting = "DHAN_API_ROOT"
    production_api_root = "https://api.dhan.co"
    # DH-901 invalid or expired token, DH-902 no API access, DH-903 account not enabled for it:
    # each needs the user.
    auth_codes = frozenset({"DH-901", "DH-902", "DH-903"})
    # DH-904 rate limit, DH-908 Dhan's internal error, DH-909 Dhan's network error.
    transient_codes = frozenset({"DH-904", "DH-908", "DH-909"})

    def auth_headers(self) -> dict[str, str]:
        return {
            "access-token": self.credentials.access_token,
            "client-id": self.credentials.client_id,
            "Accept": "application/json",
        }

    def envelope_error(self, status: int, body: Any) -> tuple[str | int | None, str] | None:
        if status < 400 or not isinstance(body, dict):
            return None
        return body.get("errorCode"), body.get("errorMessage") or ""

    def validate(self) -> Profile:
        profile = self.call("GET", "/v2/profile")
        return Profile(
            client_id=str(profile.get("dhanClientId", "")),
            token_expires_at=_token_validity(profile.get("tokenValidity")),
        )

    def place_order(self, order: OrderRequest) -> str:
        payload = {
            "dhanClientId": self.credentials.client_id,
            "correlationId": order.tag,
            "transactionType": order.side.value,
            "exchangeSegment": mapped(SEGMENTS, order.exchange, "exchange", self.name),
            "productType": mapped(PRODUCTS, order.product, "product", self.name),
            "orderType": ORDER_TYPES[order.order_type],
            "validity": "DAY",
            "securityId": required_instrument_token(order, self.name),
            "quantity": order.quantity,
            "disclosedQuantity": 0,
            "price": float(order.price or 0),
            "triggerPrice": float(order.trigger_price or 0),
            "afterMarketOrder": False,
        }
        return str(self.call("POST", "/v2/orders", json=payload, order_traffic=True)["orderId"])

    def order_status(self, order_id: str) -> OrderStatus:
        return _order_status(self._order(order_id))

    def orders_by_tag(self, tag: str) -> list[OrderStatus]:
        try:
            found = self.call("GET", f"/v2/orders/external/{quote(tag, safe='')}")
        except BrokerRejected as exc:
            if exc.code == NO_DATA:
                return []
            raise
        # Dhan documents one order per correlation id, but nothing stops two orders sharing one.
        rows = found if isinstance(found, list) else [found]
        return [_order_status(row) for row in rows]

    def modify_order(
        self,
        order_id: str,
        *,
        quantity: int | None = None,
        price: Decimal | None = None,
        trigger_price: Decimal | None = None,
    ) -> str:
        # Dhan wants the order's type, validity and prices restated on every modification.
        current = self._order(order_id)
        payload = {
            "dhanClientId": self.credentials.client_id,
            "orderId": order_id,
            "orderType": current["orderType"],
            "validity": current.get("validity") or "DAY",
            "quantity": quantity if quantity is not None else current["quantity"],
            "price": float(price if price is not None else current.get("price") or 0),
            "triggerPrice": float(trigger_price if trigger_price is not None else current.get("triggerPrice") or 0),
            "disclosedQuantity": current.get("disclosedQuantity") or 0,
        }
        return str(self.call("PUT", f"/v2/orders/{order_id}", json=payload, order_traffic=True)["orderId"])

    def cancel_order(self, order_id: str) -> str:
        return str(self.call("DELETE", f"/v2/orders/{order_id}", order_traffic=True)["orderId"])

    def last_prices(self, symbols: list[str], exchange: str = "NSE") -> dict[str, Decimal]:
        """Last traded prices by Dhan security id (the `symbols` here are security ids)."""
        segment = mapped(SEGMENTS, exchange, "exchange", self.name)
        if not all(symbol.isdigit() for symbol in symbols):
            raise BrokerRejected(f"Dhan quotes instruments by numeric security id, not {symbols!r}.")
        answer = self.call("POST", "/v2/marketfeed/ltp", json={segment: [int(symbol) for symbol in symbols]})
        quotes = (answer.get("data") or {}).get(segment) or {}
        return {
            symbol: Decimal(str(quotes[symbol]["last_price"]))
            for symbol in symbols
            if symbol in quotes and quotes[symbol].get("last_price") is not None
        }

    def positions(self) -> list[Position]:
        return [
            Position(
                symbol=row["tradingSymbol"],
                exchange=EXCHANGES.get(row["exchangeSegment"], row["exchangeSegment"]),
                product=KITE_PRODUCTS.get(row["productType"], row["productType"]),
                quantity=int(row["netQty"]),
                average_price=to_decimal(row.get("costPrice")) or Decimal(0),
            )
            for row in self.call("GET", "/v2/positions")
        ]

    def _order(self, order_id: str) -> dict[str, Any]:
        return self.call("GET", f"/v2/orders/{order_id}")


def _order_status(row: dict[str, Any]) -> OrderStatus:
    order_type = KITE_ORDER_TYPES.get(row.get("orderType", ""))
    status = row.get("orderStatus")
    return OrderStatus(
        order_id=str(row["orderId"]),
        # TRANSIT (not yet at the exchange), PART_TRADED and anything new are still working.
        state=FINAL_STATES.get(status) or (resting_state(order_type) if status == "PENDING" else OrderState.OPEN),
        symbol=row.get("tradingSymbol") or "",
        side=Side(row["transactionType"]),
        quantity=int(row.get("quantity") or 0),
        filled_quantity=int(row.get("filledQty") or 0),
        average_price=price_or_none(row.get("averageTradedPrice")),
        trigger_price=price_or_none(row.get("triggerPrice")),
        order_type=order_type,
        tag=row.get("correlationId") or "",
        message=row.get("omsErrorDescription") or "",
        raw=row,
    )


def _token_validity(text: str | None) -> datetime | None:
    """Dhan's profile says when the token lapses as "DD/MM/YYYY HH:MM", in IST."""
    try:
        return datetime.strptime(text or "", "%d/%m/%Y %H:%M").replace(tzinfo=IST)
    except ValueError:
        return None
