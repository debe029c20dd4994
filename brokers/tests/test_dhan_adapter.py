"""The Dhan adapter against the Dhan protocol simulator, over real HTTP on loopback."""

from __future__ import annotations

import time
from datetime import datetime
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
from brokers.adapters.dhan import DhanBroker
from brokers.simulators.base import Fault
from brokers.simulators.dhan import DhanSimulator

TCS = "11536"
INFY = "1594"


@pytest.fixture
def simulator() -> DhanSimulator:
    simulator = DhanSimulator()
    simulator.add_instrument(TCS, "TCS", Decimal("3500"))
    simulator.add_instrument(INFY, "INFY", Decimal("1500.35"))
    return simulator


def connect(simulator: DhanSimulator, url: str, **options: Any) -> DhanBroker:
    credentials = Credentials(access_token=simulator.issue_token(), client_id=simulator.client_id)
    return DhanBroker(credentials, base_url=url, **options)


@pytest.fixture
def broker(simulator: DhanSimulator, url: str) -> DhanBroker:
    return connect(simulator, url, timeout=2)


def order(order_type: OrderType = OrderType.MARKET, *, tag: str = "run7-entry", **fields: object) -> OrderRequest:
    values: dict[str, object] = {
        "symbol": "TCS",
        "side": Side.BUY,
        "quantity": 10,
        "order_type": order_type,
        "tag": tag,
        "instrument_token": TCS,
    }
    return OrderRequest(**(values | fields))  # type: ignore[arg-type]


def test_it_validates_a_live_token(broker: DhanBroker, simulator: DhanSimulator) -> None:
    profile = broker.validate()

    assert profile.client_id == simulator.client_id
    assert isinstance(profile.token_expires_at, datetime)


def test_it_reports_an_expired_token_as_an_auth_error(broker: DhanBroker, simulator: DhanSimulator) -> None:
    simulator.expire_tokens()

    with pytest.raises(BrokerAuthError) as raised:
        broker.validate()
    assert raised.value.code == "DH-901"


def test_it_reports_a_token_of_another_client_as_an_auth_error(simulator: DhanSimulator, url: str) -> None:
    broker = DhanBroker(Credentials(access_token=simulator.issue_token(), client_id="999"), base_url=url)

    with pytest.raises(BrokerAuthError):
        broker.validate()


def test_it_is_registered_as_dhan_and_reads_its_api_root_from_settings(
    simulator: DhanSimulator, url: str, settings: Settings
) -> None:
    settings.DHAN_API_ROOT = url

    broker = get_adapter("dhan", Credentials(access_token=simulator.issue_token(), client_id=simulator.client_id))

    assert isinstance(broker, DhanBroker)
    assert broker.validate().client_id == simulator.client_id


def test_it_places_a_market_order_that_fills_at_the_market_price(broker: DhanBroker, simulator: DhanSimulator) -> None:
    order_id = broker.place_order(order())
    sent = simulator.requests[-1].json()

    status = broker.order_status(order_id)
    assert status.state == OrderState.COMPLETE
    assert (status.symbol, status.side, status.quantity, status.filled_quantity) == ("TCS", Side.BUY, 10, 10)
    assert status.average_price == Decimal("3500")
    assert status.tag == "run7-entry"
    assert (sent["correlationId"], sent["securityId"], sent["productType"]) == ("run7-entry", TCS, "INTRADAY")


def test_it_rests_a_stop_loss_until_the_price_crosses_its_trigger(broker: DhanBroker, simulator: DhanSimulator) -> None:
    order_id = broker.place_order(order(OrderType.SL_M, side=Side.SELL, trigger_price=Decimal("3400.05")))

    resting = broker.order_status(order_id)
    assert resting.state == OrderState.TRIGGER_PENDING
    assert resting.trigger_price == Decimal("3400.05")
    assert resting.average_price is None

    simulator.set_price(TCS, Decimal("3410"))
    assert broker.order_status(order_id).state == OrderState.TRIGGER_PENDING

    simulator.set_price(TCS, Decimal("3399.5"))
    filled = broker.order_status(order_id)
    assert filled.state == OrderState.COMPLETE
    assert filled.average_price == Decimal("3399.5")


