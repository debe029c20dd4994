"""Connecting a broker account: log in where the broker needs it, validate, store encrypted."""

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from brokers.adapters import get_adapter
from brokers.adapters.base import Credentials
from brokers.models import BrokerAccount


def paper_client_id(user: object) -> str:
    return f"PAPER-{user.id.hex[:8].upper()}"  # type: ignore[attr-defined]


def broker_connect(*, user: object, broker: str, credentials: Credentials, egress_proxy: str = "") -> BrokerAccount:
    """Validates the credentials with the broker and stores them, replacing the user's
    previous account at that broker. Raises the adapter's BrokerError when the broker
    refuses them or cannot be reached; nothing is stored then."""
    if broker == BrokerAccount.Broker.PAPER:
        credentials = Credentials(client_id=paper_client_id(user))
    proxy = egress_proxy or settings.BROKER_EGRESS_PROXY or None
    # Network calls first, outside any transaction.
    if credentials.request_token:
        credentials = get_adapter(broker, credentials, proxy=proxy).complete_login()
    profile = get_adapter(broker, credentials, proxy=proxy).validate()

    fields = {
        "api_key": credentials.api_key,
        "api_secret": credentials.api_secret,
        "access_token": credentials.access_token,
        "client_id": profile.client_id or credentials.client_id,
        "egress_proxy": egress_proxy,
        "status": BrokerAccount.Status.CONNECTED,
        "status_message": "",
        "validated_at": timezone.now(),
        "token_expires_at": profile.token_expires_at,
    }
    try:
        with transaction.atomic():
            account, _ = BrokerAccount.objects.update_or_create(user=user, broker=broker, defaults=fields)
    except IntegrityError:  # the same broker connected by a concurrent request: update that row
        with transaction.atomic():
            account, _ = BrokerAccount.objects.update_or_create(user=user, broker=broker, defaults=fields)
    return account
