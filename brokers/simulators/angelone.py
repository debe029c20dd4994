"""An Angel One (SmartAPI) simulator: the REST protocol of apiconnect.angelone.in, on loopback.

Auth is checked as Angel's API gateway checks it, and refused in the gateway's own dialect,
`{"success": false, "message", "errorCode", "data": ""}` with HTTP 401: AG8003 without a bearer
token, AG8004 when `X-PrivateKey` is not this app's key, AG8001 for a token it never issued. A
token `expire_tokens()` has ended passes the gateway and is refused by the trading backend,
which speaks `{"status": false, "message", "errorcode", "data": null}` with HTTP 200: AB1010,
"AMX Session Expired". Business failures are HTTP 200 too (AB1008 variety, AB1009 symbol, AB1012
product, AB4008 tag, AB1013 unknown order, AB2000 anything else); order requests past
`orders_per_second` get HTTP 429, injected server faults AB2001 with their 5xx status.

Orders fill against the prices a test sets: MARKET at the current price, LIMIT once the price
reaches it, STOPLOSS orders rest as "trigger pending" until `set_price` crosses their trigger. A
buy worth more than `funds` is accepted and then "rejected" by the RMS, as Angel reports a margin
shortfall. Empty books answer `"data": null`, as Angel's do.
"""

from __future__ import annotations

import secrets
import uuid
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

API = "/rest/secure/angelbroking"

VARIETIES = {"NORMAL": {"MARKET", "LIMIT"}, "STOPLOSS": {"STOPLOSS_LIMIT", "STOPLOSS_MARKET"}}
STOP_TYPES = VARIETIES["STOPLOSS"]
PRODUCTS = {"DELIVERY", "INTRADAY", "CARRYFORWARD", "MARGIN"}
WORKING = {"open", "trigger pending"}


def angel_ok(data: Any) -> Reply:
    return Reply(body={"status": True, "message": "SUCCESS", "errorcode": "", "data": data})


def angel_error(code: str, message: str, status: int = 200) -> Reply:
    return Reply(status=status, body={"status": False, "message": message, "errorcode": code, "data": None})


def gateway_refusal(code: str, message: str) -> Reply:
    return Reply(status=401, body={"success": False, "message": message, "errorCode": code, "data": ""})


@dataclass
class Instrument:
    tradingsymbol: str
    exchange: str
    price: Decimal


