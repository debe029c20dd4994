"""The Kite simulator's protocol rules, seen over raw HTTP as any Kite client would see them."""

import csv
import hashlib
import io
import random
import subprocess
import sys
import threading
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
import requests

from brokers.simulators.base import Fault, SimulatorServer
from brokers.simulators.kite import (
    BAD_SESSION_MESSAGE,
    DEFAULT_API_KEY,
    DEFAULT_API_SECRET,
    IST,
    NO_PROTECTION_MESSAGE,
    KiteSimulator,
)


class Kite:
    """Raw HTTP against the simulator, shaped the way kiteconnect sends its requests."""

    def __init__(self, server: SimulatorServer, access_token: str | None, api_key: str = DEFAULT_API_KEY) -> None:
        self.url = server.url
        self.headers = {"X-Kite-Version": "3"}
        if access_token:
            self.headers["Authorization"] = f"token {api_key}:{access_token}"

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return requests.request(method, self.url + path, headers=headers, timeout=5, **kwargs)

    def place(self, **fields: Any) -> requests.Response:
        order = {
            "variety": "regular",
            "exchange": "NSE",
            "tradingsymbol": "INFY",
            "transaction_type": "BUY",
            "quantity": "10",
            "product": "MIS",
            "order_type": "MARKET",
            "market_protection": "-1",
            "tag": "t1",
        }
        order.update(fields)
        return self.request("POST", "/orders/regular", data={k: v for k, v in order.items() if v is not None})

    def order_id(self, **fields: Any) -> str:
        response = self.place(**fields)
        assert response.status_code == 200, response.text
        return response.json()["data"]["order_id"]

    def history(self, order_id: str) -> list[dict[str, Any]]:
        return self.request("GET", f"/orders/{order_id}").json()["data"]

    def status(self, order_id: str) -> dict[str, Any]:
        return self.history(order_id)[-1]


def assert_kite_error(response: requests.Response, status: int, error_type: str, message: str | None = None) -> None:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/json"
    body = response.json()
    assert body["status"] == "error"
    assert body["data"] is None
    assert body["error_type"] == error_type
    if message is not None:
        assert body["message"] == message


@pytest.fixture
def kite(kite_simulator: KiteSimulator, kite_server: SimulatorServer) -> Kite:
    return Kite(kite_server, kite_simulator.login())


def checksum(request_token: str, api_secret: str = DEFAULT_API_SECRET) -> str:
    return hashlib.sha256(f"{DEFAULT_API_KEY}{request_token}{api_secret}".encode()).hexdigest()


def test_it_exchanges_a_request_token_for_an_access_token(kite_simulator, kite_server):
    request_token = kite_simulator.issue_request_token()

    response = Kite(kite_server, None).request(
        "POST",
        "/session/token",
        data={"api_key": DEFAULT_API_KEY, "request_token": request_token, "checksum": checksum(request_token)},
    )

    assert response.status_code == 200
    session = response.json()["data"]
    assert response.json()["status"] == "success"
    assert session["user_id"] == "ZS0001"
    assert len(session["login_time"]) == 19  # the SDK reads it unconditionally and parses 19 characters
    profile = Kite(kite_server, session["access_token"]).request("GET", "/user/profile")
    assert profile.json()["data"]["user_id"] == "ZS0001"


def test_it_refuses_a_wrong_checksum_and_a_used_request_token(kite_simulator, kite_server):
    request_token = kite_simulator.issue_request_token()
    anonymous = Kite(kite_server, None)

    def exchange(check: str) -> requests.Response:
        return anonymous.request(
            "POST",
            "/session/token",
            data={"api_key": DEFAULT_API_KEY, "request_token": request_token, "checksum": check},
        )

    assert_kite_error(exchange(checksum(request_token, api_secret="wrong")), 403, "TokenException")
    assert exchange(checksum(request_token)).status_code == 200
    assert_kite_error(exchange(checksum(request_token)), 403, "TokenException", "Token is invalid or has expired.")


