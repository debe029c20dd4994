"""The Zerodha adapter through the unmodified kiteconnect SDK, over loopback HTTP to the Kite simulator."""

import time
from datetime import datetime
from decimal import Decimal

import pytest
import time_machine

from brokers.adapters import adapter_class
from brokers.adapters.base import (
    BrokerAuthError,
    BrokerRejected,
    BrokerUnavailable,
    Credentials,
    OrderRequest,
    OrderState,
    OrderType,
    Position,
    Side,
)
from brokers.adapters.zerodha import ZerodhaBroker
from brokers.simulators.base import Fault, SimulatorServer
from brokers.simulators.kite import DEFAULT_API_KEY, DEFAULT_API_SECRET, IST, KiteSimulator


@pytest.fixture
def broker(kite_simulator: KiteSimulator, kite_server: SimulatorServer) -> ZerodhaBroker:
    credentials = Credentials(api_key=DEFAULT_API_KEY, access_token=kite_simulator.login())
    return ZerodhaBroker(credentials, root=kite_server.url, timeout=2)


def market(side: Side = Side.BUY, tag: str = "run1-buy", **fields) -> OrderRequest:
    return OrderRequest(symbol="INFY", side=side, quantity=10, order_type=OrderType.MARKET, tag=tag, **fields)


def stop_loss(trigger: str, tag: str = "run1-sl") -> OrderRequest:
    return OrderRequest(
        symbol="INFY", side=Side.SELL, quantity=10, order_type=OrderType.SL_M, tag=tag, trigger_price=Decimal(trigger)
    )


def test_it_completes_a_login_with_a_request_token(kite_simulator, kite_server):
    login = Credentials(
        api_key=DEFAULT_API_KEY, api_secret=DEFAULT_API_SECRET, request_token=kite_simulator.issue_request_token()
    )
    broker = ZerodhaBroker(login, root=kite_server.url)

    credentials = broker.complete_login()

    assert credentials.access_token
    assert (credentials.client_id, credentials.request_token) == ("ZS0001", "")
    fresh = ZerodhaBroker(
        Credentials(api_key=DEFAULT_API_KEY, access_token=credentials.access_token), root=kite_server.url
    )
    assert fresh.validate().client_id == "ZS0001"


def test_it_reports_a_used_request_token_or_a_wrong_secret_as_an_auth_error(kite_simulator, kite_server):
    request_token = kite_simulator.issue_request_token()
    used = Credentials(api_key=DEFAULT_API_KEY, api_secret=DEFAULT_API_SECRET, request_token=request_token)
    ZerodhaBroker(used, root=kite_server.url).complete_login()
    wrong_secret = Credentials(
        api_key=DEFAULT_API_KEY, api_secret="wrong", request_token=kite_simulator.issue_request_token()
    )

    with pytest.raises(BrokerAuthError):
        ZerodhaBroker(used, root=kite_server.url).complete_login()
    with pytest.raises(BrokerAuthError):
        ZerodhaBroker(wrong_secret, root=kite_server.url).complete_login()


@pytest.mark.parametrize(
    ("now", "expiry"),
    [
        (datetime(2026, 11, 23, 9, 15, tzinfo=IST), datetime(2026, 11, 24, 6, 0, tzinfo=IST)),
        (datetime(2026, 11, 24, 3, 0, tzinfo=IST), datetime(2026, 11, 24, 6, 0, tzinfo=IST)),
    ],
)
def test_it_validates_a_token_and_says_it_ends_at_the_next_six_am_ist(kite_simulator, kite_server, now, expiry):
    with time_machine.travel(now, tick=True):
        credentials = Credentials(api_key=DEFAULT_API_KEY, access_token=kite_simulator.login())

        profile = ZerodhaBroker(credentials, root=kite_server.url).validate()

    assert (profile.client_id, profile.name, profile.token_expires_at) == ("ZS0001", "Simulated Trader", expiry)


def test_it_takes_the_api_root_from_the_settings_and_is_registered_as_zerodha(settings, kite_simulator, kite_server):
    settings.KITE_API_ROOT = kite_server.url

    broker = adapter_class("zerodha")(Credentials(api_key=DEFAULT_API_KEY, access_token=kite_simulator.login()))

    assert isinstance(broker, ZerodhaBroker)
    assert broker.validate().client_id == "ZS0001"


def test_it_places_a_market_order_with_protection_the_platform_algo_id_and_the_tag(settings, kite_simulator, broker):
    settings.ALGO_ID = "NSE-ALGO-1"

    order_id = broker.place_order(market())

    placed = kite_simulator.order(order_id)
    assert (placed.market_protection, placed.algo_id, placed.tag) == (Decimal(-1), "NSE-ALGO-1", "run1-buy")
    status = broker.order_status(order_id)
    assert (status.state, status.filled_quantity, status.average_price) == (OrderState.COMPLETE, 10, Decimal("1500"))
    assert (status.side, status.order_type, status.tag) == (Side.BUY, OrderType.MARKET, "run1-buy")


