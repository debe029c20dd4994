"""The paper broker on the real Redis: fills, resting orders, Kite's rules, races and accounts.

No database: the paper broker's whole state is in Redis, which the shared conftest empties
before each test.
"""

import socket
import threading
import time
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import redis

from algotrader.redis import redis_client
from brokers.adapters import adapter_class, paper
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
from brokers.adapters.paper import (
    NO_PROTECTION_MESSAGE,
    ORDERS_PER_SECOND,
    PaperBroker,
    market_price,
    set_price,
)
from brokers.instruments import shipped_instruments


def paper_account(client_id: str) -> PaperBroker:
    return PaperBroker(Credentials(client_id=client_id))


@pytest.fixture
def alice() -> PaperBroker:
    return paper_account("PAPER-a11ce000")


@pytest.fixture
def bob() -> PaperBroker:
    return paper_account("PAPER-b0b00000")


def order(
    side: Side = Side.BUY,
    order_type: OrderType = OrderType.MARKET,
    *,
    symbol: str = "TCS",
    quantity: int = 10,
    tag: str = "run1-buy",
    **terms: object,
) -> OrderRequest:
    return OrderRequest(symbol=symbol, side=side, quantity=quantity, order_type=order_type, tag=tag, **terms)


def stop_loss(trigger: str, *, side: Side = Side.SELL, tag: str = "run1-stop", **terms: object) -> OrderRequest:
    return order(side, OrderType.SL_M, trigger_price=Decimal(trigger), tag=tag, **terms)


def resting_members(symbol: str) -> set[str]:
    client = redis_client()
    return {
        member
        for direction in ("falls", "rises")
        for member in client.zrange(f"paper:resting:{symbol}:{direction}", 0, -1)
    }


def test_it_is_the_paper_entry_in_the_adapter_registry() -> None:
    assert adapter_class("paper") is PaperBroker


def test_it_validates_an_account_by_its_client_id_alone(alice: PaperBroker) -> None:
    assert alice.validate().client_id == "PAPER-a11ce000"


def test_it_refuses_an_account_without_a_client_id() -> None:
    nobody = paper_account("")
    with pytest.raises(BrokerAuthError):
        nobody.validate()
    with pytest.raises(BrokerAuthError):
        nobody.place_order(order())


def test_it_ships_liquid_nse_equities_with_their_kite_tokens() -> None:
    instruments = shipped_instruments()
    assert len(instruments) >= 50
    assert {symbol: instruments[symbol].token for symbol in ("TCS", "INFY", "RELIANCE", "SBIN")} == {
        "TCS": 2953217,
        "INFY": 408065,
        "RELIANCE": 738561,
        "SBIN": 779521,
    }
    for instrument in instruments.values():
        assert instrument.lot_size == 1
        assert instrument.reference_price > 0
        assert instrument.reference_price % instrument.tick_size == 0, instrument.symbol


def test_it_fills_a_market_order_at_the_market_price(alice: PaperBroker) -> None:
    set_price("TCS", Decimal("3400.50"))

    status = alice.order_status(alice.place_order(order(algo_id="ALGO-7")))

    assert status.state == OrderState.COMPLETE
    assert (status.filled_quantity, status.average_price) == (10, Decimal("3400.50"))
    record = status.raw
    assert {name: record[name] for name in ("symbol", "side", "quantity", "order_type", "tag", "algo_id")} == {
        "symbol": "TCS",
        "side": "BUY",
        "quantity": "10",
        "order_type": "MARKET",
        "tag": "run1-buy",
        "algo_id": "ALGO-7",
    }
    assert record["market_protection"] == "-1"
    assert datetime.fromisoformat(record["placed_at"]).utcoffset() == UTC.utcoffset(None)


def test_it_seeds_the_market_price_from_the_shipped_reference_price(alice: PaperBroker) -> None:
    reference = shipped_instruments()["INFY"].reference_price

    status = alice.order_status(alice.place_order(order(symbol="INFY")))

    assert status.average_price == reference
    assert redis_client().get("price:INFY") == str(reference)
    assert market_price("INFY") == reference


def test_it_fills_a_marketable_limit_order_at_once_at_the_better_market_price(alice: PaperBroker) -> None:
    set_price("SBIN", Decimal("960.00"))

    status = alice.order_status(
        alice.place_order(order(Side.BUY, OrderType.LIMIT, symbol="SBIN", price=Decimal("965")))
    )

    assert (status.state, status.average_price) == (OrderState.COMPLETE, Decimal("960.00"))


