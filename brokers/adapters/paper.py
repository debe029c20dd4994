"""Paper trading: a broker that fills orders against the market prices Algotrader already holds.

It is the default broker for new users and demos. Its order book lives in Redis, so every web,
Celery and feed process sees the same orders, and it enforces Kite's order rules (market
protection, tick sizes, stop-loss triggers against the last price, 10 orders per second) so
that an order the live brokers would refuse fails in paper trading first.

The market price of a symbol is `price:{symbol}` (written by the market feed through
`set_price`), seeded from the shipped reference price the first time it is needed. Orders that
wait for the price rest in two sorted sets per symbol, scored by the price that releases them:

- `paper:resting:{symbol}:falls`: SELL stops and BUY limits, reached by a price at or below the score;
- `paper:resting:{symbol}:rises`: BUY stops and SELL limits, reached by a price at or above the score;

so a tick finds what it releases with one ZRANGEBYSCORE per set. Every change to an order runs
in one Lua script: Redis runs scripts one at a time, so a resting order cannot fill twice when
two processes move the price at once, nor fill after a cancel from a third.

An account's keys are named by its `client_id`; order ids are unique across accounts and an
order is only visible to the account that placed it. Orders and trades expire after a week:
paper trading keeps no history beyond that, and nothing here is rebuilt from the database.
"""

from __future__ import annotations

import functools
import json
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, NamedTuple, ParamSpec, TypeVar
from zoneinfo import ZoneInfo

import redis
from django.conf import settings
from redis.commands.core import Script

from algotrader.redis import redis_client
from brokers.adapters.base import (
    BrokerAdapter,
    BrokerAuthError,
    BrokerRejected,
    BrokerUnavailable,
    OrderRequest,
    OrderState,
    OrderStatus,
    OrderType,
    Position,
    Profile,
    Side,
)
from brokers.instruments import ShippedInstrument, shipped_instruments

IST = ZoneInfo("Asia/Kolkata")
EXCHANGES = frozenset({"NSE", "BSE"})
PRODUCTS = frozenset({"MIS", "CNC", "NRML"})
ORDERS_PER_SECOND = 10  # Kite's limit per account since the SEBI retail-algo rules (429 beyond it)
MAX_MODIFICATIONS = 25  # Kite's limit per order

NO_PROTECTION_MESSAGE = (
    "Market orders without market protection are not allowed via API. "
    "Please set market protection or use a Limit order."
)
UNKNOWN_ORDER_MESSAGE = "Couldn't find that `order_id`."

P = ParamSpec("P")
T = TypeVar("T")


# --- Keys. The Lua prelude below builds the same names: an order's keys are only known once a
# script has read the order, so the scripts cannot be handed them (fine on standalone Redis).


def price_key(symbol: str) -> str:
    return f"price:{symbol}"


def order_key(order_id: str) -> str:
    return f"paper:order:{order_id}"


def tag_key(account: str, day: str, tag: str) -> str:
    return f"paper:account:{account}:tag:{day}:{tag}"


def trades_key(account: str, day: str) -> str:
    return f"paper:account:{account}:trades:{day}"


_PRELUDE = """
local RETENTION = 7 * 24 * 3600

local function price_key(symbol) return 'price:' .. symbol end
local function order_key(id) return 'paper:order:' .. id end
local function resting_key(symbol, direction) return 'paper:resting:' .. symbol .. ':' .. direction end
local function trades_key(account, day) return 'paper:account:' .. account .. ':trades:' .. day end

-- A SELL stop fires when the price falls to it; a BUY limit fills when the price falls to it.
local function stop_direction(side) if side == 'SELL' then return 'falls' end return 'rises' end
local function limit_direction(side) if side == 'BUY' then return 'falls' end return 'rises' end

local function marketable(side, limit, price)
    if side == 'BUY' then return tonumber(price) <= tonumber(limit) end
    return tonumber(price) >= tonumber(limit)
end

local function fill(id, price, now, day)
    local key = order_key(id)
    local o = redis.call('HMGET', key, 'account', 'symbol', 'exchange', 'product', 'side', 'quantity')
    redis.call('HSET', key, 'status', 'COMPLETE', 'average_price', price, 'filled_quantity', o[6],
        'pending_quantity', '0', 'updated_at', now, 'filled_at', now)
    local trades = trades_key(o[1], day)
    redis.call('RPUSH', trades, cjson.encode({order_id = id, symbol = o[2], exchange = o[3], product = o[4],
        side = o[5], quantity = o[6], price = price, filled_at = now}))
    redis.call('EXPIRE', trades, RETENTION)
end

local function rest(id, symbol, direction, score)
    redis.call('ZADD', resting_key(symbol, direction), score, id)
end

local function unrest(id, symbol)
    redis.call('ZREM', resting_key(symbol, 'falls'), id)
    redis.call('ZREM', resting_key(symbol, 'rises'), id)
end

local function trigger_problem(side, trigger, price)
    if side == 'SELL' and tonumber(trigger) >= tonumber(price) then
        return 'Trigger price for stoploss sell orders should be lower than last traded price'
    end
    if side == 'BUY' and tonumber(trigger) <= tonumber(price) then
        return 'Trigger price for stoploss buy orders should be higher than last traded price'
    end
    return nil
end
"""