def test_it_prefers_the_orders_own_algo_id_and_sends_none_when_neither_is_set(settings, kite_simulator, broker):
    settings.ALGO_ID = "NSE-ALGO-1"
    own = broker.place_order(market(algo_id="STRATEGY-9", tag="own", market_protection=3))
    settings.ALGO_ID = None
    bare = broker.place_order(market(tag="bare"))

    assert (kite_simulator.order(own).algo_id, kite_simulator.order(own).market_protection) == ("STRATEGY-9", 3)
    assert kite_simulator.order(bare).algo_id is None
    forms = [request.form() for request in kite_simulator.requests if request.method == "POST"]
    assert "algo_id" not in forms[-1]


def test_it_sends_no_market_protection_on_a_limit_order(kite_simulator, broker):
    order = OrderRequest(
        symbol="INFY", side=Side.BUY, quantity=5, order_type=OrderType.LIMIT, tag="lim", price=Decimal("1490.05")
    )

    order_id = broker.place_order(order)

    assert kite_simulator.order(order_id).market_protection is None
    status = broker.order_status(order_id)
    assert (status.state, status.average_price) == (OrderState.OPEN, None)


def test_it_rests_a_stop_loss_until_the_price_falls_to_its_trigger(kite_simulator, broker):
    broker.place_order(market())
    stop_id = broker.place_order(stop_loss("1480"))
    assert kite_simulator.order(stop_id).market_protection == Decimal(-1)
    assert broker.order_status(stop_id).state == OrderState.TRIGGER_PENDING

    kite_simulator.set_price("INFY", "1480.05")
    assert broker.order_status(stop_id).state == OrderState.TRIGGER_PENDING
    kite_simulator.set_price("INFY", "1479.35")

    status = broker.order_status(stop_id)
    assert (status.state, status.average_price, status.trigger_price) == (
        OrderState.COMPLETE,
        Decimal("1479.35"),
        Decimal("1480"),
    )
    assert broker.positions() == [Position("INFY", "NSE", "MIS", 0, Decimal("0"))]


def test_it_modifies_a_resting_stop_in_place(kite_simulator, broker):
    stop_id = broker.place_order(stop_loss("1450"))

    assert broker.modify_order(stop_id, trigger_price=Decimal("1485.50"), quantity=20) == stop_id

    status = broker.order_status(stop_id)
    assert (status.order_id, status.state, status.trigger_price, status.quantity) == (
        stop_id,
        OrderState.TRIGGER_PENDING,
        Decimal("1485.5"),
        20,
    )
    kite_simulator.set_price("INFY", "1485")
    assert broker.order_status(stop_id).state == OrderState.COMPLETE


def test_it_cancels_a_resting_order(kite_simulator, broker):
    stop_id = broker.place_order(stop_loss("1450"))

    assert broker.cancel_order(stop_id) == stop_id

    assert broker.order_status(stop_id).state == OrderState.CANCELLED
    with pytest.raises(BrokerRejected):
        broker.cancel_order(stop_id)


def test_it_finds_an_accepted_order_by_its_tag(broker):
    order_id = broker.place_order(stop_loss("1450", tag="run7-sl"))
    broker.place_order(market(tag="run7-buy"))

    found = broker.orders_by_tag("run7-sl")

    assert [(status.order_id, status.state) for status in found] == [(order_id, OrderState.TRIGGER_PENDING)]
    assert broker.orders_by_tag("run8-sl") == []


def test_it_sees_a_rejection_that_comes_after_acceptance(kite_simulator, broker):
    kite_simulator.reject_next_fill("INFY", "RMS:Margin Exceeds, Required:15000.00, Available:0.00")

    order_id = broker.place_order(market())

    status = broker.order_status(order_id)
    assert (status.state, status.filled_quantity) == (OrderState.REJECTED, 0)
    assert status.state.is_final
    assert status.message == "RMS:Margin Exceeds, Required:15000.00, Available:0.00"


def test_it_reads_last_prices_as_decimals(kite_simulator, broker):
    kite_simulator.set_price("SBIN", "801.35")

    prices = broker.last_prices(["INFY", "SBIN", "NOSUCH", "SBIN"])

    assert prices == {"INFY": Decimal("1500"), "SBIN": Decimal("801.35")}
    assert all(isinstance(price, Decimal) for price in prices.values())
    assert broker.last_prices([]) == {}


def test_it_reads_net_positions(kite_simulator, broker):
    broker.place_order(market())
    kite_simulator.set_price("INFY", "1510.10")
    broker.place_order(market(side=Side.SELL, tag="run1-sell"))
    broker.place_order(OrderRequest(symbol="SBIN", side=Side.SELL, quantity=3, order_type=OrderType.MARKET, tag="s"))

    assert broker.positions() == [
        Position("INFY", "NSE", "MIS", 0, Decimal("0")),
        Position("SBIN", "NSE", "MIS", -3, Decimal("800")),
    ]


