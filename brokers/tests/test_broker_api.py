import pytest
from django.db import connection

from brokers.models import BrokerAccount
from brokers.simulators.kite import DEFAULT_API_KEY, DEFAULT_API_SECRET

CONNECT = "/api/v1/broker/connect"
LIST = "/api/v1/broker"


@pytest.fixture
def kite(settings, kite_server, kite_simulator):
    settings.KITE_API_ROOT = kite_server.url
    return kite_simulator


def connect_zerodha(client, kite, **overrides):
    body = {
        "broker": "zerodha",
        "api_key": DEFAULT_API_KEY,
        "api_secret": DEFAULT_API_SECRET,
        "request_token": kite.issue_request_token(),
        **overrides,
    }
    return client.post(CONNECT, body, format="json")


def test_it_connects_zerodha_by_exchanging_a_request_token(alice_api, alice, kite):
    response = connect_zerodha(alice_api, kite)

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "connected"
    assert body["broker_valid"] is True
    assert body["account"]["client_id"] == "ZS0001"
    assert body["account"]["api_key_masked"] == DEFAULT_API_KEY[:4] + "••••"
    account = BrokerAccount.objects.get(user=alice, broker="zerodha")
    assert account.access_token  # the exchanged token, stored encrypted
    assert account.token_expires_at is not None
    # The exchange really went through Kite's session endpoint, with the checksum.
    assert any(request.path == "/session/token" for request in kite.requests)


def test_it_connects_zerodha_with_a_ready_access_token(alice_api, kite):
    response = alice_api.post(
        CONNECT, {"broker": "zerodha", "api_key": DEFAULT_API_KEY, "access_token": kite.login()}, format="json"
    )

    assert response.status_code == 200


def test_it_never_returns_a_secret(alice_api, kite):
    token = kite.login()

    response = alice_api.post(
        CONNECT,
        {"broker": "zerodha", "api_key": DEFAULT_API_KEY, "api_secret": DEFAULT_API_SECRET, "access_token": token},
        format="json",
    )
    listed = alice_api.get(LIST)

    for text in (response.content.decode(), listed.content.decode()):
        assert token not in text
        assert DEFAULT_API_SECRET not in text
        assert DEFAULT_API_KEY not in text


def test_it_refuses_bad_credentials_and_stores_nothing(alice_api, alice, kite):
    response = connect_zerodha(alice_api, kite, api_secret="wrong-secret")

    assert response.status_code == 400
    assert response.json()["error"] == "BROKER_AUTH_FAILED"
    assert not BrokerAccount.objects.filter(user=alice).exists()


def test_it_refuses_an_expired_access_token(alice_api, kite):
    token = kite.login()
    kite.expire_tokens()

    response = alice_api.post(
        CONNECT, {"broker": "zerodha", "api_key": DEFAULT_API_KEY, "access_token": token}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["error"] == "BROKER_AUTH_FAILED"


def test_it_says_when_the_broker_is_unreachable(alice_api, alice, settings):
    settings.KITE_API_ROOT = "http://127.0.0.1:1"  # nothing listens there

    response = alice_api.post(CONNECT, {"broker": "zerodha", "api_key": "k", "access_token": "t"}, format="json")

    assert response.status_code == 503
    assert response.json()["error"] == "BROKER_UNAVAILABLE"
    assert not BrokerAccount.objects.filter(user=alice).exists()


@pytest.mark.parametrize(
    ("body", "missing"),
    [
        ({"broker": "zerodha"}, {"api_key", "api_secret", "request_token"}),
        ({"broker": "zerodha", "api_key": "k", "request_token": "r"}, {"api_secret"}),
        ({"broker": "dhan", "access_token": "t"}, {"client_id"}),
        ({"broker": "angelone", "api_key": "k"}, {"client_id", "access_token"}),
        ({"broker": "fyers"}, {"api_key", "access_token"}),
        ({"broker": "robinhood"}, {"broker"}),
        ({"broker": "paper", "egress_proxy": "not a url"}, {"egress_proxy"}),
    ],
)
def test_it_names_the_fields_each_broker_needs(alice_api, body, missing):
    response = alice_api.post(CONNECT, body, format="json")

    assert response.status_code == 400
    assert response.json()["error"] == "VALIDATION_ERROR"
    assert set(response.json()["fields"]) == missing


def test_it_connects_paper_trading_with_no_keys(alice_api, alice):
    response = alice_api.post(CONNECT, {"broker": "paper"}, format="json")

    assert response.status_code == 200
    account = BrokerAccount.objects.get(user=alice, broker="paper")
    assert account.client_id.startswith("PAPER-")
    assert account.status == "connected"


def test_reconnecting_replaces_the_account(alice_api, alice, kite):
    connect_zerodha(alice_api, kite)
    first = BrokerAccount.objects.get(user=alice, broker="zerodha")

    connect_zerodha(alice_api, kite)

    second = BrokerAccount.objects.get(user=alice, broker="zerodha")
    assert second.pk == first.pk
    assert second.access_token != first.access_token


def test_it_lists_only_the_users_own_accounts(alice_api, bob_api, kite):
    connect_zerodha(alice_api, kite)
    bob_api.post(CONNECT, {"broker": "paper"}, format="json")

    listed = alice_api.get(LIST).json()

    assert [account["broker"] for account in listed] == ["zerodha"]
    assert set(listed[0]) == {
        "id",
        "broker",
        "status",
        "status_message",
        "client_id",
        "api_key_masked",
        "validated_at",
        "token_expires_at",
        "created_at",
    }


def test_it_deletes_an_account(alice_api, alice, kite):
    account_id = connect_zerodha(alice_api, kite).json()["account"]["id"]

    assert alice_api.delete(f"{LIST}/{account_id}").status_code == 204
    assert not BrokerAccount.objects.filter(user=alice).exists()


def test_bob_cannot_see_or_delete_alices_account(alice_api, bob_api, kite):
    account_id = connect_zerodha(alice_api, kite).json()["account"]["id"]

    response = bob_api.delete(f"{LIST}/{account_id}")

    assert response.status_code == 404
    assert response.json()["error"] == "NOT_FOUND"
    assert BrokerAccount.objects.filter(pk=account_id).exists()
    assert bob_api.get(LIST).json() == []


def test_it_requires_a_token(api, db):
    assert api.get(LIST).status_code == 401
    assert api.post(CONNECT, {"broker": "paper"}, format="json").status_code == 401


def test_the_database_holds_no_plaintext_secret(alice_api, kite):
    token = kite.login()
    alice_api.post(
        CONNECT,
        {"broker": "zerodha", "api_key": DEFAULT_API_KEY, "api_secret": DEFAULT_API_SECRET, "access_token": token},
        format="json",
    )

    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM brokers_brokeraccount")
        raw = repr(cursor.fetchall())

    for secret in (DEFAULT_API_KEY, DEFAULT_API_SECRET, token):
        assert secret not in raw