class AngelOneSimulator(MarketSimulator):
    fields = OrderFields(
        instrument="symboltoken",
        status="orderstatus",
        working=frozenset(WORKING),
        side="transactiontype",
        buy="BUY",
        kind="ordertype",
        kinds={"MARKET": MARKET, "LIMIT": LIMIT, "STOPLOSS_LIMIT": STOP_LIMIT, "STOPLOSS_MARKET": STOP_MARKET},
        trigger="triggerprice",
        limit="price",
        product="producttype",
        filled="filledshares",
        average="averageprice",
    )

    def __init__(
        self,
        *,
        api_key: str = "smartapi-sim-key",
        client_code: str = "S1234567",
        orders_per_second: int = 10,
        funds: Decimal = Decimal("1000000"),
    ) -> None:
        super().__init__(orders_per_second=orders_per_second, funds=funds, first_order_id=201020000000080)
        self.api_key = api_key
        self.client_code = client_code
        self.instruments: dict[str, Instrument] = {}  # by symbol token

    def add_instrument(self, token: str, tradingsymbol: str, price: Decimal, exchange: str = "NSE") -> None:
        with self.lock:
            self.instruments[token] = Instrument(tradingsymbol, exchange, price)

    def _new_token(self) -> str:
        return "eyJhbGciOiJIUzUxMiJ9." + secrets.token_urlsafe(32)  # a JWT, as Angel's are

    def _market_price(self, token: str) -> Decimal:
        return self.instruments[token].price

    def _store_price(self, token: str, price: Decimal) -> None:
        self.instruments[token].price = price

    def _rate_limit_reply(self) -> Reply:
        return angel_error("", "Access denied because of exceeding access rate", 429)

    def _server_error_reply(self, status: int) -> Reply:
        return angel_error("AB2001", "Internal Error, Please try after sometime", status)

    @route("GET", f"{API}/user/v1/getProfile")
    def profile(self, request: Request) -> Reply:
        return angel_ok(
            {
                "clientcode": self.client_code,
                "name": "SIMULATED TRADER",
                "email": "",
                "mobileno": "",
                "exchanges": ["nse_cm", "bse_cm", "nse_fo"],
                "products": ["MARGIN", "MIS", "NRML", "CNC", "CO", "BO"],
                "lastlogintime": "",
                "broker": "",
            }
        )

    @route("POST", f"{API}/order/v1/placeOrder")
    def place_order(self, request: Request) -> Reply:
        if limited := self._rate_limited():
            return limited
        body = request.json()
        with self.lock:
            if refusal := self._invalid(body):
                return refusal
            instrument = self.instruments[body["symboltoken"]]
            order_id = self._next_order_id()
            order = {
                "variety": body["variety"],
                "ordertype": body["ordertype"],
                "producttype": body["producttype"],
                "duration": body.get("duration") or "DAY",
                "price": float(body.get("price") or 0),
                "triggerprice": float(body.get("triggerprice") or 0),
                "quantity": str(body["quantity"]),
                "disclosedquantity": "0",
                "squareoff": 0.0,
                "stoploss": 0.0,
                "trailingstoploss": 0.0,
                "tradingsymbol": body["tradingsymbol"],
                "transactiontype": body["transactiontype"],
                "exchange": body["exchange"],
                "symboltoken": body["symboltoken"],
                "ordertag": body.get("ordertag") or "",
                "instrumenttype": "",
                "averageprice": 0.0,
                "filledshares": "0",
                "unfilledshares": str(body["quantity"]),
                "orderid": order_id,
                "text": "",
                "status": "open",
                "orderstatus": "open",
                "updatetime": _now(),
                "exchtime": "",
                "exchorderupdatetime": "",
                "parentorderid": "",
                "uniqueorderid": str(uuid.uuid4()),
            }
            self.orders[order_id] = order
            value = order_value(body["quantity"], body.get("price"), instrument.price)
            if body["transactiontype"] == "BUY" and value > self.funds:
                text = (
                    "Your order has been rejected due to Insufficient Funds. "
                    f"Available funds - Rs. {self.funds} . You require Rs. {value} funds to execute this order."
                )
                self._set_status(order, "rejected", text=text)
            self._match(order)
            return angel_ok(
                {"script": order["tradingsymbol"], "orderid": order_id, "uniqueorderid": order["uniqueorderid"]}
            )

    @route("GET", f"{API}/order/v1/getOrderBook")
    def order_book(self, request: Request) -> Reply:
        with self.lock:
            return angel_ok([dict(order) for order in self.orders.values()] or None)

    @route("POST", f"{API}/order/v1/modifyOrder")
    def modify_order(self, request: Request) -> Reply:
        if limited := self._rate_limited():
            return limited
        body = request.json()
        with self.lock:
            order = self.orders.get(body.get("orderid", ""))
            if refusal := _not_working(order):
                return refusal
            if body.get("variety") != order["variety"] or body.get("ordertype") not in VARIETIES[order["variety"]]:
                return angel_error("AB1008", "Invalid Order Variety")
            order.update(
                ordertype=body["ordertype"],
                price=float(body.get("price") or 0),
                triggerprice=float(body.get("triggerprice") or 0),
                quantity=str(body.get("quantity") or order["quantity"]),
                updatetime=_now(),
            )
            order["unfilledshares"] = order["quantity"]
            self._match(order)
            return angel_ok({"orderid": order["orderid"], "uniqueorderid": order["uniqueorderid"]})

    @route("POST", f"{API}/order/v1/cancelOrder")
    def cancel_order(self, request: Request) -> Reply:
        if limited := self._rate_limited():
            return limited
        body = request.json()
        with self.lock:
            order = self.orders.get(body.get("orderid", ""))
            if refusal := _not_working(order):
                return refusal
            if body.get("variety") != order["variety"]:
                return angel_error("AB1008", "Invalid Order Variety")
            self._set_status(order, "cancelled")
            return angel_ok({"orderid": order["orderid"], "uniqueorderid": order["uniqueorderid"]})

    @route("POST", f"{API}/market/v1/quote")
    def quote(self, request: Request) -> Reply:
        body = request.json()
        fetched, unfetched = [], []
        with self.lock:
            for exchange, tokens in (body.get("exchangeTokens") or {}).items():
                for token in tokens:
                    instrument = self.instruments.get(token)
                    if instrument is None or instrument.exchange != exchange:
                        unfetched.append({"exchange": exchange, "symbolToken": token, "message": "Symbol Not Found"})
                        continue
                    fetched.append(
                        {
                            "exchange": exchange,
                            "tradingSymbol": instrument.tradingsymbol,
                            "symbolToken": token,
                            "ltp": float(instrument.price),
                        }
                    )
        return angel_ok({"fetched": fetched, "unfetched": unfetched})

    @route("GET", f"{API}/order/v1/getPosition")
    def positions(self, request: Request) -> Reply:
        with self.lock:
            return angel_ok([_position(book) for book in self._positions()] or None)

    def _refusal(self, request: Request) -> Reply | None:
        authorization = request.headers.get("authorization", "")
        if not authorization.startswith("Bearer "):
            return gateway_refusal("AG8003", "Token missing")
        if request.headers.get("x-privatekey") != self.api_key:
            return gateway_refusal("AG8004", "Invalid API Key")
        with self.lock:
            alive = self.tokens.get(authorization.removeprefix("Bearer "))
        if alive is None:
            return gateway_refusal("AG8001", "Invalid Token")
        if not alive:
            return angel_error("AB1010", "AMX Session Expired")
        return None

    def _invalid(self, body: dict[str, Any]) -> Reply | None:
        instrument = self.instruments.get(body.get("symboltoken", ""))
        order_type = body.get("ordertype")
        if order_type not in VARIETIES.get(body.get("variety", ""), set()):
            return angel_error("AB1008", "Invalid Order Variety")
        if body.get("producttype") not in PRODUCTS:
            return angel_error("AB1012", "Invalid Product Type")
        if (
            instrument is None
            or instrument.tradingsymbol != body.get("tradingsymbol")
            or instrument.exchange != body.get("exchange")
        ):
            return angel_error("AB1009", "Symbol Not Found")
        if len(body.get("ordertag") or "") > MAX_TAG_LENGTH:
            return angel_error("AB4008", "ordertag length should be less than 20 characters")
        if body.get("transactiontype") not in {"BUY", "SELL"} or not str(body.get("quantity", "")).isdigit():
            return angel_error("AB2000", "Invalid transactiontype or quantity")
        if order_type in {"LIMIT", "STOPLOSS_LIMIT"} and not Decimal(str(body.get("price") or 0)):
            return angel_error("AB2000", f"price is required for {order_type} orders")
        if order_type in STOP_TYPES and not Decimal(str(body.get("triggerprice") or 0)):
            return angel_error("AB2000", f"triggerprice is required for {order_type} orders")
        return None

    def _trigger_pending(self, order: dict[str, Any]) -> None:
        self._set_status(order, "trigger pending")

    def _triggered(self, order: dict[str, Any]) -> None:
        self._set_status(order, "open")

    def _fill(self, order: dict[str, Any], price: Decimal) -> None:
        self._set_status(order, "complete", filledshares=order["quantity"], unfilledshares="0")
        order["averageprice"] = float(price)

    def _set_status(self, order: dict[str, Any], status: str, **fields: Any) -> None:
        order.update(status=status, orderstatus=status, updatetime=_now(), **fields)


def _not_working(order: dict[str, Any] | None) -> Reply | None:
    if order is None:
        return angel_error("AB1013", "Order not found")
    if order["orderstatus"] not in WORKING:
        return angel_error("AB2000", f"The order is {order['orderstatus']} and can no longer be changed")
    return None


def _position(book: Position) -> dict[str, Any]:
    order = book.order
    return {
        "exchange": order["exchange"],
        "symboltoken": order["symboltoken"],
        "producttype": order["producttype"],
        "tradingsymbol": order["tradingsymbol"],
        "symbolname": order["tradingsymbol"].removesuffix("-EQ"),
        "buyqty": str(book.bought),
        "sellqty": str(book.sold),
        "buyamount": f"{book.bought_value:.2f}",
        "sellamount": f"{book.sold_value:.2f}",
        "buyavgprice": f"{book.buy_average:.2f}",
        "sellavgprice": f"{book.sell_average:.2f}",
        "avgnetprice": f"{book.net_average:.2f}",
        "netqty": str(book.net),
        "netvalue": f"{book.sold_value - book.bought_value:.2f}",
    }


def _now() -> str:
    return datetime.now(IST).strftime("%d-%b-%Y %H:%M:%S")