def test_it_refuses_a_request_token_older_than_five_minutes(kite_simulator, kite_server):
    kite_simulator.set_clock(datetime(2026, 11, 23, 8, 0, tzinfo=IST))
    request_token = kite_simulator.issue_request_token()
    kite_simulator.set_clock(datetime(2026, 11, 23, 8, 5, tzinfo=IST))

    response = Kite(kite_server, None).request(
        "POST",
        "/session/token",
        data={"api_key": DEFAULT_API_KEY, "request_token": request_token, "checksum": checksum(request_token)},
    )

    assert_kite_error(response, 403, "TokenException", "Token is invalid or has expired.")


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Bearer {key}:{token}",
        "token {key}:{token} ",
        "token  {key}:{token}",
        "token otherkey:{token}",
        "token {key}:wrongtoken",
    ],
)
def test_it_accepts_only_the_exact_token_authorization(kite_simulator, kite_server, authorization):
    access_token = kite_simulator.login()
    headers = {"Authorization": authorization.format(key=DEFAULT_API_KEY, token=access_token)} if authorization else {}

    response = requests.get(kite_server.url + "/user/profile", headers=headers, timeout=5)

    assert_kite_error(response, 403, "TokenException", BAD_SESSION_MESSAGE)


def test_it_ends_sessions_at_six_in_the_morning_ist(kite_simulator, kite_server):
    kite_simulator.set_clock(datetime(2026, 11, 23, 9, 15, tzinfo=IST))
    kite = Kite(kite_server, kite_simulator.login())

    kite_simulator.set_clock(datetime(2026, 11, 24, 5, 59, 59, tzinfo=IST))
    assert kite.request("GET", "/user/profile").status_code == 200
    kite_simulator.set_clock(datetime(2026, 11, 24, 6, 0, tzinfo=IST))
    assert_kite_error(kite.request("GET", "/user/profile"), 403, "TokenException", BAD_SESSION_MESSAGE)


def test_it_ends_sessions_on_expire_tokens_and_on_logout(kite_simulator, kite_server):
    expired, logged_out = Kite(kite_server, kite_simulator.login()), kite_simulator.login()

    kite_simulator.expire_tokens()
    assert_kite_error(expired.request("GET", "/orders"), 403, "TokenException")

    kite = Kite(kite_server, kite_simulator.login())
    logout = kite.request("DELETE", "/session/token", params={"api_key": DEFAULT_API_KEY, "access_token": logged_out})
    assert_kite_error(logout, 403, "TokenException")  # expire_tokens already ended that one
    own_token = kite.headers["Authorization"].rpartition(":")[2]
    logout = kite.request("DELETE", "/session/token", params={"api_key": DEFAULT_API_KEY, "access_token": own_token})
    assert logout.json() == {"status": "success", "data": True}
    assert_kite_error(kite.request("GET", "/orders"), 403, "TokenException")


def test_it_rejects_a_tag_longer_than_twenty_characters(kite):
    assert_kite_error(kite.place(tag="x" * 21), 400, "InputException", "`tag` should be max 20 characters.")

    order_id = kite.order_id(tag="x" * 20)

    assert kite.status(order_id)["tag"] == "x" * 20


@pytest.mark.parametrize(
    ("order_type", "protection", "message"),
    [
        ("MARKET", None, NO_PROTECTION_MESSAGE),
        ("MARKET", "0", NO_PROTECTION_MESSAGE),
        ("SL-M", None, NO_PROTECTION_MESSAGE),
        ("SL-M", "0", NO_PROTECTION_MESSAGE),
        ("MARKET", "True", "failed to decode market_protection: 'True' (expected decimal)"),
        ("MARKET", "101", None),
    ],
)
def test_it_rejects_market_and_stop_market_orders_without_valid_protection(kite, order_type, protection, message):
    response = kite.place(
        order_type=order_type, market_protection=protection, transaction_type="SELL", trigger_price="1400"
    )

    assert_kite_error(response, 400, "InputException", message)


def test_it_takes_any_protection_from_minus_one_to_a_hundred(kite):
    for protection in ("-1", "2.5", "100"):
        order_id = kite.order_id(market_protection=protection)
        assert kite.status(order_id)["market_protection"] == float(protection)