def test_it_rests_a_limit_order_until_the_price_reaches_it_then_fills_at_the_limit(alice: PaperBroker) -> None:
    set_price("SBIN", Decimal("960.00"))
    order_id = alice.place_order(order(Side.BUY, OrderType.LIMIT, symbol="SBIN", price=Decimal("955.00")))
    assert alice.order_status(order_id).state == OrderState.OPEN

    assert set_price("SBIN", Decimal("955.05")) == []
    assert set_price("SBIN", Decimal("954.00")) == [order_id]

    status = alice.order_status(order_id)
    assert (status.state, status.average_price) == (OrderState.COMPLETE, Decimal("955.00"))


def test_it_fires_a_sell_stop_loss_once_when_the_price_falls_to_its_trigger(alice: PaperBroker) -> None:
    set_price("TCS", Decimal("3550.00"))
    order_id = alice.place_order(stop_loss("3500.00"))
    assert alice.order_status(order_id).state == OrderState.TRIGGER_PENDING

    assert set_price("TCS", Decimal("3500.05")) == []
    assert alice.order_status(order_id).state == OrderState.TRIGGER_PENDING

    assert set_price("TCS", Decimal("3499.00")) == [order_id]
    assert set_price("TCS", Decimal("3450.00")) == []

    status = alice.order_status(order_id)
    assert (status.state, status.filled_quantity, status.average_price) == (
        OrderState.COMPLETE,
        10,
        Decimal("3499.00"),
    )
    assert alice.positions() == [Position("TCS", "NSE", "MIS", -10, Decimal("3499.00"))]
    assert resting_members("TCS") == set()


def test_it_fires_a_buy_stop_loss_when_the_price_rises_to_its_trigger(alice: PaperBroker) -> None:
    set_price("TCS", Decimal("3450.00"))
    order_id = alice.place_order(stop_loss("3500.00", side=Side.BUY))

    assert set_price("TCS", Decimal("3499.95")) == []
    assert set_price("TCS", Decimal("3500.00")) == [order_id]

    assert alice.order_status(order_id).average_price == Decimal("3500.00")


def test_it_turns_a_fired_sl_order_into_a_limit_order(alice: PaperBroker) -> None:
    set_price("TCS", Decimal("3550.00"))
    order_id = alice.place_order(
        order(Side.SELL, OrderType.SL, trigger_price=Decimal("3500.00"), price=Decimal("3495.00"))
    )

    set_price("TCS", Decimal("3480.00"))  # gaps through the stop and past its limit
    assert alice.order_status(order_id).state == OrderState.OPEN

    set_price("TCS", Decimal("3496.00"))
    status = alice.order_status(order_id)
    assert (status.state, status.average_price) == (OrderState.COMPLETE, Decimal("3495.00"))


