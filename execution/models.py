import base64
import hashlib
import uuid

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q


def order_tag(run_id: object, event: str) -> str:
    """The idempotency tag of the order `event` of run `run_id`: the same on every attempt and in
    every process, so a retry can find at the broker an order an earlier attempt placed. 16
    base32 characters (80 bits of SHA-256): inside Kite's 20, and letters and digits only."""
    digest = hashlib.sha256(f"{run_id}:{event}".encode()).digest()
    return base64.b32encode(digest).decode()[:16]


class OrderQuerySet(models.QuerySet["Order"]):
    def owned_by(self, user: object) -> "OrderQuerySet":
        return self.filter(user=user)

    def exits(self) -> "OrderQuerySet":
        return self.filter(event__in=Order.EXIT_EVENTS)

    def unsettled(self) -> "OrderQuerySet":
        """Orders whose outcome at the broker we do not know yet."""
        return self.filter(status__in=(Order.Status.PENDING, Order.Status.PLACED))


class Order(models.Model):
    """The order log: one row per order the platform sends (or was about to send) to a broker.

    A row is written `pending` in its own transaction before the broker is called, so no order
    can exist at the broker without a row here; (run, event) is unique, so a retry or a
    redelivered task reuses the row, and with it the tag that finds the order at the broker."""

    class Event(models.TextChoices):
        BUY = "BUY"
        SELL = "SELL"
        STOPLOSS = "STOPLOSS"
        PROTECTIVE_STOP = "PROTECTIVE_STOP"
        KILL = "KILL"

    class Side(models.TextChoices):
        BUY = "BUY"
        SELL = "SELL"

    class Status(models.TextChoices):
        PENDING = "pending"  # written, the broker not (known to be) reached yet
        PLACED = "placed"  # accepted by the broker, not final (OPEN / TRIGGER PENDING)
        COMPLETE = "complete"
        REJECTED = "rejected"
        CANCELLED = "cancelled"
        FAILED = "failed"  # never reached the broker after every attempt

    EXIT_EVENTS = (Event.SELL, Event.STOPLOSS, Event.KILL)
    LIVE_STATUSES = (Status.PENDING, Status.PLACED, Status.COMPLETE)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="orders")
    strategy = models.ForeignKey("strategies.Strategy", on_delete=models.CASCADE, related_name="orders")
    run = models.ForeignKey("strategies.StrategyRun", on_delete=models.CASCADE, related_name="orders")
    broker_account = models.ForeignKey("brokers.BrokerAccount", on_delete=models.PROTECT, related_name="orders")
    event = models.CharField(max_length=16, choices=Event.choices)
    side = models.CharField(max_length=4, choices=Side.choices)
    symbol = models.CharField(max_length=40)
    exchange = models.CharField(max_length=8, default="NSE")
    quantity = models.PositiveIntegerField()
    order_type = models.CharField(max_length=8)
    trigger_price = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    broker_order_id = models.CharField(max_length=64, blank=True, default="")
    tag = models.CharField(max_length=20, unique=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    requested_at = models.DateTimeField(help_text="The instant the trigger was scheduled for.")
    placed_at = models.DateTimeField(null=True, blank=True, help_text="When the broker acknowledged the order.")
    latency_ms = models.PositiveIntegerField(null=True, blank=True, help_text="From requested_at to the broker's ack.")
    average_price = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    # kiteconnect returns datetimes in its order dicts.
    raw_response = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    error = models.TextField(blank=True, default="")
    needs_attention = models.BooleanField(
        default=False, help_text="The platform could not settle this order on its own: support must look."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = OrderQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["run", "event"], name="execution_order_one_per_run_event"),
            # Whatever races (stop-loss tick, SELL trigger, stop, kill switch), a position gets one exit.
            models.UniqueConstraint(
                fields=["run"],
                condition=Q(event__in=["SELL", "STOPLOSS", "KILL"], status__in=["pending", "placed", "complete"]),
                name="execution_order_one_live_exit_per_run",
            ),
        ]
        indexes = [
            # Reconciliation and the kill switch look for unsettled orders.
            models.Index(fields=["status"], name="execution_order_status"),
        ]

    def __str__(self) -> str:
        return f"{self.event} {self.side} {self.quantity} {self.symbol} ({self.status})"

    @property
    def is_settled(self) -> bool:
        return self.status not in (self.Status.PENDING, self.Status.PLACED)