def test_it_rejects_an_unknown_symbol_and_an_off_tick_price(kite):
    assert_kite_error(kite.place(tradingsymbol="NOSUCH"), 400, "InputException")
    assert_kite_error(kite.place(order_type="LIMIT", price="1499.97"), 400, "InputException")


def test_it_rejects_an_order_beyond_the_margin_as_margin_exception(kite_simulator, kite):
    kite_simulator.set_margin(Decimal("2000"))

    # 10 INFY at 1500 on MIS needs a fifth of 15000.
    assert_kite_error(
        kite.place(quantity="10"),
        400,
        "MarginException",
        "Insufficient funds. Required margin is 3000.00 but available margin is 2000.00. "
        "Check the orderbook for open orders.",
    )
    assert kite.place(quantity="6").status_code == 200


def test_it_answers_429_beyond_ten_order_requests_a_second(kite):
    answers = [kite.place(tag=f"burst{n}").status_code for n in range(11)]

    assert answers == [200] * 10 + [429]
    assert_kite_error(kite.place(), 429, "NetworkException", "Too many requests")
    assert kite.request("GET", "/orders").status_code == 200  # reads are not order requests


def test_it_fills_a_market_order_at_once_at_the_simulated_price(kite_simulator, kite):
    kite_simulator.set_price("INFY", "1512.35")

    order_id = kite.order_id(quantity="4", algo_id="NSE-ALGO-7", tag="entry1")

    history = kite.history(order_id)
    assert [entry["status"] for entry in history] == [
        "PUT ORDER REQ RECEIVED",
        "VALIDATION PENDING",
        "OPEN PENDING",
        "OPEN",
        "COMPLETE",
    ]
    assert history[-1]["average_price"] == 1512.35
    assert history[-1]["filled_quantity"] == 4
    assert len(history[-1]["order_timestamp"]) == 19
    recorded = kite_simulator.order(order_id)
    assert (recorded.algo_id, recorded.market_protection, recorded.tag) == ("NSE-ALGO-7", Decimal(-1), "entry1")
    trades = kite.request("GET", f"/orders/{order_id}/trades").json()["data"]
    assert [(trade["quantity"], trade["average_price"]) for trade in trades] == [(4, 1512.35)]
    assert kite.request("GET", "/trades").json()["data"] == trades
    positions = kite.request("GET", "/portfolio/positions").json()["data"]
    assert [(p["tradingsymbol"], p["quantity"], p["average_price"]) for p in positions["net"]] == [("INFY", 4, 1512.35)]


def test_it_rests_a_limit_order_until_the_price_reaches_it(kite_simulator, kite):
    order_id = kite.order_id(order_type="LIMIT", price="1490", market_protection=None)
    assert kite.status(order_id)["status"] == "OPEN"

    kite_simulator.set_price("INFY", "1491")
    assert kite.status(order_id)["status"] == "OPEN"
    kite_simulator.set_price("INFY", "1485")

    assert kite.status(order_id)["status"] == "COMPLETE"
    assert kite.status(order_id)["average_price"] == 1490.0  # a resting order fills at its own price


@pytest.mark.parametrize(
    ("side", "trigger", "not_yet", "through"),
    [("SELL", "1480", "1481", "1479.5"), ("BUY", "1520", "1519", "1520")],
)
def test_it_triggers_a_stop_market_order_when_the_price_crosses_it(
    kite_simulator, kite, side, trigger, not_yet, through
):
    order_id = kite.order_id(order_type="SL-M", transaction_type=side, trigger_price=trigger)
    assert kite.status(order_id)["status"] == "TRIGGER PENDING"

    kite_simulator.set_price("INFY", not_yet)
    assert kite.status(order_id)["status"] == "TRIGGER PENDING"
    kite_simulator.set_price("INFY", through)

    assert kite.status(order_id)["status"] == "COMPLETE"
    assert kite.status(order_id)["average_price"] == float(through)