# ARGV: account, orders per second, reference price, order id prefix, now, day, tag index key,
# the rule the order breaks ('' for none), then the order's field/value pairs as one JSON array
# (one argument, not forty: a batch sends a hundred of these in one pipeline).
# Returns {outcome, order id, message}; outcome is THROTTLED, REJECTED or the order's state.
_PLACE = """
local account, reference, now, day = ARGV[1], ARGV[3], ARGV[5], ARGV[6]
-- Redis's clock, not each process's, decides which second an order falls in.
local rate_key = 'paper:rate:' .. account .. ':' .. redis.call('TIME')[1]
local placed = redis.call('INCR', rate_key)
if placed == 1 then redis.call('EXPIRE', rate_key, 2) end
if placed > tonumber(ARGV[2]) then return {'THROTTLED', '', ''} end

local id = ARGV[4] .. string.format('%09d', redis.call('INCR', 'paper:order_sequence'))
local key = order_key(id)
redis.call('HSET', key, 'order_id', id, 'placed_at', now, 'updated_at', now, unpack(cjson.decode(ARGV[9])))
redis.call('EXPIRE', key, RETENTION)
redis.call('SADD', ARGV[7], id)
redis.call('EXPIRE', ARGV[7], RETENTION)

local function settle(status, message)
    redis.call('HSET', key, 'status', status, 'status_message', message)
    return {status, id, message}
end
if ARGV[8] ~= '' then return settle('REJECTED', ARGV[8]) end

local o = redis.call('HMGET', key, 'symbol', 'side', 'order_type', 'price', 'trigger_price')
local symbol, side, order_type, limit, trigger = o[1], o[2], o[3], o[4], o[5]
local price = redis.call('GET', price_key(symbol))
if not price then
    price = reference
    redis.call('SET', price_key(symbol), price)
end

if order_type == 'MARKET' or (order_type == 'LIMIT' and marketable(side, limit, price)) then
    fill(id, price, now, day)
    return {'COMPLETE', id, ''}
end
if order_type == 'LIMIT' then
    rest(id, symbol, limit_direction(side), limit)
    return settle('OPEN', '')
end
-- Kite refuses a stop the market has already passed rather than firing it at once.
local problem = trigger_problem(side, trigger, price)
if problem then return settle('REJECTED', problem) end
rest(id, symbol, stop_direction(side), trigger)
return settle('TRIGGER PENDING', '')
"""

# ARGV: symbol, price, now, day. Returns the ids of the orders the price filled or triggered.
_SET_PRICE = """
local symbol, price, now, day = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
redis.call('SET', price_key(symbol), price)
local falling = redis.call('ZRANGEBYSCORE', resting_key(symbol, 'falls'), price, '+inf')
local rising = redis.call('ZRANGEBYSCORE', resting_key(symbol, 'rises'), '-inf', price)
local reached = {}

local function reach(id, direction)
    redis.call('ZREM', resting_key(symbol, direction), id)
    local o = redis.call('HMGET', order_key(id), 'status', 'order_type', 'side', 'price')
    local status, order_type, side, limit = o[1], o[2], o[3], o[4]
    if status == 'TRIGGER PENDING' then
        if order_type == 'SL' and not marketable(side, limit, price) then
            -- The stop fired past its limit: the limit order now waits on the book.
            redis.call('HSET', order_key(id), 'status', 'OPEN', 'updated_at', now)
            rest(id, symbol, limit_direction(side), limit)
        else
            fill(id, price, now, day)
        end
    elseif status == 'OPEN' then
        -- A resting limit order fills at its own price when the market moves through it.
        fill(id, limit, now, day)
    else
        return  -- an expired order's leftover member
    end
    reached[#reached + 1] = id
end

for _, id in ipairs(falling) do reach(id, 'falls') end
for _, id in ipairs(rising) do reach(id, 'rises') end
return reached
"""

