"""Angel One (SmartAPI), spoken over REST as the smartapi-python 1.5 SDK speaks it.

- Every request carries `Authorization: Bearer <jwt>` (Credentials.access_token) and
  `X-PrivateKey: <api key>` (Credentials.api_key); Credentials.client_id is the client code.
- Answers are `{"status", "message", "errorcode", "data"}`, except the API gateway's own refusals
  (bad, expired or missing token, bad key), which say `{"success", "message", "errorCode",
  "data"}`. Business failures usually come with HTTP 200, so the envelope decides, not the status.
- Orders name the instrument twice: `tradingsymbol` ("TCS-EQ" for NSE equity) and
  `symboltoken`, Angel's numeric id, from `OrderRequest.instrument_token`. `last_prices` takes
  and answers by symbol token too.
- The order book is the one way to read an order by the `orderid` placeOrder returns (the
  details endpoint wants the other, `uniqueorderid`), and modify and cancel must restate the
  order's variety and fields, so all of them read the book first.
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
from brokers.adapters.http import (
    RestBrokerAdapter,
    batches,
    mapped,
    price_or_none,
    required_instrument_token,
    to_decimal,
)

API = "/rest/secure/angelbroking"
PRODUCTS = {"MIS": "INTRADAY", "CNC": "DELIVERY", "NRML": "CARRYFORWARD"}
KITE_PRODUCTS = {angel: kite for kite, angel in PRODUCTS.items()}
ORDER_TYPES = {
    OrderType.MARKET: "MARKET",
    OrderType.LIMIT: "LIMIT",
    OrderType.SL: "STOPLOSS_LIMIT",
    OrderType.SL_M: "STOPLOSS_MARKET",
}
KITE_ORDER_TYPES = {angel: kite for kite, angel in ORDER_TYPES.items()}
# Angel's statuses are Kite's, in lower case; "open pending", "modified" and the like are working.
STATES = {
    "complete": OrderState.COMPLETE,
    "rejected": OrderState.REJECTED,
    "cancelled": OrderState.CANCELLED,
    "trigger pending": OrderState.TRIGGER_PENDING,
}
QUOTES_BATCH = 50  # Angel's most instruments per market-data request
ORDER_NOT_FOUND = "AB1013"


def angel_symbol(symbol: str, exchange: str) -> str:
    return f"{symbol}-EQ" if exchange == "NSE" and not symbol.endswith("-EQ") else symbol


class AngelOneBroker(RestBrokerAdapter):
    name = "angelone"
    api_root_setting = "ANGELONE_API_ROOT"
    production_api_root = "https://apiconnect.angelone.in"
    # The gateway's AG8001-AG8004 (invalid, expired or missing token, invalid API key), the refresh
    # token's AB8050/AB8051, AB1010 (session expired) and AB1011 (client not logged in).
    auth_codes = frozenset({"AG8001", "AG8002", "AG8003", "AG8004", "AB8050", "AB8051", "AB1010", "AB1011"})
    # AB1004 "Something went wrong, please try after sometime" and AB2001 "Internal error".
    transient_codes = frozenset({"AB1004", "AB2001"})

    def auth_headers(self) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self.credentials.access_token}",
            "X-PrivateKey": self.credentials.api_key,
            "X-UserType": "USER",
            "X-SourceID": "WEB",
            # SmartAPI requires these three, but the official SDK sends one fixed public IP for every
            # user, so Angel cannot be relying on them; the egress proxy carries the real address.
            "X-ClientLocalIP": "127.0.0.1",
            "X-ClientPublicIP": "127.0.0.1",
            "X-MACAddress": "00:00:00:00:00:00",
            "Accept": "application/json",
        }

    def envelope_error(self, status: int, body: Any) -> tuple[str | int | None, str] | None:
        if not isinstance(body, dict) or body.get("status", body.get("success")) is not False:
            return None
        return body.get("errorcode") or body.get("errorCode"), body.get("message") or ""

    def validate(self) -> Profile:
        profile = self.call("GET", f"{API}/user/v1/getProfile")["data"]
        return Profile(
            client_id=profile.get("clientcode") or "", name=profile.get("name") or "", email=profile.get("email") or ""
        )

    def place_order(self, order: OrderRequest) -> str:
        payload = {
            "variety": "STOPLOSS" if order.order_type in {OrderType.SL, OrderType.SL_M} else "NORMAL",
            "tradingsymbol": angel_symbol(order.symbol, order.exchange),
            "symboltoken": required_instrument_token(order, self.name),
            "transactiontype": order.side.value,
            "exchange": order.exchange,
            "ordertype": ORDER_TYPES[order.order_type],
            "producttype": mapped(PRODUCTS, order.product, "product", self.name),
            "duration": "DAY",
            "price": str(order.price or 0),
            "squareoff": "0",
            "stoploss": "0",
            "quantity": str(order.quantity),
            "ordertag": order.tag,
        }
        if order.trigger_price is not None:
            payload["triggerprice"] = str(order.trigger_price)
        return str(self.call("POST", f"{API}/order/v1/placeOrder", json=payload, order_traffic=True)["data"]["orderid"])

    def order_status(self, order_id: str) -> OrderStatus:
        return _order_status(self._order(order_id))

    def orders_by_tag(self, tag: str) -> list[OrderStatus]:
        return [_order_status(row) for row in self._book() if row.get("ordertag") == tag]

    def modify_order(
        self,
        order_id: str,
        *,
        quantity: int | None = None,
        price: Decimal | None = None,
        trigger_price: Decimal | None = None,
    ) -> str:
        current = self._order(order_id)
        payload = {
            "variety": current["variety"],
            "orderid": order_id,
            "ordertype": current["ordertype"],
            "producttype": current["producttype"],
            "duration": current["duration"],
            "price": str(price if price is not None else current["price"]),
            "quantity": str(quantity if quantity is not None else current["quantity"]),
            "tradingsymbol": current["tradingsymbol"],
            "symboltoken": current["symboltoken"],
            "exchange": current["exchange"],
            "triggerprice": str(trigger_price if trigger_price is not None else current["triggerprice"]),
        }
        answer = self.call("POST", f"{API}/order/v1/modifyOrder", json=payload, order_traffic=True)
        return str(answer["data"]["orderid"])

    def cancel_order(self, order_id: str) -> str:
        payload = {"variety": self._order(order_id)["variety"], "orderid": order_id}
        answer = self.call("POST", f"{API}/order/v1/cancelOrder", json=payload, order_traffic=True)
        return str(answer["data"]["orderid"])

    def last_prices(self, symbols: list[str], exchange: str = "NSE") -> dict[str, Decimal]:
        """Last traded prices by Angel symbol token (the `symbols` here are symbol tokens)."""
        prices: dict[str, Decimal] = {}
        for batch in batches(symbols, QUOTES_BATCH):
            request = {"mode": "LTP", "exchangeTokens": {exchange: batch}}
            quotes = self.call("POST", f"{API}/market/v1/quote", json=request)["data"] or {}
            for quote in quotes.get("fetched") or []:
                if quote.get("ltp") is not None:
                    prices[quote["symbolToken"]] = Decimal(str(quote["ltp"]))
        return {symbol: prices[symbol] for symbol in symbols if symbol in prices}

    def positions(self) -> list[Position]:
        return [
            Position(
                symbol=row["tradingsymbol"].removesuffix("-EQ"),
                exchange=row["exchange"],
                product=KITE_PRODUCTS.get(row["producttype"], row["producttype"]),
                quantity=int(row["netqty"]),
                average_price=to_decimal(row.get("avgnetprice")) or Decimal(0),
            )
            # Angel answers `"data": null` rather than an empty list when there is nothing.
            for row in self.call("GET", f"{API}/order/v1/getPosition")["data"] or []
        ]

    def _book(self) -> list[dict[str, Any]]:
        return self.call("GET", f"{API}/order/v1/getOrderBook")["data"] or []

    def _order(self, order_id: str) -> dict[str, Any]:
        for row in self._book():
            if row.get("orderid") == order_id:
                return row
        raise BrokerRejected(f"angelone has no order {order_id} today.", code=ORDER_NOT_FOUND)


def _order_status(row: dict[str, Any]) -> OrderStatus:
    return OrderStatus(
        order_id=str(row["orderid"]),
        state=STATES.get(row.get("orderstatus") or "", OrderState.OPEN),
        symbol=(row.get("tradingsymbol") or "").removesuffix("-EQ"),
        side=Side(row["transactiontype"]),
        quantity=int(row.get("quantity") or 0),
        filled_quantity=int(row.get("filledshares") or 0),
        average_price=price_or_none(row.get("averageprice")),
        trigger_price=price_or_none(row.get("triggerprice")),
        order_type=KITE_ORDER_TYPES.get(row.get("ordertype") or ""),
        tag=row.get("ordertag") or "",
        message=row.get("text") or "",
        raw=row,
    )