def test_it_reports_an_expired_token_as_an_auth_error(kite_simulator, broker):
    kite_simulator.expire_tokens()

    with pytest.raises(BrokerAuthError) as error:
        broker.place_order(market())

    assert error.value.code == 403
    with pytest.raises(BrokerAuthError):
        broker.validate()


def test_it_reports_a_token_past_six_am_as_an_auth_error(kite_simulator, kite_server):
    kite_simulator.set_clock(datetime(2026, 11, 23, 15, 0, tzinfo=IST))
    broker = ZerodhaBroker(
        Credentials(api_key=DEFAULT_API_KEY, access_token=kite_simulator.login()), root=kite_server.url
    )
    kite_simulator.set_clock(datetime(2026, 11, 24, 6, 0, 1, tzinfo=IST))

    with pytest.raises(BrokerAuthError):
        broker.validate()


@pytest.mark.parametrize(
    "order",
    [
        OrderRequest(symbol="NOSUCH", side=Side.BUY, quantity=1, order_type=OrderType.MARKET, tag="bad-symbol"),
        market(tag="no-protection", market_protection=0),
        OrderRequest(
            symbol="INFY", side=Side.BUY, quantity=1, order_type=OrderType.LIMIT, tag="off-tick", price=Decimal("1.01")
        ),
    ],
    ids=["unknown symbol", "no market protection", "price off the tick size"],
)
def test_it_reports_an_input_error_as_a_rejection(broker, order):
    with pytest.raises(BrokerRejected) as error:
        broker.place_order(order)

    assert error.value.code == 400


def test_it_reports_a_margin_shortfall_as_a_rejection(kite_simulator, broker):
    kite_simulator.set_margin(Decimal("100"))

    # Kite's MarginException is unknown to the SDK: it arrives as GeneralException with HTTP 400.
    with pytest.raises(BrokerRejected, match="Insufficient funds") as error:
        broker.place_order(market())

    assert error.value.code == 400


def test_it_reports_a_permission_error_as_a_rejection_not_an_auth_error(kite_simulator, broker):
    kite_simulator.inject(
        Fault(
            status=403,
            body={
                "status": "error",
                "message": "Insufficient permission for that call.",
                "data": None,
                "error_type": "PermissionException",
            },
        )
    )

    with pytest.raises(BrokerRejected):
        broker.place_order(market())


@pytest.mark.parametrize(
    "fault",
    [
        Fault(status=500),
        Fault(status=502),
        Fault(status=503),
        Fault(status=504),
        Fault(status=502, body="<html><body>502 Bad Gateway</body></html>"),
        Fault(status=500, body={"status": "error", "message": "no error_type"}),
    ],
    ids=["500", "502", "503", "504", "gateway html page", "error without error_type"],
)
def test_it_reports_a_server_failure_as_unavailable(kite_simulator, broker, fault):
    kite_simulator.inject(fault)

    with pytest.raises(BrokerUnavailable):
        broker.place_order(market())

    assert broker.place_order(market(tag="after-fault"))


def test_it_reports_rate_limiting_as_unavailable(broker):
    for n in range(10):
        broker.place_order(market(tag=f"burst{n}"))

    with pytest.raises(BrokerUnavailable) as error:
        broker.place_order(market(tag="burst10"))

    assert error.value.code == 429


def test_it_reports_a_timeout_as_unavailable_and_the_order_is_found_by_its_tag_later(kite_simulator, kite_server):
    broker = ZerodhaBroker(
        Credentials(api_key=DEFAULT_API_KEY, access_token=kite_simulator.login()), root=kite_server.url, timeout=0.2
    )
    kite_simulator.inject(Fault(delay=0.6, path_prefix="/orders/regular"))

    with pytest.raises(BrokerUnavailable):
        broker.place_order(market(tag="slow1"))

    # The broker took the order after the client gave up: why a retry looks the tag up first.
    deadline = time.monotonic() + 3
    while not broker.orders_by_tag("slow1") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [status.state for status in broker.orders_by_tag("slow1")] == [OrderState.COMPLETE]


def test_it_reports_a_refused_connection_as_unavailable(dead_url):
    broker = ZerodhaBroker(Credentials(api_key=DEFAULT_API_KEY, access_token="x"), root=dead_url)

    with pytest.raises(BrokerUnavailable):
        broker.validate()


def test_it_sends_its_requests_through_the_egress_proxy(monkeypatch, kite_simulator, kite_server):
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    credentials = Credentials(api_key=DEFAULT_API_KEY, access_token=kite_simulator.login())
    # The root's host cannot resolve: only the proxy (the simulator answering absolute-form requests) can reach it.
    broker = ZerodhaBroker(credentials, root="http://kite.invalid", proxy=kite_server.url)

    order_id = broker.place_order(market())

    assert broker.order_status(order_id).state == OrderState.COMPLETE
    assert kite_simulator.requests[-1].headers["host"] == "kite.invalid"
