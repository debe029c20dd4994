import pytest

from brokers.models import BrokerAccount
from conftest import PASSWORD

SECRETS = ("kite-key-abcdef", "kite-secret-123456", "access-token-7890")


@pytest.fixture
def account(alice) -> BrokerAccount:
    return BrokerAccount.objects.create(
        user=alice,
        broker="zerodha",
        api_key=SECRETS[0],
        api_secret=SECRETS[1],
        access_token=SECRETS[2],
        client_id="ZS0001",
    )


@pytest.fixture
def support_client(client, support):
    assert client.login(email="support@example.com", password=PASSWORD)
    return client


def test_support_sees_accounts_with_a_masked_key_and_no_secret(support_client, account):
    pages = [
        support_client.get("/admin/brokers/brokeraccount/"),
        support_client.get(f"/admin/brokers/brokeraccount/{account.pk}/change/"),
    ]

    for page in pages:
        assert page.status_code == 200
        html = page.content.decode()
        assert "ZS0001" in html
        assert "kite••••" in html
        for secret in SECRETS:
            assert secret not in html


def test_support_can_mark_an_account_invalid(support_client, account, support):
    response = support_client.post(
        "/admin/brokers/brokeraccount/",
        {"action": "mark_invalid", "_selected_action": [str(account.pk)]},
        follow=True,
    )

    assert response.status_code == 200
    account.refresh_from_db()
    assert account.status == BrokerAccount.Status.INVALID
    assert "support@example.com" in account.status_message
    # The secrets are untouched by the action.
    assert (account.api_key, account.access_token) == (SECRETS[0], SECRETS[2])


def test_support_cannot_edit_an_account(support_client, account):
    response = support_client.post(
        f"/admin/brokers/brokeraccount/{account.pk}/change/", {"client_id": "HACKED", "status": "connected"}
    )

    account.refresh_from_db()
    assert response.status_code == 403
    assert account.client_id == "ZS0001"
