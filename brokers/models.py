import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from fernet_fields import EncryptedTextField

from brokers.adapters import get_adapter
from brokers.adapters.base import BrokerAdapter, Credentials


class BrokerAccountQuerySet(models.QuerySet["BrokerAccount"]):
    def owned_by(self, user: object) -> "BrokerAccountQuerySet":
        return self.filter(user=user)

    def connected(self) -> "BrokerAccountQuerySet":
        return self.filter(status=BrokerAccount.Status.CONNECTED)


class BrokerAccount(models.Model):
    """A user's account at one broker. Keys and tokens are encrypted at rest with FERNET_KEYS
    and never leave the server: the API, the admin and the logs show only a masked key."""

    class Broker(models.TextChoices):
        PAPER = "paper", "Paper trading"
        ZERODHA = "zerodha", "Zerodha (Kite)"
        DHAN = "dhan", "Dhan"
        FYERS = "fyers", "Fyers"
        ANGELONE = "angelone", "Angel One"

    class Status(models.TextChoices):
        CONNECTED = "connected"
        INVALID = "invalid"
        EXPIRED = "expired"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="broker_accounts")
    broker = models.CharField(max_length=16, choices=Broker.choices)
    api_key = EncryptedTextField(blank=True, default="")
    api_secret = EncryptedTextField(blank=True, default="")
    access_token = EncryptedTextField(blank=True, default="")
    # The account's own static-IP egress for order traffic; may carry proxy credentials.
    egress_proxy = EncryptedTextField(blank=True, default="")
    client_id = models.CharField(max_length=64, blank=True, default="")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.CONNECTED)
    status_message = models.CharField(max_length=300, blank=True, default="")
    validated_at = models.DateTimeField(null=True, blank=True)
    token_expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = BrokerAccountQuerySet.as_manager()

    class Meta:
        ordering = ["broker"]
        constraints = [
            models.UniqueConstraint(fields=["user", "broker"], name="brokers_brokeraccount_one_per_broker"),
        ]
        permissions = [("mark_brokeraccount_invalid", "Can mark a broker account invalid")]

    def __str__(self) -> str:
        return f"{self.get_broker_display()} account of {self.user_id}"

    @property
    def masked_api_key(self) -> str:
        """The first four characters of the key, enough for a user to recognise it."""
        return f"{self.api_key[:4]}••••" if self.api_key else ""

    def credentials(self) -> Credentials:
        return Credentials(
            api_key=self.api_key,
            api_secret=self.api_secret,
            access_token=self.access_token,
            client_id=self.client_id,
        )

    def adapter(self) -> BrokerAdapter:
        proxy = self.egress_proxy or settings.BROKER_EGRESS_PROXY
        return get_adapter(self.broker, self.credentials(), proxy=proxy or None)

    def is_usable(self) -> bool:
        if self.status != self.Status.CONNECTED:
            return False
        return self.token_expires_at is None or self.token_expires_at > timezone.now()

    def mark(self, status: "BrokerAccount.Status", message: str = "") -> None:
        """Records a status found by the platform or by support staff."""
        BrokerAccount.objects.filter(pk=self.pk).update(
            status=status, status_message=message[:300], updated_at=timezone.now()
        )
        self.status, self.status_message = status, message[:300]
