"""A Fyers (API v3) simulator: the REST protocol of api-t1.fyers.in, served on loopback.

Auth is checked as Fyers checks it: `Authorization` must be exactly `<app_id>:<access_token>`
for a live token, else HTTP 401 with code -16 (not authenticated) or -8 (token expired). Every
answer is Fyers' `{"s", "code", "message", ...}`: 400 with -50 (bad input), -300 (unknown
symbol), -51 (unknown order) or -99 (order rejected), 429 with -429 past `orders_per_second`
order requests, 500 with -96 for injected server faults.

Orders go through /orders/sync, which answers once the exchange has: MARKET fills at the price a
test set, LIMIT once the price reaches it, stop orders rest as pending (status 6) until
`set_price` crosses their trigger. A buy worth more than `funds` is rejected by the RMS, in the
answer (-99) and in the order book (status 5). Instruments are cash-market tickers such as
"NSE:TCS-EQ", listed by their first `set_price`.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from brokers.adapters.base import MAX_TAG_LENGTH
from brokers.simulators import market
from brokers.simulators.base import Reply, Request, route
from brokers.simulators.market import IST, MarketSimulator, OrderFields, Position, order_value

LIMIT, MARKET, STOP, STOP_LIMIT = 1, 2, 3, 4
CANCELLED, TRADED, TRANSIT, REJECTED, PENDING = 1, 2, 4, 5, 6
BUY = 1
PRODUCTS = {"CNC", "INTRADAY", "MARGIN", "MTF"}
EXCHANGE_CODES = {"NSE": 10, "MCX": 11, "BSE": 12}
CASH_SEGMENT = 10


def fyers_reply(status: int, code: int, message: str, **fields: Any) -> Reply:
    return Reply(
        status=status, body={"s": "ok" if status < 400 else "error", "code": code, "message": message, **fields}
    )


class FyersSimulator(MarketSimulator):
    fields = OrderFields(
        instrument="symbol",
        status="status",
        working=frozenset({PENDING}),
        side="side",
        buy=BUY,
        kind="type",
        kinds={MARKET: market.MARKET, LIMIT: market.LIMIT, STOP_LIMIT: market.STOP_LIMIT, STOP: market.STOP_MARKET},
        trigger="stopPrice",
        limit="limitPrice",
        product="productType",
        filled="filledQty",
        average="tradedPrice",
    )

    def __init__(
        self,
        *,
        app_id: str = "XA12345-100",
        fy_id: str = "XA00001",
        orders_per_second: int = 10,
        funds: Decimal = Decimal("1000000"),
    ) -> None:
        super().__init__(orders_per_second=orders_per_second, funds=funds, first_order_id=52104097616)
        self.app_id = app_id
        self.fy_id = fy_id
        self.prices: dict[str, Decimal] = {}  # by ticker; `set_price` lists a new one

    def _market_price(self, ticker: str) -> Decimal:
        return self.prices[ticker]

    def _store_price(self, ticker: str, price: Decimal) -> None:
        self.prices[ticker] = price

    def _rate_limit_reply(self) -> Reply:
        return fyers_reply(429, -429, "Request limit reached. Please try after some time.")

    def _server_error_reply(self, status: int) -> Reply:
        return fyers_reply(status, -96, "An unexpected error occurred. Please contact support.")

    @route("GET", "/api/v3/profile")
    def profile(self, request: Request) -> Reply:
        data = {"fy_id": self.fy_id, "name": "SIMULATED TRADER", "display_name": None, "email_id": "trader@example.com"}
        return fyers_reply(200, 200, "", data=data)

    @route("POST", "/api/v3/orders/sync")
    def place_order(self, request: Request) -> Reply:
        if limited := self._rate_limited():
            return limited
        body = request.json()
        with self.lock:
            if body.get("symbol") not in self.prices:
                return fyers_reply(400, -300, "Please provide a valid symbol")
            if problem := _invalid(body):
                return fyers_reply(400, -50, problem)
            order_id = self._next_order_id()
            ticker = body["symbol"]
            order = {
                "clientId": self.fy_id,
                "id": order_id,
                "exchOrdId": "",
                "qty": body["qty"],
                "remainingQuantity": body["qty"],
                "filledQty": 0,
                "discloseQty": 0,
                "limitPrice": float(body.get("limitPrice") or 0),
                "stopPrice": float(body.get("stopPrice") or 0),
                "tradedPrice": 0,
                "type": body["type"],
                "fyToken": "",
                "exchange": EXCHANGE_CODES[ticker.split(":")[0]],
                "segment": CASH_SEGMENT,
                "symbol": ticker,
                "instrument": 0,
                "message": "",
                "offlineOrder": False,
                "orderDateTime": _now(),
                "orderValidity": body.get("validity", "DAY"),
                "productType": body["productType"],
                "side": body["side"],
                "status": TRANSIT,
                "source": "API",
                "ex_sym": ticker.split(":")[1].removesuffix("-EQ"),
                "orderTag": body.get("orderTag") or "",
            }
            self.orders[order_id] = order
            value = order_value(body["qty"], body.get("limitPrice"), self.prices[ticker])
            if body["side"] == BUY and value > self.funds:
                message = f"RMS:Margin Shortfall: INR {value - self.funds} Available: INR {self.funds}"
                order.update(status=REJECTED, message=message)
                return fyers_reply(400, -99, message, id=order_id)
            order["status"] = PENDING
            self._match(order)
            return fyers_reply(200, 1101, f"Order submitted successfully. Your Order Ref. No.{order_id}", id=order_id)

    @route("GET", "/api/v3/orders")
    def order_book(self, request: Request) -> Reply:
        wanted = request.query.get("id", [None])[0]
        with self.lock:
            book = [dict(order) for order in self.orders.values() if wanted in (None, order["id"])]
        return fyers_reply(200, 200, "", orderBook=book)

    @route("PATCH", "/api/v3/orders/sync")
    def modify_order(self, request: Request) -> Reply:
        if limited := self._rate_limited():
            return limited
        body = request.json()
        with self.lock:
            order = self.orders.get(str(body.get("id")))
            if refusal := _not_pending(order):
                return refusal
            changed = {key: body.get(key, order[key]) for key in ("qty", "limitPrice", "stopPrice")}
            if problem := _invalid({**order, **changed}):
                return fyers_reply(400, -50, problem)
            order.update(changed, remainingQuantity=changed["qty"])
            self._match(order)
            return fyers_reply(200, 1102, "Successfully modified order", id=order["id"])

    @route("DELETE", "/api/v3/orders/sync")
    def cancel_order(self, request: Request) -> Reply:
        if limited := self._rate_limited():
            return limited
        with self.lock:
            order = self.orders.get(str(request.json().get("id")))
            if refusal := _not_pending(order):
                return refusal
            order["status"] = CANCELLED
            return fyers_reply(200, 1103, "Successfully cancelled order", id=order["id"])

    @route("GET", "/data/quotes")
    def quotes(self, request: Request) -> Reply:
        tickers = request.query.get("symbols", [""])[0].split(",")
        with self.lock:
            quotes = [_quote(ticker, self.prices.get(ticker)) for ticker in tickers]
        return fyers_reply(200, 200, "", d=quotes)

    @route("GET", "/api/v3/positions")
    def positions(self, request: Request) -> Reply:
        with self.lock:
            positions = [_position(book, self.prices[book.order["symbol"]]) for book in self._positions()]
        overall = {"count_total": len(positions), "count_open": sum(1 for row in positions if row["netQty"])}
        return fyers_reply(200, 200, "", netPositions=positions, overall=overall)

    def _refusal(self, request: Request) -> Reply | None:
        app_id, _, token = request.headers.get("authorization", "").partition(":")
        with self.lock:
            live = self.tokens.get(token) if app_id == self.app_id else None
        if live is None:
            return fyers_reply(401, -16, "Could not authenticate the user")
        if not live:
            return fyers_reply(401, -8, "Your token has expired. Please generate a token")
        return None

    def _fill(self, order: dict[str, Any], price: Decimal) -> None:
        order.update(status=TRADED, filledQty=order["qty"], remainingQuantity=0, tradedPrice=float(price))


def _invalid(order: dict[str, Any]) -> str | None:
    kind = order.get("type")
    if not isinstance(order.get("qty"), int) or order["qty"] <= 0:
        return "Please provide a valid order quantity"
    if kind not in {LIMIT, MARKET, STOP, STOP_LIMIT}:
        return "Please provide a valid order type"
    if order.get("side") not in {BUY, -BUY}:
        return "Please provide a valid order side of either buy or sell"
    if order.get("productType") not in PRODUCTS:
        return "Please provide a valid product type for the order"
    if kind in {LIMIT, STOP_LIMIT} and not order.get("limitPrice"):
        return "Please provide a valid limitPrice"
    if kind in {STOP, STOP_LIMIT} and not order.get("stopPrice"):
        return "Please provide a valid stop price"
    if len(order.get("orderTag") or "") > MAX_TAG_LENGTH:
        return f"orderTag can have at most {MAX_TAG_LENGTH} characters"
    return None


def _not_pending(order: dict[str, Any] | None) -> Reply | None:
    if order is None:
        return fyers_reply(400, -51, "Invalid order id")
    if order["status"] != PENDING:
        return fyers_reply(400, -50, "This order is no longer pending")
    return None


def _quote(ticker: str, price: Decimal | None) -> dict[str, Any]:
    if price is None:
        return {"n": ticker, "s": "error", "v": {"s": "error", "errmsg": "invalid symbol"}}
    exchange, _, name = ticker.partition(":")
    return {
        "n": ticker,
        "s": "ok",
        "v": {"lp": float(price), "symbol": ticker, "short_name": name, "exchange": exchange, "description": ticker},
    }


def _position(book: Position, last_price: Decimal) -> dict[str, Any]:
    order, net, net_average = book.order, book.net, book.net_average
    return {
        "symbol": order["symbol"],
        "id": f"{order['symbol']}-{order['productType']}",
        "netQty": net,
        "qty": abs(net),
        "avgPrice": float(net_average),
        "netAvg": float(net_average),
        "side": 1 if net > 0 else -1 if net < 0 else 0,
        "productType": order["productType"],
        "buyQty": book.bought,
        "buyAvg": float(book.buy_average),
        "buyVal": float(book.bought_value),
        "sellQty": book.sold,
        "sellAvg": float(book.sell_average),
        "sellVal": float(book.sold_value),
        "realized_profit": float(book.realized),
        "unrealized_profit": float(net * (last_price - net_average)),
        "ltp": float(last_price),
        "exchange": order["exchange"],
        "segment": order["segment"],
    }


def _now() -> str:
    return datetime.now(IST).strftime("%d-%b-%Y %H:%M:%S")