# ARGV: order id, account, now. Returns {outcome, final state}.
_CANCEL = """
local id, account, now = ARGV[1], ARGV[2], ARGV[3]
local key = order_key(id)
local o = redis.call('HMGET', key, 'account', 'status', 'symbol', 'quantity')
if o[1] ~= account then return {'UNKNOWN', ''} end
if o[2] ~= 'OPEN' and o[2] ~= 'TRIGGER PENDING' then return {'FINAL', o[2]} end
unrest(id, o[3])
redis.call('HSET', key, 'status', 'CANCELLED', 'pending_quantity', '0', 'cancelled_quantity', o[4],
    'updated_at', now)
return {'CANCELLED', ''}
"""

# ARGV: order id, account, now, day, most modifications, then quantity, price and trigger price
# ('' leaves one unchanged). Returns {outcome, detail}.
_MODIFY = """
local id, account, now, day = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local key = order_key(id)
local o = redis.call('HMGET', key, 'account', 'status', 'symbol', 'side', 'quantity', 'price', 'trigger_price',
    'modifications')
local status, symbol, side = o[2], o[3], o[4]
if o[1] ~= account then return {'UNKNOWN', ''} end
if status ~= 'OPEN' and status ~= 'TRIGGER PENDING' then return {'FINAL', status} end
if tonumber(o[8]) >= tonumber(ARGV[5]) then
    return {'REJECTED', 'Maximum allowed order modifications exceeded.'}
end
local quantity = ARGV[6] ~= '' and ARGV[6] or o[5]
local limit = ARGV[7] ~= '' and ARGV[7] or o[6]
local trigger = ARGV[8] ~= '' and ARGV[8] or o[7]
local price = redis.call('GET', price_key(symbol))
if status == 'TRIGGER PENDING' and price then
    local problem = trigger_problem(side, trigger, price)
    if problem then return {'REJECTED', problem} end
end

redis.call('HSET', key, 'quantity', quantity, 'pending_quantity', quantity, 'price', limit, 'trigger_price', trigger,
    'updated_at', now)
redis.call('HINCRBY', key, 'modifications', 1)
unrest(id, symbol)
if status == 'TRIGGER PENDING' then
    rest(id, symbol, stop_direction(side), trigger)
elseif price and marketable(side, limit, price) then
    -- A limit moved through the market is an arriving order again: it takes the market's price.
    fill(id, price, now, day)
else
    rest(id, symbol, limit_direction(side), limit)
end
return {'MODIFIED', ''}
"""


class _Scripts(NamedTuple):
    place: Script
    set_price: Script
    cancel: Script
    modify: Script


@functools.cache
def _scripts() -> _Scripts:
    # redis-py runs these by EVALSHA and loads them again if Redis restarted and forgot them.
    client = redis_client()
    return _Scripts(*(client.register_script(_PRELUDE + body) for body in (_PLACE, _SET_PRICE, _CANCEL, _MODIFY)))


def _clock() -> tuple[str, str]:
    """Now as an aware UTC ISO timestamp, and the Indian trading day it falls in."""
    now = datetime.now(UTC)
    return now.isoformat(), now.astimezone(IST).date().isoformat()


def _wire(value: Decimal) -> str:
    # Plain notation: str(Decimal("1E+3")) is not a number Lua's tonumber or a reader expects.
    return format(value, "f")


def set_price(symbol: str, price: Decimal) -> list[str]:
    """Moves the paper market: `price:{symbol}` becomes `price`, and the resting orders on `symbol`
    that it crosses trigger or fill. Returns their ids. One Redis round trip."""
    if not price.is_finite() or price <= 0:
        raise ValueError(f"A market price must be a positive number, not {price}.")
    now, day = _clock()
    return list(_scripts().set_price(args=[symbol, _wire(price), now, day]))