def test_it_fills_a_marketable_limit_order_at_the_better_market_price(kite):
    order_id = kite.order_id(order_type="LIMIT", price="1510", market_protection=None)

    assert (kite.status(order_id)["status"], kite.status(order_id)["average_price"]) == ("COMPLETE", 1500.0)


def test_it_cancels_an_immediate_or_cancel_limit_order_that_cannot_fill(kite):
    order_id = kite.order_id(order_type="LIMIT", price="1490", validity="IOC", market_protection=None)

    assert (kite.status(order_id)["status"], kite.status(order_id)["cancelled_quantity"]) == ("CANCELLED", 10)


def test_it_turns_a_triggered_stop_limit_order_into_a_resting_limit_order(kite_simulator, kite):
    order_id = kite.order_id(
        order_type="SL", transaction_type="SELL", trigger_price="1480", price="1478", market_protection=None
    )

    kite_simulator.set_price("INFY", "1480.05")
    assert kite.status(order_id)["status"] == "TRIGGER PENDING"
    kite_simulator.set_price("INFY", "1477")  # a gap through the trigger and below the limit
    assert kite.status(order_id)["status"] == "OPEN"
    kite_simulator.set_price("INFY", "1478.50")

    assert (kite.status(order_id)["status"], kite.status(order_id)["average_price"]) == ("COMPLETE", 1478.0)


def test_it_refuses_a_stop_the_market_has_already_crossed(kite):
    response = kite.place(order_type="SL-M", transaction_type="SELL", trigger_price="1500")

    assert_kite_error(
        response,
        400,
        "InputException",
        "Trigger price for stoploss sell orders should be lower than the last traded price.",
    )


def test_it_modifies_a_resting_stop_in_place_and_cancels_it(kite_simulator, kite):
    order_id = kite.order_id(order_type="SL-M", transaction_type="SELL", trigger_price="1450")

    modified = kite.request(
        "PUT", f"/orders/regular/{order_id}", data={"variety": "regular", "order_id": order_id, "trigger_price": "1480"}
    )

    assert modified.json() == {"status": "success", "data": {"order_id": order_id}}
    current = kite.status(order_id)
    assert (current["status"], current["trigger_price"], current["modified"]) == ("TRIGGER PENDING", 1480.0, True)
    assert kite_simulator.order(order_id).market_protection == Decimal(-1)  # kept from placement
    cancelled = kite.request("DELETE", f"/orders/regular/{order_id}")
    assert cancelled.json()["data"] == {"order_id": order_id}
    assert (kite.status(order_id)["status"], kite.status(order_id)["cancelled_quantity"]) == ("CANCELLED", 10)
    kite_simulator.set_price("INFY", "1400")
    assert kite.status(order_id)["status"] == "CANCELLED"
    again = kite.request("DELETE", f"/orders/regular/{order_id}")
    assert_kite_error(again, 400, "InputException", "Order cannot be cancelled as it is cancelled.")


def test_it_refuses_a_twenty_sixth_modification(kite_simulator, kite):
    kite_simulator.orders_per_second = 1000
    order_id = kite.order_id(order_type="LIMIT", price="1400", market_protection=None)

    answers = [
        kite.request("PUT", f"/orders/regular/{order_id}", data={"price": str(1400 - n)}).status_code for n in range(26)
    ]

    assert answers == [200] * 25 + [400]


def test_it_rejects_an_order_after_accepting_it_when_told_to(kite_simulator, kite):
    kite_simulator.reject_next_fill("INFY", "RMS:Margin Exceeds")

    rejected = kite.order_id()
    filled = kite.order_id()

    assert [entry["status"] for entry in kite.history(rejected)][-1] == "REJECTED"
    assert kite.status(rejected)["status_message"] == "RMS:Margin Exceeds"
    assert kite.status(rejected)["filled_quantity"] == 0
    assert kite.status(filled)["status"] == "COMPLETE"