def test_it_finds_orders_by_their_tag(broker: DhanBroker) -> None:
    order_id = broker.place_order(order(tag="run7-exit"))

    assert [status.order_id for status in broker.orders_by_tag("run7-exit")] == [order_id]
    assert broker.orders_by_tag("never-used") == []


def test_it_modifies_a_resting_stop_loss(broker: DhanBroker) -> None:
    order_id = broker.place_order(order(OrderType.SL_M, side=Side.SELL, trigger_price=Decimal("3400")))

    assert broker.modify_order(order_id, trigger_price=Decimal("3450.5"), quantity=5) == order_id

    status = broker.order_status(order_id)
    assert (status.trigger_price, status.quantity, status.state) == (Decimal("3450.5"), 5, OrderState.TRIGGER_PENDING)


def test_it_cancels_a_resting_order(broker: DhanBroker) -> None:
    order_id = broker.place_order(order(OrderType.SL_M, side=Side.SELL, trigger_price=Decimal("3400")))

    assert broker.cancel_order(order_id) == order_id

    assert broker.order_status(order_id).state == OrderState.CANCELLED
    with pytest.raises(BrokerRejected):
        broker.cancel_order(order_id)


def test_it_reads_last_prices_by_security_id(broker: DhanBroker) -> None:
    assert broker.last_prices([TCS, INFY, "424242"]) == {TCS: Decimal("3500"), INFY: Decimal("1500.35")}


def test_it_reads_positions(broker: DhanBroker, simulator: DhanSimulator) -> None:
    broker.place_order(order(quantity=4))
    simulator.set_price(TCS, Decimal("3510"))
    broker.place_order(order(quantity=6, tag="run7-add"))

    [position] = broker.positions()
    assert (position.symbol, position.exchange, position.product, position.quantity) == ("TCS", "NSE", "MIS", 10)
    assert position.average_price == Decimal("3506")


def test_it_refuses_an_order_without_a_security_id(broker: DhanBroker, simulator: DhanSimulator) -> None:
    with pytest.raises(BrokerRejected, match="instrument_token"):
        broker.place_order(order(instrument_token=None))
    assert simulator.requests == []


def test_it_reports_an_input_error_as_a_rejection(broker: DhanBroker) -> None:
    with pytest.raises(BrokerRejected) as raised:
        broker.place_order(order(instrument_token="424242"))
    assert raised.value.code == "DH-905"


def test_it_shows_an_rms_rejection_in_the_order_status(broker: DhanBroker) -> None:
    order_id = broker.place_order(order(quantity=1000))  # 35 lakh against 10 lakh of funds

    status = broker.order_status(order_id)
    assert status.state == OrderState.REJECTED
    assert "Margin" in status.message


def test_it_reports_server_errors_and_throttling_as_unavailable(
    broker: DhanBroker, simulator: DhanSimulator, server_fault: Fault
) -> None:
    simulator.inject(server_fault)

    with pytest.raises(BrokerUnavailable):
        broker.place_order(order())


def test_it_reports_the_rate_limit_as_unavailable(broker: DhanBroker) -> None:
    for number in range(10):
        broker.place_order(order(tag=f"burst-{number}"))

    with pytest.raises(BrokerUnavailable) as raised:
        broker.place_order(order(tag="burst-10"))
    assert raised.value.code == "DH-904"


def test_it_reports_a_timeout_as_unavailable(simulator: DhanSimulator, url: str) -> None:
    broker = connect(simulator, url, timeout=0.1)
    simulator.inject(Fault(delay=0.4, path_prefix="/v2/orders"))

    with pytest.raises(BrokerUnavailable, match="did not answer"):
        broker.place_order(order(tag="slow-entry"))

    # The order reached Dhan all the same: a retry finds it by its tag instead of placing it twice.
    time.sleep(0.5)
    assert [status.tag for status in broker.orders_by_tag("slow-entry")] == ["slow-entry"]


def test_it_sends_order_traffic_through_the_proxy(simulator: DhanSimulator, url: str, dead_url: str) -> None:
    broker = connect(simulator, url, proxy=dead_url)

    assert broker.validate().client_id == simulator.client_id
    with pytest.raises(BrokerUnavailable):
        broker.place_order(order())
