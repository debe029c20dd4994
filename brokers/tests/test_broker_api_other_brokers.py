"""Connect, list and delete through the public API for Dhan, Fyers and Angel One, each
against its protocol simulator over loopback HTTP."""

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from brokers.models import BrokerAccount
from brokers.simulators.angelone import AngelOneSimulator
from brokers.simulators.base import SimulatorApp, SimulatorServer
from brokers.simulators.dhan import DhanSimulator
from brokers.simulators.fyers import FyersSimulator


@dataclass
class Case:
    broker: str
    setting: str
    simulator: type[SimulatorApp]

    def body(self, simulator: SimulatorApp, token: str) -> dict[str, str]:
        if self.broker == "dhan":
            return {"broker": "dhan", "client_id": simulator.client_id, "access_token": token}
        if self.broker == "fyers":
            return {"broker": "fyers", "api_key": simulator.app_id, "access_token": token}
        return {
            "broker": "angelone",
            "api_key": simulator.api_key,
            "client_id": simulator.client_code,
            "access_token": token,
        }


CASES = [
    Case("dhan", "DHAN_API_ROOT", DhanSimulator),
    Case("fyers", "FYERS_API_ROOT", FyersSimulator),
    Case("angelone", "ANGELONE_API_ROOT", AngelOneSimulator),
]


@pytest.fixture(params=CASES, ids=[case.broker for case in CASES])
def broker(request, settings) -> Iterator[tuple[Case, SimulatorApp]]:
    case = request.param
    simulator = case.simulator()
    with SimulatorServer(simulator) as server:
        setattr(settings, case.setting, server.url)
        yield case, simulator


def test_it_connects_lists_and_deletes(alice_api, alice, broker):
    case, simulator = broker
    token = simulator.issue_token()

    connected = alice_api.post("/api/v1/broker/connect", case.body(simulator, token), format="json")

    assert connected.status_code == 200, connected.json()
    assert connected.json()["broker_valid"] is True
    listed = alice_api.get("/api/v1/broker").json()
    assert [account["broker"] for account in listed] == [case.broker]
    assert token not in str(listed)
    account = BrokerAccount.objects.get(user=alice, broker=case.broker)
    assert account.access_token == token
    assert alice_api.delete(f"/api/v1/broker/{account.pk}").status_code == 204
    assert not BrokerAccount.objects.filter(user=alice).exists()


def test_it_refuses_an_expired_token(alice_api, alice, broker):
    case, simulator = broker
    token = simulator.issue_token()
    simulator.expire_tokens()

    response = alice_api.post("/api/v1/broker/connect", case.body(simulator, token), format="json")

    assert response.status_code == 400
    assert response.json()["error"] == "BROKER_AUTH_FAILED"
    assert not BrokerAccount.objects.filter(user=alice).exists()


def test_bob_cannot_delete_alices_account(alice_api, bob_api, broker):
    case, simulator = broker
    alice_api.post("/api/v1/broker/connect", case.body(simulator, simulator.issue_token()), format="json")
    account = BrokerAccount.objects.get(broker=case.broker)

    assert bob_api.delete(f"/api/v1/broker/{account.pk}").status_code == 404
    assert BrokerAccount.objects.filter(pk=account.pk).exists()