def race_ticks_against_cancels(race: int) -> list[tuple[PaperBroker, str, bool]]:
    """Ten resting SELL stops, one account each (so that the rate limit stays out of it), then two
    threads moving the price through their trigger while a third cancels them all. Returns each
    order's account, id and whether its cancel succeeded."""
    set_price("SBIN", Decimal("960.00"))
    accounts = [paper_account(f"PAPER-race{race}-{n}") for n in range(10)]
    order_ids = [
        account.place_order(stop_loss("950.00", symbol="SBIN", quantity=5, tag=f"race{race}")) for account in accounts
    ]
    start = threading.Barrier(3)
    refusals: list[str] = []
    cancelled: dict[str, bool] = {}

    def tick(prices: list[str]) -> None:
        start.wait()
        for price in prices:
            set_price("SBIN", Decimal(price))

    def cancel_all() -> None:
        start.wait()
        for account, order_id in reversed(list(zip(accounts, order_ids, strict=True))):
            try:
                account.cancel_order(order_id)
                cancelled[order_id] = True
            except BrokerRejected as error:
                refusals.append(error.message)
                cancelled[order_id] = False

    threads = [
        threading.Thread(target=tick, args=(["955.00", "952.00", "949.00", "951.00", "945.00"],)),
        threading.Thread(target=tick, args=(["953.00", "948.00", "960.00", "944.00"],)),
        threading.Thread(target=cancel_all),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert set(refusals) <= {"Order is already complete."}
    return [(account, order_id, cancelled[order_id]) for account, order_id in zip(accounts, order_ids, strict=True)]


def test_it_never_fills_a_stop_twice_nor_after_its_cancel_under_concurrent_ticks() -> None:
    for race in range(12):
        for account, order_id, cancelled in race_ticks_against_cancels(race):
            state = account.order_status(order_id).state
            if cancelled:
                assert state == OrderState.CANCELLED
                assert account.positions() == []
            else:
                assert state == OrderState.COMPLETE
                # Exactly one trade: a second fill would double the position.
                [position] = account.positions()
                assert position.quantity == -5
        assert resting_members("SBIN") == set()


def test_it_cancels_a_resting_order_so_no_later_price_fills_it(alice: PaperBroker) -> None:
    set_price("TCS", Decimal("3550.00"))
    order_id = alice.place_order(stop_loss("3500.00"))

    assert alice.cancel_order(order_id) == order_id

    assert set_price("TCS", Decimal("3400.00")) == []
    status = alice.order_status(order_id)
    assert (status.state, status.filled_quantity) == (OrderState.CANCELLED, 0)
    assert alice.positions() == []


def test_it_refuses_to_cancel_a_final_or_unknown_order(alice: PaperBroker) -> None:
    order_id = alice.place_order(order())

    with pytest.raises(BrokerRejected, match=r"^Order is already complete\.$"):
        alice.cancel_order(order_id)
    with pytest.raises(BrokerRejected, match="find that `order_id`"):
        alice.cancel_order("261122999999999")


def test_it_modifies_a_resting_stop_in_place(alice: PaperBroker) -> None:
    set_price("TCS", Decimal("3550.00"))
    order_id = alice.place_order(stop_loss("3500.00"))

    assert alice.modify_order(order_id, quantity=4, trigger_price=Decimal("3520.00")) == order_id

    status = alice.order_status(order_id)
    assert (status.state, status.quantity, status.trigger_price) == (
        OrderState.TRIGGER_PENDING,
        4,
        Decimal("3520.00"),
    )
    assert set_price("TCS", Decimal("3520.00")) == [order_id]
    assert alice.positions() == [Position("TCS", "NSE", "MIS", -4, Decimal("3520.00"))]


def test_it_fills_a_limit_order_modified_through_the_market(alice: PaperBroker) -> None:
    set_price("SBIN", Decimal("960.00"))
    order_id = alice.place_order(order(Side.BUY, OrderType.LIMIT, symbol="SBIN", price=Decimal("950.00")))

    alice.modify_order(order_id, price=Decimal("961.00"))

    status = alice.order_status(order_id)
    assert (status.state, status.average_price) == (OrderState.COMPLETE, Decimal("960.00"))
    assert resting_members("SBIN") == set()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"trigger_price": Decimal("3560.00")}, "Trigger price for stoploss sell orders should be lower than"),
        ({"trigger_price": Decimal("3500.03")}, "Tick size for this script is 0.05"),
        ({"price": Decimal("3500.00")}, "A SL-M order has no price to modify."),
        ({"quantity": 0}, "Invalid `quantity`."),
        ({}, "must change the quantity, the price or the trigger price"),
    ],
)
def test_it_refuses_a_modification_that_breaks_a_rule(
    alice: PaperBroker, change: dict[str, object], message: str
) -> None:
    set_price("TCS", Decimal("3550.00"))
    order_id = alice.place_order(stop_loss("3500.00"))

    with pytest.raises(BrokerRejected, match=message):
        alice.modify_order(order_id, **change)

    status = alice.order_status(order_id)
    assert (status.state, status.trigger_price, status.quantity) == (
        OrderState.TRIGGER_PENDING,
        Decimal("3500.00"),
        10,
    )


def test_it_refuses_to_modify_a_final_or_unknown_order(alice: PaperBroker) -> None:
    order_id = alice.place_order(order())

    with pytest.raises(BrokerRejected, match=r"^Order is already complete\.$"):
        alice.modify_order(order_id, quantity=5)
    with pytest.raises(BrokerRejected, match="find that `order_id`"):
        alice.modify_order("261122999999999", quantity=5)


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (order(symbol="NOSUCHCO"), "Invalid `tradingsymbol`: NSE:NOSUCHCO is not a known instrument."),
        (order(exchange="NFO"), "Invalid `exchange`: 'NFO'."),
        (order(product="MTF"), "Invalid `product`: 'MTF'."),
        (order(market_protection=0), NO_PROTECTION_MESSAGE),
        (stop_loss("3500.00", market_protection=0), NO_PROTECTION_MESSAGE),
        (order(market_protection=101), "`market_protection` should be -1 (automatic) or a percentage"),
        (
            order(order_type=OrderType.LIMIT, price=Decimal("3500.02")),
            "Tick size for this script is 0.05. Kindly enter price in the multiple of tick size for this script.",
        ),
        (
            stop_loss("3500.07"),
            "Tick size for this script is 0.05. Kindly enter trigger price in the multiple of tick size for this "
            "script.",
        ),
        (order(order_type=OrderType.LIMIT, price=Decimal("-5")), "Invalid `price`."),
        (stop_loss("3550.00"), "Trigger price for stoploss sell orders should be lower than last traded price"),
        (stop_loss("3600.00"), "Trigger price for stoploss sell orders should be lower than last traded price"),
        (stop_loss("3550.00", side=Side.BUY), "Trigger price for stoploss buy orders should be higher than last"),
    ],
    ids=[
        "unknown-symbol",
        "exchange",
        "product",
        "market-without-protection",
        "sl-m-without-protection",
        "protection-over-100",
        "price-off-tick",
        "trigger-off-tick",
        "negative-price",
        "sell-stop-at-last-price",
        "sell-stop-above-last-price",
        "buy-stop-at-last-price",
    ],
)
def test_it_rejects_an_order_that_breaks_a_kite_rule(alice: PaperBroker, request_: OrderRequest, message: str) -> None:
    set_price("TCS", Decimal("3550.00"))

    with pytest.raises(BrokerRejected) as rejection:
        alice.place_order(request_)

    assert rejection.value.message.startswith(message)
    # The rejection stays in the order book with Kite's message, as a rejected Kite order does.
    [rejected] = alice.orders_by_tag(request_.tag)
    assert (rejected.state, rejected.message) == (OrderState.REJECTED, rejection.value.message)
    assert rejection.value.raw == rejected.raw
    assert resting_members("TCS") == set()


