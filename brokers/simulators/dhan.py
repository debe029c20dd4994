"""A Dhan (DhanHQ API v2) simulator: the REST protocol of api.dhan.co, served on loopback.

Auth is checked as Dhan checks it: the `access-token` header must be a live token and the
`client-id` header this account's id, else HTTP 401 with DH-901. Failures use Dhan's own body,
`{"errorType", "errorCode", "errorMessage"}`, and status: 400 for input (DH-905) and order
(DH-906) errors and for lookups that find nothing (DH-907), 429 with DH-904 past
`orders_per_second` order requests, 500 with DH-908 for injected server faults.

Orders fill against the prices a test sets: MARKET at the current price, LIMIT once the price
reaches it, stop orders rest as PENDING until `set_price` crosses their trigger. A buy worth more
than `funds` is accepted and then REJECTED by the RMS, as Dhan reports a margin shortfall.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from brokers.adapters.base import MAX_TAG_LENGTH
from brokers.simulators.base import Reply, Request, route
from brokers.simulators.market import (
    IST,
    LIMIT,
    MARKET,
    STOP_LIMIT,
    STOP_MARKET,
    MarketSimulator,
    OrderFields,
    Position,
    order_value,
)

ERROR_TYPES = {
    "DH-901": "Invalid_Authentication",
    "DH-904": "Rate_Limit",
    "DH-905": "Input_Exception",
    "DH-906": "Order_Error",
    "DH-907": "Data_Error",
    "DH-908": "Internal_Server_Error",
    "DH-910": "Others",
}
ORDER_TYPES = {"MARKET", "LIMIT", "STOP_LOSS", "STOP_LOSS_MARKET"}
STOP_TYPES = {"STOP_LOSS", "STOP_LOSS_MARKET"}
PRODUCTS = {"CNC", "INTRADAY", "MARGIN", "MTF"}
WORKING = {"TRANSIT", "PENDING", "PART_TRADED"}


def dhan_error(status: int, code: str, message: str) -> Reply:
    return Reply(status=status, body={"errorType": ERROR_TYPES[code], "errorCode": code, "errorMessage": message})


@dataclass
class Instrument:
    symbol: str
    segment: str
    price: Decimal


class DhanSimulator(MarketSimulator):
    fields = OrderFields(
        instrument="securityId",
        status="orderStatus",
        working=frozenset(WORKING),
        side="transactionType",
        buy="BUY",
        kind="orderType",
        kinds={"MARKET": MARKET, "LIMIT": LIMIT, "STOP_LOSS": STOP_LIMIT, "STOP_LOSS_MARKET": STOP_MARKET},
        trigger="triggerPrice",
        limit="price",
        product="productType",
        filled="filledQty",
        average="averageTradedPrice",
    )

    def __init__(
        self,
        *,
        client_id: str = "1100003626",
        orders_per_second: int = 10,
        funds: Decimal = Decimal("1000000"),
    ) -> None:
        super().__init__(orders_per_second=orders_per_second, funds=funds, first_order_id=112111182198)
        self.client_id = client_id
        self.instruments: dict[str, Instrument] = {}  # by security id

    def add_instrument(self, security_id: str, symbol: str, price: Decimal, segment: str = "NSE_EQ") -> None:
        with self.lock:
            self.instruments[security_id] = Instrument(symbol, segment, price)

    def _market_price(self, security_id: str) -> Decimal:
        return self.instruments[security_id].price

    def _store_price(self, security_id: str, price: Decimal) -> None:
        self.instruments[security_id].price = price

    def _rate_limit_reply(self) -> Reply:
        return dhan_error(429, "DH-904", "Too many requests on server from single user breaching rate limits.")

    def _server_error_reply(self, status: int) -> Reply:
        if status >= 500:
            return dhan_error(status, "DH-908", "Internal server error.")
        return dhan_error(status, "DH-910", "Simulated failure.")

    @route("GET", "/v2/profile")
    def profile(self, request: Request) -> Reply:
        return Reply(
            body={
                "dhanClientId": self.client_id,
                "tokenValidity": datetime.now(IST).strftime("%d/%m/%Y 23:59"),
                "activeSegment": "Equity, Derivative, Currency, Commodity",
                "ddpi": "Active",
                "mtf": "Active",
                "dataPlan": "Active",
                "dataValidity": "2027-01-01 00:00:00.0",
            }
        )

    @route("POST", "/v2/orders")
    def place_order(self, request: Request) -> Reply:
        if limited := self._rate_limited():
            return limited
        body = request.json()
        with self.lock:
            problem = self._invalid(body)
            if problem:
                return dhan_error(400, "DH-905", problem)
            instrument = self.instruments[str(body["securityId"])]
            order_id = self._next_order_id()
            now = _now()
            order = {
                "dhanClientId": self.client_id,
                "orderId": order_id,
                "correlationId": body.get("correlationId") or "",
                "orderStatus": "TRANSIT",
                "transactionType": body["transactionType"],
                "exchangeSegment": body["exchangeSegment"],
                "productType": body["productType"],
                "orderType": body["orderType"],
                "validity": body["validity"],
                "tradingSymbol": instrument.symbol,
                "securityId": str(body["securityId"]),
                "quantity": body["quantity"],
                "disclosedQuantity": body.get("disclosedQuantity") or 0,
                "price": float(body.get("price") or 0),
                "triggerPrice": float(body.get("triggerPrice") or 0),
                "afterMarketOrder": False,
                "legName": "",
                "createTime": now,
                "updateTime": now,
                "exchangeTime": "",
                "omsErrorCode": "",
                "omsErrorDescription": "",
                "algoId": "",
                "remainingQuantity": body["quantity"],
                "averageTradedPrice": 0.0,
                "filledQty": 0,
            }
            self.orders[order_id] = order
            value = order_value(body["quantity"], body.get("price"), instrument.price)
            if body["transactionType"] == "BUY" and value > self.funds:
                order.update(
                    orderStatus="REJECTED",
                    omsErrorCode="RMS",
                    omsErrorDescription=f"RMS:Margin Exceeds, Required:{value}, Available:{self.funds}",
                )
            else:
                order["orderStatus"] = "PENDING"
                self._match(order)
            return Reply(body={"orderId": order_id, "orderStatus": order["orderStatus"]})

    @route("GET", "/v2/orders")
    def order_book(self, request: Request) -> Reply:
        with self.lock:
            return Reply(body=[dict(order) for order in self.orders.values()])

    @route("GET", "/v2/orders/{order_id}")
    def order(self, request: Request) -> Reply:
        with self.lock:
            order = self.orders.get(request.params["order_id"])
            if order is None:
                return dhan_error(400, "DH-907", "No order found for this order id.")
            return Reply(body=dict(order))

    @route("GET", "/v2/orders/external/{correlation_id}")
    def order_by_correlation_id(self, request: Request) -> Reply:
        with self.lock:
            tagged = [
                order for order in self.orders.values() if order["correlationId"] == request.params["correlation_id"]
            ]
            if not tagged:
                return dhan_error(400, "DH-907", "No order found for this correlation id.")
            return Reply(body=dict(tagged[-1]))

    @route("PUT", "/v2/orders/{order_id}")
    def modify_order(self, request: Request) -> Reply:
        if limited := self._rate_limited():
            return limited
        body = request.json()
        with self.lock:
            order = self.orders.get(request.params["order_id"])
            if refusal := self._not_working(order):
                return refusal
            if body.get("orderType") not in ORDER_TYPES or body.get("validity") not in {"DAY", "IOC"}:
                return dhan_error(400, "DH-905", "orderType and validity are required.")
            order.update(
                orderType=body["orderType"],
                quantity=int(body.get("quantity") or order["quantity"]),
                price=float(body.get("price") or 0),
                triggerPrice=float(body.get("triggerPrice") or 0),
                updateTime=_now(),
            )
            order["remainingQuantity"] = order["quantity"]
            self._match(order)
            return Reply(body={"orderId": order["orderId"], "orderStatus": order["orderStatus"]})

    @route("DELETE", "/v2/orders/{order_id}")
    def cancel_order(self, request: Request) -> Reply:
        if limited := self._rate_limited():
            return limited
        with self.lock:
            order = self.orders.get(request.params["order_id"])
            if refusal := self._not_working(order):
                return refusal
            order.update(orderStatus="CANCELLED", updateTime=_now())
            return Reply(status=202, body={"orderId": order["orderId"], "orderStatus": "CANCELLED"})

    @route("POST", "/v2/marketfeed/ltp")
    def last_prices(self, request: Request) -> Reply:
        data: dict[str, dict[str, dict[str, float]]] = {}
        with self.lock:
            for segment, security_ids in request.json().items():
                data[segment] = {
                    str(security_id): {"last_price": float(instrument.price)}
                    for security_id in security_ids
                    if (instrument := self.instruments.get(str(security_id))) and instrument.segment == segment
                }
        return Reply(body={"data": data, "status": "success"})

    @route("GET", "/v2/positions")
    def positions(self, request: Request) -> Reply:
        with self.lock:
            return Reply(body=[_position(book) for book in self._positions()])

    def _refusal(self, request: Request) -> Reply | None:
        with self.lock:
            live = self.tokens.get(request.headers.get("access-token", ""))
        if not live or request.headers.get("client-id") != self.client_id:
            return dhan_error(401, "DH-901", "Client ID or user generated access token is invalid or expired.")
        return None

    def _invalid(self, body: dict[str, Any]) -> str | None:
        instrument = self.instruments.get(str(body.get("securityId")))
        order_type = body.get("orderType")
        if body.get("dhanClientId") != self.client_id:
            return "dhanClientId does not match the client-id header."
        if instrument is None or instrument.segment != body.get("exchangeSegment"):
            return f"Invalid securityId {body.get('securityId')} for {body.get('exchangeSegment')}."
        if body.get("transactionType") not in {"BUY", "SELL"}:
            return "transactionType must be BUY or SELL."
        if body.get("productType") not in PRODUCTS:
            return "Invalid productType."
        if order_type not in ORDER_TYPES or body.get("validity") not in {"DAY", "IOC"}:
            return "Invalid orderType or validity."
        if not isinstance(body.get("quantity"), int) or body["quantity"] <= 0:
            return "quantity must be a positive integer."
        if order_type in {"LIMIT", "STOP_LOSS"} and not body.get("price"):
            return f"price is required for {order_type} orders."
        if order_type in STOP_TYPES and not body.get("triggerPrice"):
            return f"triggerPrice is required for {order_type} orders."
        if len(body.get("correlationId") or "") > MAX_TAG_LENGTH:
            return f"correlationId can have at most {MAX_TAG_LENGTH} characters."
        return None

    def _not_working(self, order: dict[str, Any] | None) -> Reply | None:
        if order is None:
            return dhan_error(400, "DH-906", "Incorrect order id.")
        if order["orderStatus"] not in WORKING:
            return dhan_error(400, "DH-906", f"The order is {order['orderStatus']} and can no longer be changed.")
        return None

    def _fill(self, order: dict[str, Any], price: Decimal) -> None:
        now = _now()
        order.update(
            orderStatus="TRADED",
            filledQty=order["quantity"],
            remainingQuantity=0,
            averageTradedPrice=float(price),
            updateTime=now,
            exchangeTime=now,
        )


def _position(book: Position) -> dict[str, Any]:
    order, net = book.order, book.net
    return {
        "dhanClientId": order["dhanClientId"],
        "tradingSymbol": order["tradingSymbol"],
        "securityId": order["securityId"],
        "positionType": "LONG" if net > 0 else "SHORT" if net < 0 else "CLOSED",
        "exchangeSegment": order["exchangeSegment"],
        "productType": order["productType"],
        "buyAvg": float(book.buy_average),
        "buyQty": book.bought,
        "sellAvg": float(book.sell_average),
        "sellQty": book.sold,
        "netQty": net,
        "costPrice": float(book.net_average),
        "realizedProfit": float(book.realized),
        "unrealizedProfit": 0.0,
    }


def _now() -> str:
    return datetime.now(IST).strftime("%Y-%m-%d %H:%M:%S")
