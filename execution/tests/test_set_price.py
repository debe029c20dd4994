"""`manage.py set_price SYMBOL PRICE`: moves the paper market and sends the tick to the `ticks` channel."""

import asyncio
import time
from decimal import Decimal
from io import StringIO
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.management import CommandError, call_command

from algotrader.redis import redis_client
from brokers.adapters.base import Credentials, OrderRequest, OrderState, OrderType, Side
from brokers.adapters.paper import PaperBroker, market_price
from execution.feed import TICKS_CHANNEL


def set_price(*args: str) -> str:
    out = StringIO()
    call_command("set_price", *args, stdout=out)
    return out.getvalue()


def receive(timeout: float = 2) -> dict[str, Any]:
    async def next_message() -> dict[str, Any]:
        return await asyncio.wait_for(get_channel_layer().receive(TICKS_CHANNEL), timeout)

    return async_to_sync(next_message)()


def test_it_sets_the_paper_price_and_sends_a_one_tick_batch():
    assert set_price("INFY", "1590.25") == "INFY is now 1590.25.\n"

    assert redis_client().get("price:INFY") == "1590.25"
    message = receive()
    assert message["type"] == "ticks.batch"
    ((symbol, price, at_ms),) = message["ticks"]
    assert (symbol, price) == ("INFY", "1590.25")
    assert abs(at_ms - time.time() * 1000) < 5000


def test_it_accepts_a_lowercase_symbol():
    set_price("tcs", "3300")

    assert market_price("TCS") == Decimal("3300")


def test_it_fills_and_triggers_the_resting_paper_orders_it_crosses():
    broker = PaperBroker(Credentials(client_id="PAPER-a11ce000"))
    set_price("INFY", "1590.00")
    stop = broker.place_order(
        OrderRequest("INFY", Side.SELL, 5, OrderType.SL_M, tag="run1-sl", trigger_price=Decimal("1580.00"))
    )

    output = set_price("INFY", "1579.95")

    assert f"Paper orders filled or triggered: {stop}." in output
    status = broker.order_status(stop)
    assert status.state == OrderState.COMPLETE
    assert status.average_price == Decimal("1579.95")


@pytest.mark.parametrize(
    ("symbol", "price", "error"),
    [
        ("NOSUCH", "100", "Unknown symbol 'NOSUCH'"),
        ("INFY", "abc", "Invalid price 'abc': expected a number"),
        ("INFY", "0", "it must be greater than zero"),
        ("INFY", "-5", "it must be greater than zero"),
        ("INFY", "NaN", "it must be greater than zero"),
        ("INFY", "Infinity", "it must be greater than zero"),
        ("INFY", "1590.03", "INFY trades in multiples of 0.05"),
    ],
)
def test_it_refuses_an_unknown_symbol_or_an_invalid_price(symbol, price, error):
    with pytest.raises(CommandError, match=error):
        set_price(symbol, price)

    assert redis_client().get(f"price:{symbol}") is None