def test_it_keeps_each_accounts_orders_apart(kite_simulator, kite_server, kite):
    kite_simulator.add_account(api_key="otherkey", api_secret="othersecret", user_id="ZS0002")
    other = Kite(kite_server, kite_simulator.login("otherkey"), api_key="otherkey")
    order_id = kite.order_id()

    assert other.request("GET", "/orders").json()["data"] == []
    assert_kite_error(other.request("GET", f"/orders/{order_id}"), 400, "OrderException")
    assert_kite_error(other.request("DELETE", f"/orders/regular/{order_id}"), 400, "OrderException")


def test_it_serves_last_prices_for_repeated_instruments(kite_simulator, kite):
    kite_simulator.set_price("SBIN", "801.45")

    response = kite.request("GET", "/quote/ltp", params=[("i", "NSE:INFY"), ("i", "NSE:SBIN"), ("i", "NSE:NOSUCH")])

    assert response.json()["data"] == {
        "NSE:INFY": {"instrument_token": 408065, "last_price": 1500.0},
        "NSE:SBIN": {"instrument_token": 779521, "last_price": 801.45},
    }


def test_it_serves_the_instrument_dump_as_csv_with_a_numeric_strike(kite_server):
    response = requests.get(kite_server.url + "/instruments", timeout=5)

    assert response.headers["Content-Type"] == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert {row["tradingsymbol"] for row in rows} >= {"INFY", "SBIN", "RELIANCE"}
    assert all(float(row["strike"]) == 0.0 and int(row["lot_size"]) >= 1 for row in rows)
    assert requests.get(kite_server.url + "/instruments/NSE", timeout=5).text == response.text
    assert requests.get(kite_server.url + "/instruments/BSE", timeout=5).text.count("\n") == 1  # the header alone


@pytest.mark.parametrize(
    ("status", "error_type"),
    [(500, "GeneralException"), (502, "NetworkException"), (503, "NetworkException"), (429, "NetworkException")],
)
def test_it_answers_injected_faults_in_kites_envelope(kite_simulator, kite, status, error_type):
    kite_simulator.inject(Fault(status=status))

    assert_kite_error(kite.request("GET", "/user/profile"), status, error_type)
    assert kite.request("GET", "/user/profile").status_code == 200


def test_it_answers_unknown_routes_in_kites_envelope(kite):
    assert_kite_error(kite.request("GET", "/no/such/route"), 404, "GeneralException")


def test_it_places_orders_from_many_threads_without_losing_any(kite_simulator, kite):
    kite_simulator.orders_per_second = 1000
    order_ids: list[str] = []

    def place_ten() -> None:
        for _ in range(10):
            order_ids.append(kite.order_id())

    threads = [threading.Thread(target=place_ten) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(set(order_ids)) == 40
    assert len(kite.request("GET", "/trades").json()["data"]) == 40
    positions = kite.request("GET", "/portfolio/positions").json()["data"]["net"]
    assert positions[0]["quantity"] == 400


def test_it_wanders_prices_by_whole_ticks_and_moves_resting_orders(kite_simulator, kite):
    order_id = kite.order_id(order_type="SL-M", transaction_type="SELL", trigger_price="1499.95")
    rng = random.Random(7)

    for _ in range(50):
        kite_simulator.wander(rng)

    price = kite_simulator.price("INFY")
    assert price % Decimal("0.05") == 0
    assert abs(price - Decimal("1500")) <= Decimal("0.20") * 50  # at most four ticks a step
    assert kite.status(order_id)["status"] == "COMPLETE"  # a walk of 50 steps went a tick down at least once


def test_it_runs_as_a_sandbox_from_the_command_line():
    process = subprocess.Popen(
        [sys.executable, "-m", "brokers.simulators.kite", "--port", "0", "--wander", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        url = process.stdout.readline().split()[3]
        credentials = dict(field.split("=", 1) for field in process.stdout.readline().split())
        response = requests.get(
            url + "/user/profile",
            headers={"Authorization": f"token {credentials['api_key']}:{credentials['access_token']}"},
            timeout=5,
        )
        assert response.json()["data"]["user_id"] == "ZS0001"
    finally:
        process.terminate()
        process.wait(timeout=5)