def test_it_rejects_a_tag_longer_than_kite_allows() -> None:
    with pytest.raises(BrokerRejected, match="1 to 20 characters"):
        order(tag="x" * 21)


def test_it_answers_429_to_the_eleventh_order_in_a_second(alice: PaperBroker, bob: PaperBroker) -> None:
    # Start at the top of a Redis second so that all eleven orders fall in it.
    _, microseconds = redis_client().time()
    time.sleep((1_000_000 - microseconds) / 1_000_000 + 0.01)

    for _ in range(ORDERS_PER_SECOND):
        alice.place_order(order())
    with pytest.raises(BrokerUnavailable) as throttled:
        alice.place_order(order())

    assert throttled.value.code == 429
    assert len(alice.orders_by_tag("run1-buy")) == ORDERS_PER_SECOND
    bob.place_order(order())  # the limit is per account


def test_it_finds_todays_orders_by_tag(alice: PaperBroker) -> None:
    set_price("TCS", Decimal("3550.00"))
    entry = alice.place_order(order(tag="run7-buy"))
    stop = alice.place_order(stop_loss("3500.00"))

    [found] = alice.orders_by_tag("run7-buy")

    assert (found.order_id, found.tag, found.state) == (entry, "run7-buy", OrderState.COMPLETE)
    assert [status.order_id for status in alice.orders_by_tag("run1-stop")] == [stop]
    assert alice.orders_by_tag("run8-buy") == []


def test_it_keeps_accounts_apart(alice: PaperBroker, bob: PaperBroker) -> None:
    set_price("TCS", Decimal("3550.00"))
    alice.place_order(order())
    stop = alice.place_order(stop_loss("3500.00"))

    for attempt in (
        lambda: bob.order_status(stop),
        lambda: bob.cancel_order(stop),
        lambda: bob.modify_order(stop, quantity=1),
    ):
        with pytest.raises(BrokerRejected, match="find that `order_id`"):
            attempt()
    assert bob.orders_by_tag("run1-stop") == []
    assert bob.positions() == []
    assert alice.order_status(stop).state == OrderState.TRIGGER_PENDING


def test_it_nets_todays_fills_into_positions(alice: PaperBroker) -> None:
    set_price("TCS", Decimal("3500.00"))
    alice.place_order(order(quantity=10))
    set_price("TCS", Decimal("3510.00"))
    alice.place_order(order(quantity=10))
    alice.place_order(order(Side.SELL, quantity=5))
    alice.place_order(order(symbol="SBIN", product="CNC", quantity=3))
    alice.place_order(order(Side.SELL, symbol="SBIN", product="CNC", quantity=3))

    assert alice.positions() == [
        Position("TCS", "NSE", "MIS", 15, Decimal("3505.00")),
        Position("SBIN", "NSE", "CNC", 0, Decimal("0")),
    ]


def test_it_reports_last_prices_and_leaves_out_unknown_symbols(alice: PaperBroker) -> None:
    set_price("TCS", Decimal("3512.35"))

    prices = alice.last_prices(["TCS", "RELIANCE", "NOSUCHCO"])

    assert prices == {"TCS": Decimal("3512.35"), "RELIANCE": shipped_instruments()["RELIANCE"].reference_price}


def test_it_reports_an_unreachable_redis_as_a_transient_failure(
    alice: PaperBroker, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    monkeypatch.setattr(paper, "redis_client", lambda: redis.Redis(port=port, socket_connect_timeout=0.5))

    with pytest.raises(BrokerUnavailable):
        alice.order_status("261122000000001")
