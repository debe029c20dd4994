"""The Angel One adapter against the SmartAPI protocol simulator, over real HTTP on loopback."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

import pytest
from pytest_django.fixtures import Settings

from brokers.adapters import get_adapter
from brokers.adapters.angelone import AngelOneBroker
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
from brokers.simulators.angelone import AngelOneSimulator
from brokers.simulators.base import Fault

TCS = "11536"
SBIN = "3045"


@pytest.fixture
def simulator() -> AngelOneSimulator:
    simulator = AngelOneSimulator()
    simulator.add_instrument(TCS, "TCS-EQ", Decimal("3500"))
    simulator.add_instrument(SBIN, "SBIN-EQ", Decimal("801.45"))
    return simulator


def credentials(simulator: AngelOneSimulator, **changes: str) -> Credentials:
    values = {"api_key": simulator.api_key, "access_token": simulator.issue_token(), "client_id": simulator.client_code}
    return Credentials(**(values | changes))


@pytest.fixture
def broker(simulator: AngelOneSimulator, url: str) -> AngelOneBroker:
    return AngelOneBroker(credentials(simulator), base_url=url, timeout=2)


def order(order_type: OrderType = OrderType.MARKET, *, tag: str = "run7-entry", **fields: Any) -> OrderRequest:
    values: dict[str, Any] = {
        "symbol": "TCS",
        "side": Side.BUY,
        "quantity": 10,
        "order_type": order_type,
        "tag": tag,
        "instrument_token": TCS,
    }
    return OrderRequest(**(values | fields))


def test_it_validates_a_live_token(broker: AngelOneBroker, simulator: AngelOneSimulator) -> None:
    profile = broker.validate()

    assert (profile.client_id, profile.name) == (simulator.client_code, "SIMULATED TRADER")


def test_it_reports_an_expired_session_as_an_auth_error(broker: AngelOneBroker, simulator: AngelOneSimulator) -> None:
    simulator.expire_tokens()

    with pytest.raises(BrokerAuthError) as raised:
        broker.validate()
    assert raised.value.code == "AB1010"


@pytest.mark.parametrize(
    ("changes", "code"),
    [({"access_token": "eyJ.forged"}, "AG8001"), ({"api_key": "someone-elses"}, "AG8004")],
    ids=["unknown-token", "wrong-api-key"],
)
def test_it_reports_the_gateways_refusals_as_auth_errors(
    simulator: AngelOneSimulator, url: str, changes: dict[str, str], code: str
) -> None:
    broker = AngelOneBroker(credentials(simulator, **changes), base_url=url)

    with pytest.raises(BrokerAuthError) as raised:
        broker.validate()
    assert raised.value.code == code


def test_it_is_registered_as_angelone_and_reads_its_api_root_from_settings(
    simulator: AngelOneSimulator, url: str, settings: Settings
) -> None:
    settings.ANGELONE_API_ROOT = url

    broker = get_adapter("angelone", credentials(simulator))

    assert isinstance(broker, AngelOneBroker)
    assert broker.validate().client_id == simulator.client_code


def test_it_places_a_market_order_that_fills_at_the_market_price(
    broker: AngelOneBroker, simulator: AngelOneSimulator
) -> None:
    order_id = broker.place_order(order())
    sent = simulator.requests[-1].json()

    status = broker.order_status(order_id)
    assert status.state == OrderState.COMPLETE
    assert (status.symbol, status.side, status.quantity, status.filled_quantity) == ("TCS", Side.BUY, 10, 10)
    assert (status.average_price, status.order_type, status.tag) == (Decimal("3500"), OrderType.MARKET, "run7-entry")
    assert (sent["variety"], sent["tradingsymbol"], sent["symboltoken"], sent["producttype"]) == (
        "NORMAL",
        "TCS-EQ",
        TCS,
        "INTRADAY",
    )


def test_it_rests_a_stop_loss_until_the_price_crosses_its_trigger(
    broker: AngelOneBroker, simulator: AngelOneSimulator
) -> None:
    order_id = broker.place_order(order(OrderType.SL_M, side=Side.SELL, trigger_price=Decimal("3400.05")))

    resting = broker.order_status(order_id)
    assert (resting.state, resting.trigger_price, resting.average_price) == (
        OrderState.TRIGGER_PENDING,
        Decimal("3400.05"),
        None,
    )

    simulator.set_price(TCS, Decimal("3410"))
    assert broker.order_status(order_id).state == OrderState.TRIGGER_PENDING

    simulator.set_price(TCS, Decimal("3399.5"))
    filled = broker.order_status(order_id)
    assert (filled.state, filled.average_price) == (OrderState.COMPLETE, Decimal("3399.5"))


def test_it_reports_an_order_angel_does_not_have_as_a_rejection(broker: AngelOneBroker) -> None:
    with pytest.raises(BrokerRejected) as raised:
        broker.order_status("201020000000001")
    assert raised.value.code == "AB1013"


def test_it_finds_orders_by_their_tag(broker: AngelOneBroker) -> None:
    assert broker.orders_by_tag("run7-exit") == []  # an empty book is `"data": null`

    broker.place_order(order())
    tagged = broker.place_order(order(tag="run7-exit", side=Side.SELL))

    assert [status.order_id for status in broker.orders_by_tag("run7-exit")] == [tagged]


def test_it_modifies_a_resting_stop_loss(broker: AngelOneBroker) -> None:
    order_id = broker.place_order(order(OrderType.SL_M, side=Side.SELL, trigger_price=Decimal("3400")))

    assert broker.modify_order(order_id, trigger_price=Decimal("3450.5"), quantity=5) == order_id

    status = broker.order_status(order_id)
    assert (status.trigger_price, status.quantity, status.state) == (Decimal("3450.5"), 5, OrderState.TRIGGER_PENDING)


def test_it_cancels_a_resting_order(broker: AngelOneBroker) -> None:
    order_id = broker.place_order(order(OrderType.LIMIT, price=Decimal("3300")))
    assert broker.order_status(order_id).state == OrderState.OPEN

    assert broker.cancel_order(order_id) == order_id

    assert broker.order_status(order_id).state == OrderState.CANCELLED
    with pytest.raises(BrokerRejected):
        broker.cancel_order(order_id)


def test_it_reads_last_prices_by_symbol_token(broker: AngelOneBroker) -> None:
    assert broker.last_prices([TCS, SBIN, "99999"]) == {TCS: Decimal("3500"), SBIN: Decimal("801.45")}


def test_it_reads_positions(broker: AngelOneBroker, simulator: AngelOneSimulator) -> None:
    assert broker.positions() == []  # no positions is `"data": null`

    broker.place_order(order(quantity=4))
    simulator.set_price(TCS, Decimal("3510"))
    broker.place_order(order(quantity=6, tag="run7-add"))

    [position] = broker.positions()
    assert (position.symbol, position.exchange, position.product, position.quantity) == ("TCS", "NSE", "MIS", 10)
    assert position.average_price == Decimal("3506")


def test_it_refuses_an_order_without_a_symbol_token(broker: AngelOneBroker, simulator: AngelOneSimulator) -> None:
    with pytest.raises(BrokerRejected, match="instrument_token"):
        broker.place_order(order(instrument_token=None))
    assert simulator.requests == []


def test_it_reports_a_refusal_sent_with_http_200_as_a_rejection(broker: AngelOneBroker) -> None:
    with pytest.raises(BrokerRejected) as raised:
        broker.place_order(order(instrument_token=SBIN))  # SBIN's token under TCS's name
    assert raised.value.code == "AB1009"


def test_it_shows_an_rms_rejection_in_the_order_status(broker: AngelOneBroker) -> None:
    order_id = broker.place_order(order(quantity=1000))  # 35 lakh against 10 lakh of funds

    status = broker.order_status(order_id)
    assert status.state == OrderState.REJECTED
    assert "Insufficient Funds" in status.message


def test_it_reports_server_errors_and_throttling_as_unavailable(
    broker: AngelOneBroker, simulator: AngelOneSimulator, server_fault: Fault
) -> None:
    simulator.inject(server_fault)

    with pytest.raises(BrokerUnavailable):
        broker.place_order(order())


def test_it_reports_the_rate_limit_as_unavailable(broker: AngelOneBroker) -> None:
    for number in range(10):
        broker.place_order(order(tag=f"burst-{number}"))

    with pytest.raises(BrokerUnavailable, match="exceeding access rate"):
        broker.place_order(order(tag="burst-10"))


def test_it_reports_a_timeout_as_unavailable(simulator: AngelOneSimulator, url: str) -> None:
    broker = AngelOneBroker(credentials(simulator), base_url=url, timeout=0.1)
    simulator.inject(Fault(delay=0.4, path_prefix="/rest/secure/angelbroking/order/v1/placeOrder"))

    with pytest.raises(BrokerUnavailable, match="did not answer"):
        broker.place_order(order(tag="slow-entry"))

    # The order reached Angel all the same: a retry finds it by its tag instead of placing it twice.
    time.sleep(0.5)
    assert [status.tag for status in broker.orders_by_tag("slow-entry")] == ["slow-entry"]


def test_it_sends_order_traffic_through_the_proxy(simulator: AngelOneSimulator, url: str, dead_url: str) -> None:
    broker = AngelOneBroker(credentials(simulator), base_url=url, proxy=dead_url)

    assert broker.validate().client_id == simulator.client_code
    with pytest.raises(BrokerUnavailable):
        broker.place_order(order())
