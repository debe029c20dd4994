"""The Fyers adapter against the Fyers protocol simulator, over real HTTP on loopback."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

import pytest
from pytest_django.fixtures import Settings

from brokers.adapters import get_adapter
from brokers.adapters.base import (
    BrokerAuthError,
    BrokerRejected,
    BrokerUnavailable,
    Credentials,
    OrderRequest,
    OrderState,
    OrderType,
    Side,
)
from brokers.adapters.fyers import FyersBroker
from brokers.simulators.base import Fault
from brokers.simulators.fyers import FyersSimulator


@pytest.fixture
def simulator() -> FyersSimulator:
    simulator = FyersSimulator()
    simulator.set_price("NSE:TCS-EQ", Decimal("3500"))
    simulator.set_price("NSE:BAJAJ-AUTO-EQ", Decimal("9120.55"))
    return simulator


def connect(simulator: FyersSimulator, url: str, **options: Any) -> FyersBroker:
    return FyersBroker(
        Credentials(api_key=simulator.app_id, access_token=simulator.issue_token()), base_url=url, **options
    )


@pytest.fixture
def broker(simulator: FyersSimulator, url: str) -> FyersBroker:
    return connect(simulator, url, timeout=2)


def order(order_type: OrderType = OrderType.MARKET, *, tag: str = "run7-entry", **fields: Any) -> OrderRequest:
    values: dict[str, Any] = {"symbol": "TCS", "side": Side.BUY, "quantity": 10, "order_type": order_type, "tag": tag}
    return OrderRequest(**(values | fields))


def test_it_validates_a_live_token(broker: FyersBroker, simulator: FyersSimulator) -> None:
    profile = broker.validate()

    assert (profile.client_id, profile.name) == (simulator.fy_id, "SIMULATED TRADER")


def test_it_reports_an_expired_token_as_an_auth_error(broker: FyersBroker, simulator: FyersSimulator) -> None:
    simulator.expire_tokens()

    with pytest.raises(BrokerAuthError) as raised:
        broker.validate()
    assert raised.value.code == -8


def test_it_reports_a_token_for_another_app_as_an_auth_error(simulator: FyersSimulator, url: str) -> None:
    broker = FyersBroker(Credentials(api_key="OTHER-100", access_token=simulator.issue_token()), base_url=url)

    with pytest.raises(BrokerAuthError) as raised:
        broker.validate()
    assert raised.value.code == -16


def test_it_is_registered_as_fyers_and_reads_its_api_root_from_settings(
    simulator: FyersSimulator, url: str, settings: Settings
) -> None:
    settings.FYERS_API_ROOT = url

    broker = get_adapter("fyers", Credentials(api_key=simulator.app_id, access_token=simulator.issue_token()))

    assert isinstance(broker, FyersBroker)
    assert broker.validate().client_id == simulator.fy_id


def test_it_places_a_market_order_that_fills_at_the_market_price(
    broker: FyersBroker, simulator: FyersSimulator
) -> None:
    order_id = broker.place_order(order())
    sent = simulator.requests[-1].json()

    status = broker.order_status(order_id)
    assert status.state == OrderState.COMPLETE
    assert (status.symbol, status.side, status.quantity, status.filled_quantity) == ("TCS", Side.BUY, 10, 10)
    assert (status.average_price, status.order_type, status.tag) == (Decimal("3500"), OrderType.MARKET, "run7-entry")
    assert (sent["symbol"], sent["type"], sent["side"], sent["productType"]) == ("NSE:TCS-EQ", 2, 1, "INTRADAY")


def test_it_rests_a_stop_loss_until_the_price_crosses_its_trigger(
    broker: FyersBroker, simulator: FyersSimulator
) -> None:
    order_id = broker.place_order(order(OrderType.SL_M, side=Side.SELL, trigger_price=Decimal("3400.05")))

    resting = broker.order_status(order_id)
    assert (resting.state, resting.trigger_price, resting.average_price) == (
        OrderState.TRIGGER_PENDING,
        Decimal("3400.05"),
        None,
    )

    simulator.set_price("NSE:TCS-EQ", Decimal("3410"))
    assert broker.order_status(order_id).state == OrderState.TRIGGER_PENDING

    simulator.set_price("NSE:TCS-EQ", Decimal("3399.5"))
    filled = broker.order_status(order_id)
    assert (filled.state, filled.average_price) == (OrderState.COMPLETE, Decimal("3399.5"))


def test_it_reports_an_order_fyers_does_not_have_as_a_rejection(broker: FyersBroker) -> None:
    with pytest.raises(BrokerRejected, match="no order"):
        broker.order_status("52100000000")


def test_it_finds_orders_by_their_tag(broker: FyersBroker) -> None:
    broker.place_order(order())
    tagged = broker.place_order(order(tag="run7-exit", side=Side.SELL))

    assert [status.order_id for status in broker.orders_by_tag("run7-exit")] == [tagged]
    assert broker.orders_by_tag("never-used") == []


def test_it_modifies_a_resting_stop_loss(broker: FyersBroker) -> None:
    order_id = broker.place_order(order(OrderType.SL_M, side=Side.SELL, trigger_price=Decimal("3400")))

    assert broker.modify_order(order_id, trigger_price=Decimal("3450.5"), quantity=5) == order_id

    status = broker.order_status(order_id)
    assert (status.trigger_price, status.quantity, status.state) == (Decimal("3450.5"), 5, OrderState.TRIGGER_PENDING)


def test_it_cancels_a_resting_order(broker: FyersBroker) -> None:
    order_id = broker.place_order(order(OrderType.LIMIT, price=Decimal("3300")))
    assert broker.order_status(order_id).state == OrderState.OPEN

    assert broker.cancel_order(order_id) == order_id

    assert broker.order_status(order_id).state == OrderState.CANCELLED
    with pytest.raises(BrokerRejected):
        broker.cancel_order(order_id)


def test_it_reads_last_prices_in_batches_of_fifty(broker: FyersBroker, simulator: FyersSimulator) -> None:
    unknown = [f"NOSUCH{number}" for number in range(60)]

    prices = broker.last_prices(["TCS", "BAJAJ-AUTO", *unknown])

    assert prices == {"TCS": Decimal("3500"), "BAJAJ-AUTO": Decimal("9120.55")}
    assert [request.path for request in simulator.requests] == ["/data/quotes", "/data/quotes"]


def test_it_reads_positions(broker: FyersBroker, simulator: FyersSimulator) -> None:
    broker.place_order(order(quantity=4))
    simulator.set_price("NSE:TCS-EQ", Decimal("3510"))
    broker.place_order(order(quantity=6, tag="run7-add"))

    [position] = broker.positions()
    assert (position.symbol, position.exchange, position.product, position.quantity) == ("TCS", "NSE", "MIS", 10)
    assert position.average_price == Decimal("3506")


def test_it_reports_an_unknown_symbol_as_a_rejection(broker: FyersBroker) -> None:
    with pytest.raises(BrokerRejected) as raised:
        broker.place_order(order(symbol="NOSUCH"))
    assert raised.value.code == -300


def test_it_reports_an_rms_rejection_as_a_rejection(broker: FyersBroker) -> None:
    with pytest.raises(BrokerRejected, match="Margin") as raised:
        broker.place_order(order(quantity=1000))  # 35 lakh against 10 lakh of funds

    assert raised.value.code == -99
    [rejected] = broker.orders_by_tag("run7-entry")
    assert rejected.state == OrderState.REJECTED


def test_it_reports_server_errors_and_throttling_as_unavailable(
    broker: FyersBroker, simulator: FyersSimulator, server_fault: Fault
) -> None:
    simulator.inject(server_fault)

    with pytest.raises(BrokerUnavailable):
        broker.place_order(order())


def test_it_reports_the_rate_limit_as_unavailable(broker: FyersBroker) -> None:
    for number in range(10):
        broker.place_order(order(tag=f"burst-{number}"))

    with pytest.raises(BrokerUnavailable) as raised:
        broker.place_order(order(tag="burst-10"))
    assert raised.value.code == -429


def test_it_reports_a_timeout_as_unavailable(simulator: FyersSimulator, url: str) -> None:
    broker = connect(simulator, url, timeout=0.1)
    simulator.inject(Fault(delay=0.4, path_prefix="/api/v3/orders/sync"))

    with pytest.raises(BrokerUnavailable, match="did not answer"):
        broker.place_order(order(tag="slow-entry"))

    # The order reached Fyers all the same: a retry finds it by its tag instead of placing it twice.
    time.sleep(0.5)
    assert [status.tag for status in broker.orders_by_tag("slow-entry")] == ["slow-entry"]


def test_it_sends_order_traffic_through_the_proxy(simulator: FyersSimulator, url: str, dead_url: str) -> None:
    broker = connect(simulator, url, proxy=dead_url)

    assert broker.validate().client_id == simulator.fy_id
    with pytest.raises(BrokerUnavailable):
        broker.place_order(order())
