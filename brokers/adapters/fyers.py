"""Fyers (API v3), spoken over REST as the fyers-apiv3 3.2 SDK speaks it.

- Every request carries `Authorization: <app_id>:<access_token>`. The app id ("XXXX-100", which
  the SDK calls client_id) is Credentials.api_key; the Fyers user id comes back from `validate`.
- Every answer is `{"s": "ok" | "error", "code", "message", ...}`; the HTTP status follows it.
- Trading lives under /api/v3 and quotes under /data, both on FYERS_API_ROOT.
- Instruments are Fyers tickers: TCS on NSE is "NSE:TCS-EQ". A symbol that already carries its
  exchange prefix is sent as it is, which is how BSE groups ("BSE:TCS-A") and derivatives are
  named; answers come back in Kite's plain symbols ("TCS").
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

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
from brokers.adapters.http import RestBrokerAdapter, batches, mapped, price_or_none, resting_state, to_decimal

TICKER_PREFIXES = {"NSE": "NSE", "NFO": "NSE", "CDS": "NSE", "BSE": "BSE", "BFO": "BSE", "MCX": "MCX"}
# Positions name the market by Fyers' (exchange, segment) codes.
KITE_EXCHANGES = {(10, 10): "NSE", (10, 11): "NFO", (10, 12): "CDS", (12, 10): "BSE", (12, 11): "BFO", (11, 20): "MCX"}
PRODUCTS = {"MIS": "INTRADAY", "CNC": "CNC", "NRML": "MARGIN"}
KITE_PRODUCTS = {fyers: kite for kite, fyers in PRODUCTS.items()}
ORDER_TYPES = {OrderType.LIMIT: 1, OrderType.MARKET: 2, OrderType.SL_M: 3, OrderType.SL: 4}
KITE_ORDER_TYPES = {fyers: kite for kite, fyers in ORDER_TYPES.items()}
SIDES = {Side.BUY: 1, Side.SELL: -1}
# Order status codes: 4 (in transit to the exchange) and any new code are still working.
FINAL_STATES = {1: OrderState.CANCELLED, 2: OrderState.COMPLETE, 5: OrderState.REJECTED, 7: OrderState.CANCELLED}
PENDING = 6
QUOTES_BATCH = 50  # Fyers' most symbols per quotes request


def fyers_ticker(symbol: str, exchange: str) -> str:
    if ":" in symbol:
        return symbol
    prefix = mapped(TICKER_PREFIXES, exchange, "exchange", "fyers")
    return f"{prefix}:{symbol}-EQ" if exchange == "NSE" else f"{prefix}:{symbol}"


def kite_symbol(ticker: str) -> str:
    return ticker.split(":")[-1].removesuffix("-EQ")


class FyersBroker(RestBrokerAdapter):
    name = "fyers"
    api_root_setting = "FYERS_API_ROOT"
    production_api_root = "https://api-t1.fyers.in"
    # -8 token expired, -15 invalid token, -16 authentication failed, -17 token invalid or
    # expired, -352 invalid app id.
    auth_codes = frozenset({-8, -15, -16, -17, -352})
    transient_codes = frozenset({-429})

    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"{self.credentials.api_key}:{self.credentials.access_token}", "version": "3"}

    def envelope_error(self, status: int, body: Any) -> tuple[str | int | None, str] | None:
        if isinstance(body, dict) and body.get("s") == "error":
            return body.get("code"), body.get("message") or ""
        return None

    def validate(self) -> Profile:
        profile = self.call("GET", "/api/v3/profile")["data"]
        return Profile(
            client_id=profile.get("fy_id") or "", name=profile.get("name") or "", email=profile.get("email_id") or ""
        )

    def place_order(self, order: OrderRequest) -> str:
        payload = {
            "symbol": fyers_ticker(order.symbol, order.exchange),
            "qty": order.quantity,
            "type": ORDER_TYPES[order.order_type],
            "side": SIDES[order.side],
            "productType": mapped(PRODUCTS, order.product, "product", self.name),
            "limitPrice": float(order.price or 0),
            "stopPrice": float(order.trigger_price or 0),
            "validity": "DAY",
            "disclosedQty": 0,
            "offlineOrder": False,
            "orderTag": order.tag,
        }
        return str(self.call("POST", "/api/v3/orders/sync", json=payload, order_traffic=True)["id"])

    def order_status(self, order_id: str) -> OrderStatus:
        found = self.call("GET", "/api/v3/orders", params={"id": order_id}).get("orderBook") or []
        if not found:
            raise BrokerRejected(f"fyers has no order {order_id} today.")
        return _order_status(found[0])

    def orders_by_tag(self, tag: str) -> list[OrderStatus]:
        book = self.call("GET", "/api/v3/orders").get("orderBook") or []
        return [_order_status(row) for row in book if row.get("orderTag") == tag]

    def modify_order(
        self,
        order_id: str,
        *,
        quantity: int | None = None,
        price: Decimal | None = None,
        trigger_price: Decimal | None = None,
    ) -> str:
        changes: dict[str, Any] = {"id": order_id}
        if quantity is not None:
            changes["qty"] = quantity
        if price is not None:
            changes["limitPrice"] = float(price)
        if trigger_price is not None:
            changes["stopPrice"] = float(trigger_price)
        return str(self.call("PATCH", "/api/v3/orders/sync", json=changes, order_traffic=True)["id"])

    def cancel_order(self, order_id: str) -> str:
        return str(self.call("DELETE", "/api/v3/orders/sync", json={"id": order_id}, order_traffic=True)["id"])

    def last_prices(self, symbols: list[str], exchange: str = "NSE") -> dict[str, Decimal]:
        by_ticker = {fyers_ticker(symbol, exchange): symbol for symbol in symbols}
        prices: dict[str, Decimal] = {}
        for batch in batches(list(by_ticker), QUOTES_BATCH):
            for quote in self.call("GET", "/data/quotes", params={"symbols": ",".join(batch)}).get("d") or []:
                # A symbol Fyers does not know comes back as its own {"s": "error"} entry.
                if quote.get("s") == "ok" and quote["n"] in by_ticker and quote["v"].get("lp") is not None:
                    prices[by_ticker[quote["n"]]] = Decimal(str(quote["v"]["lp"]))
        return prices

    def positions(self) -> list[Position]:
        return [
            Position(
                symbol=kite_symbol(row["symbol"]),
                exchange=KITE_EXCHANGES.get((row.get("exchange"), row.get("segment")), row["symbol"].partition(":")[0]),
                product=KITE_PRODUCTS.get(row["productType"], row["productType"]),
                quantity=int(row["netQty"]),
                average_price=to_decimal(row.get("netAvg")) or Decimal(0),
            )
            for row in self.call("GET", "/api/v3/positions").get("netPositions") or []
        ]


def _order_status(row: dict[str, Any]) -> OrderStatus:
    order_type = KITE_ORDER_TYPES.get(row.get("type"))
    status = row.get("status")
    return OrderStatus(
        order_id=str(row["id"]),
        state=FINAL_STATES.get(status) or (resting_state(order_type) if status == PENDING else OrderState.OPEN),
        symbol=kite_symbol(row.get("symbol") or ""),
        side=Side.BUY if row.get("side") == SIDES[Side.BUY] else Side.SELL,
        quantity=int(row.get("qty") or 0),
        filled_quantity=int(row.get("filledQty") or 0),
        average_price=price_or_none(row.get("tradedPrice")),
        trigger_price=price_or_none(row.get("stopPrice")),
        order_type=order_type,
        tag=row.get("orderTag") or "",
        message=row.get("message") or "",
        raw=row,
    )