def market_prices(symbols: list[str]) -> dict[str, Decimal]:
    """The paper market's prices; a symbol not priced yet starts at its shipped reference price.
    Symbols with neither are absent."""
    symbols = list(dict.fromkeys(symbols))
    client = redis_client()
    prices = dict(zip(symbols, client.mget([price_key(symbol) for symbol in symbols]), strict=True))
    references = shipped_instruments()
    unpriced = [symbol for symbol, price in prices.items() if price is None and symbol in references]
    if unpriced:
        # SET NX: a feed tick that got there first wins over the reference price.
        pipe = client.pipeline(transaction=False)
        for symbol in unpriced:
            pipe.set(price_key(symbol), _wire(references[symbol].reference_price), nx=True)
            pipe.get(price_key(symbol))
        prices.update(zip(unpriced, pipe.execute()[1::2], strict=True))
    return {symbol: Decimal(price) for symbol, price in prices.items() if price is not None}


def market_price(symbol: str) -> Decimal | None:
    return market_prices([symbol]).get(symbol)


def _amount_problem(name: str, value: Decimal, tick_size: Decimal) -> str | None:
    invalid = f"Invalid `{name}`."
    if not value.is_finite() or value <= 0:
        return invalid
    try:
        off_tick = value % tick_size
    except InvalidOperation:  # too many digits to divide by the tick
        return invalid
    if off_tick:
        return (
            f"Tick size for this script is {tick_size}. "
            f"Kindly enter {name.replace('_', ' ')} in the multiple of tick size for this script."
        )
    return None


def _broken_rule(order: OrderRequest, instrument: ShippedInstrument | None) -> str | None:
    """Kite's message for the first of its order rules `order` breaks, or None."""
    if order.exchange not in EXCHANGES:
        return f"Invalid `exchange`: {order.exchange!r}."
    if instrument is None:
        return f"Invalid `tradingsymbol`: {order.exchange}:{order.symbol} is not a known instrument."
    if order.product not in PRODUCTS:
        return f"Invalid `product`: {order.product!r}."
    if order.quantity % instrument.lot_size:
        return f"Quantity should be a multiple of the lot size {instrument.lot_size}."
    if order.needs_market_protection:
        if order.market_protection == 0:
            return NO_PROTECTION_MESSAGE
        if not (order.market_protection == -1 or 1 <= order.market_protection <= 100):
            return "`market_protection` should be -1 (automatic) or a percentage from 1 to 100."
    amounts = {
        "price": order.price if order.order_type in {OrderType.LIMIT, OrderType.SL} else None,
        "trigger_price": order.trigger_price if order.order_type in {OrderType.SL, OrderType.SL_M} else None,
    }
    for name, value in amounts.items():
        if value is not None and (problem := _amount_problem(name, value, instrument.tick_size)):
            return problem
    return None


def _modification_problem(
    current: OrderStatus, quantity: int | None, price: Decimal | None, trigger_price: Decimal | None
) -> str | None:
    """Kite's message for the first rule a modification of the resting order `current` breaks, or None."""
    instrument = shipped_instruments()[current.symbol]
    if quantity is not None and (quantity <= 0 or quantity % instrument.lot_size):
        return "Invalid `quantity`."
    if price is not None:
        if current.order_type not in {OrderType.LIMIT, OrderType.SL}:
            return f"A {current.order_type} order has no price to modify."
        if problem := _amount_problem("price", price, instrument.tick_size):
            return problem
    if trigger_price is not None:
        if current.order_type not in {OrderType.SL, OrderType.SL_M}:
            return f"A {current.order_type} order has no trigger price to modify."
        return _amount_problem("trigger_price", trigger_price, instrument.tick_size)
    return None


def _optional_decimal(value: str) -> Decimal | None:
    return Decimal(value) if value else None


def order_status_from(record: dict[str, str]) -> OrderStatus:
    """An OrderStatus from an order as the paper broker stores it (the record is `raw`)."""
    return OrderStatus(
        order_id=record["order_id"],
        state=OrderState(record["status"]),
        symbol=record["symbol"],
        side=Side(record["side"]),
        quantity=int(record["quantity"]),
        filled_quantity=int(record["filled_quantity"]),
        average_price=_optional_decimal(record["average_price"]),
        trigger_price=_optional_decimal(record["trigger_price"]),
        order_type=OrderType(record["order_type"]),
        tag=record["tag"],
        message=record["status_message"],
        raw=record,
    )


def _transient_when_redis_fails(method: Callable[P, T]) -> Callable[P, T]:
    """A paper broker whose Redis is unreachable is a broker that is down: the engine retries."""

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return method(*args, **kwargs)
        except (redis.ConnectionError, redis.TimeoutError) as error:
            raise BrokerUnavailable(f"The paper market is unreachable: {error}", raw=error) from error

    return wrapper


class PaperBroker(BrokerAdapter):
    name = "paper"

    @property
    def account(self) -> str:
        if not self.credentials.client_id:
            raise BrokerAuthError("A paper account needs a client id.")
        return self.credentials.client_id

    def validate(self) -> Profile:
        return Profile(client_id=self.account, name="Paper trading")

    @_transient_when_redis_fails
    def place_order(self, order: OrderRequest) -> str:
        return self._placed(_scripts().place(args=self._place_args(order, *_clock())))

    def _place_args(self, order: OrderRequest, now: str, day: str) -> list[object]:
        """The arguments of the place script for `order`, placed at `now` on trading day `day`."""
        account = self.account
        instrument = shipped_instruments().get(order.symbol)
        record = {
            "account": account,
            "exchange": order.exchange,
            "symbol": order.symbol,
            "instrument_token": str(instrument.token) if instrument else "",
            "side": Side(order.side).value,
            "order_type": OrderType(order.order_type).value,
            "product": order.product,
            "validity": "DAY",
            "quantity": str(order.quantity),
            "price": _wire(order.price) if order.price is not None else "",
            "trigger_price": _wire(order.trigger_price) if order.trigger_price is not None else "",
            "tag": order.tag,
            "algo_id": order.algo_id or settings.ALGO_ID or "",
            "market_protection": str(order.market_protection),
            "status": "",
            "status_message": "",
            "average_price": "",
            "filled_quantity": "0",
            "pending_quantity": str(order.quantity),
            "cancelled_quantity": "0",
            "modifications": "0",
        }
        return [
            account,
            ORDERS_PER_SECOND,
            _wire(instrument.reference_price) if instrument else "",
            day.replace("-", "")[2:],  # Kite-like ids: 261122000000042
            now,
            day,
            tag_key(account, day, order.tag),
            _broken_rule(order, instrument) or "",
            json.dumps([item for pair in record.items() for item in pair]),
        ]

    def _placed(self, reply: list[str]) -> str:
        """The order id the place script's reply names, or the error it means."""
        outcome, order_id, message = reply
        if outcome == "THROTTLED":
            raise BrokerUnavailable(
                f"Too many requests: at most {ORDERS_PER_SECOND} orders per second per account.", code=429
            )
        if outcome == "REJECTED":
            raise BrokerRejected(message, code=400, raw=self._record(order_id))
        return order_id

    def _record(self, order_id: str) -> dict[str, str]:
        record = redis_client().hgetall(order_key(order_id))
        if record.get("account") != self.account:
            raise BrokerRejected(UNKNOWN_ORDER_MESSAGE, code=400)
        return record

    @_transient_when_redis_fails
    def order_status(self, order_id: str) -> OrderStatus:
        return order_status_from(self._record(order_id))

    @_transient_when_redis_fails
    def orders_by_tag(self, tag: str) -> list[OrderStatus]:
        client = redis_client()
        order_ids = sorted(client.smembers(tag_key(self.account, _clock()[1], tag)))
        pipe = client.pipeline(transaction=False)
        for order_id in order_ids:
            pipe.hgetall(order_key(order_id))
        # An order that expired leaves its id in the index and an empty hash.
        return [order_status_from(record) for record in pipe.execute() if record]

    @_transient_when_redis_fails
    def modify_order(
        self,
        order_id: str,
        *,
        quantity: int | None = None,
        price: Decimal | None = None,
        trigger_price: Decimal | None = None,
    ) -> str:
        if quantity is None and price is None and trigger_price is None:
            raise BrokerRejected("A modification must change the quantity, the price or the trigger price.", code=400)
        current = order_status_from(self._record(order_id))
        if current.state.is_final:
            raise BrokerRejected(f"Order is already {current.state.lower()}.", code=400)
        if problem := _modification_problem(current, quantity, price, trigger_price):
            raise BrokerRejected(problem, code=400)
        now, day = _clock()
        outcome, detail = _scripts().modify(
            args=[
                order_id,
                self.account,
                now,
                day,
                MAX_MODIFICATIONS,
                "" if quantity is None else str(quantity),
                "" if price is None else _wire(price),
                "" if trigger_price is None else _wire(trigger_price),
            ]
        )
        self._raise_unless_done(outcome, detail)
        return order_id

    @_transient_when_redis_fails
    def cancel_order(self, order_id: str) -> str:
        outcome, detail = _scripts().cancel(args=[order_id, self.account, _clock()[0]])
        self._raise_unless_done(outcome, detail)
        return order_id

    @staticmethod
    def _raise_unless_done(outcome: str, detail: str) -> None:
        if outcome == "UNKNOWN":
            raise BrokerRejected(UNKNOWN_ORDER_MESSAGE, code=400)
        if outcome == "FINAL":
            raise BrokerRejected(f"Order is already {detail.lower()}.", code=400)
        if outcome == "REJECTED":
            raise BrokerRejected(detail, code=400)

    @_transient_when_redis_fails
    def last_prices(self, symbols: list[str], exchange: str = "NSE") -> dict[str, Decimal]:
        # The paper market has one price per symbol, whichever exchange an order names.
        return market_prices(symbols)

    @_transient_when_redis_fails
    def positions(self) -> list[Position]:
        """Net quantity and average price per instrument and product, from today's fills."""
        fills: dict[tuple[str, str, str], list[tuple[int, Decimal]]] = defaultdict(list)
        for entry in redis_client().lrange(trades_key(self.account, _clock()[1]), 0, -1):
            trade: dict[str, str] = json.loads(entry)
            signed = int(trade["quantity"]) * (1 if trade["side"] == Side.BUY else -1)
            fills[(trade["symbol"], trade["exchange"], trade["product"])].append((signed, Decimal(trade["price"])))
        return [
            Position(symbol=symbol, exchange=exchange, product=product, **_net(trades))
            for (symbol, exchange, product), trades in fills.items()
        ]


def place_orders(placements: list[tuple[PaperBroker, OrderRequest]]) -> list[str | Exception]:
    """`broker.place_order(order)` for each pair, in one Redis round trip (a batch of BUYs of many
    accounts): each order goes through the same script, rules and per-account limit, in order.
    Returns, per pair, the order id or the exception `place_order` would have raised."""
    if not placements:
        return []
    now, day = _clock()
    script = _scripts().place
    pipe = redis_client().pipeline(transaction=False)
    queued: list[Exception | None] = []
    for broker, order in placements:
        try:
            script(args=broker._place_args(order, now, day), client=pipe)
            queued.append(None)
        except Exception as error:  # e.g. an account without a client id
            queued.append(error)
    try:
        replies = iter(pipe.execute(raise_on_error=False))
    except (redis.ConnectionError, redis.TimeoutError) as error:
        down = BrokerUnavailable(f"The paper market is unreachable: {error}", raw=error)
        return [failed or down for failed in queued]
    results: list[str | Exception] = []
    for (broker, _), failed in zip(placements, queued, strict=True):
        if failed is not None:
            results.append(failed)
            continue
        reply = next(replies)
        try:
            if isinstance(reply, Exception):
                raise reply
            results.append(_transient_when_redis_fails(broker._placed)(reply))
        except Exception as error:
            results.append(error)
    return results


def _net(fills: list[tuple[int, Decimal]]) -> dict[str, Any]:
    """Net quantity and average price of signed fills. As on Kite, a long position's average is
    what its buys paid, a short one's what its sells received, and a flat one's zero."""
    quantity = sum(signed for signed, _ in fills)
    opening = [(abs(signed), price) for signed, price in fills if signed * quantity > 0]
    opened = sum(size for size, _ in opening)
    paid = sum((size * price for size, price in opening), Decimal(0))
    average = (paid / opened).quantize(Decimal("0.01")) if opened else Decimal(0)
    return {"quantity": quantity, "average_price": average}
