import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

if TYPE_CHECKING:
    from strategies.calendar import TradingCalendar

# How far ahead the next trigger is looked for: longer than any run of NSE holidays.
_TRIGGER_SEARCH_DAYS = 30


class Instrument(models.Model):
    """A tradable symbol on an exchange, as the broker's instrument list describes it."""

    exchange = models.CharField(max_length=8)
    symbol = models.CharField(max_length=40)
    name = models.CharField(max_length=200, blank=True, default="")
    instrument_token = models.BigIntegerField(null=True, blank=True)
    tick_size = models.DecimalField(max_digits=10, decimal_places=4)
    lot_size = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["exchange", "symbol"]
        constraints = [
            models.UniqueConstraint(fields=["exchange", "symbol"], name="strategies_instrument_one_per_symbol"),
            models.CheckConstraint(condition=Q(tick_size__gt=0), name="strategies_instrument_tick_size_positive"),
            models.CheckConstraint(condition=Q(lot_size__gt=0), name="strategies_instrument_lot_size_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.exchange}:{self.symbol}"

    def is_tick_multiple(self, price: Decimal) -> bool:
        return price % self.tick_size == 0

    def is_lot_multiple(self, quantity: int) -> bool:
        return quantity % self.lot_size == 0


class TradingHoliday(models.Model):
    """A weekday the exchange is closed, or, with open and close times, a special session
    (Muhurat trading) on a day that would otherwise be closed or shortened."""

    exchange = models.CharField(max_length=8, default="NSE")
    date = models.DateField()
    description = models.CharField(max_length=200)
    session_open = models.TimeField(null=True, blank=True, help_text="IST; set only for a special session.")
    session_close = models.TimeField(null=True, blank=True, help_text="IST; set only for a special session.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["date"]
        constraints = [
            models.UniqueConstraint(fields=["exchange", "date"], name="strategies_tradingholiday_one_per_day"),
            models.CheckConstraint(
                condition=(Q(session_open__isnull=True) & Q(session_close__isnull=True))
                | Q(session_open__lt=models.F("session_close")),
                name="strategies_tradingholiday_special_session_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.exchange} {self.date}: {self.description}"

    @property
    def is_special_session(self) -> bool:
        return self.session_open is not None


class StrategyQuerySet(models.QuerySet["Strategy"]):
    def alive(self) -> "StrategyQuerySet":
        return self.filter(deleted_at__isnull=True)

    def owned_by(self, user: object) -> "StrategyQuerySet":
        return self.alive().filter(user=user)

    def active(self) -> "StrategyQuerySet":
        return self.alive().filter(status__in=Strategy.ACTIVE_STATUSES)

    def running_on(self, symbol: str) -> "StrategyQuerySet":
        return self.alive().filter(status=Strategy.Status.RUNNING, symbol=symbol)

    def overlapping(self, strategy: "Strategy") -> "StrategyQuerySet":
        """The user's other active strategies on the same symbol whose [buy, sell] window
        overlaps this one's: two of them would fight over one position."""
        return (
            self.active()
            .filter(
                user_id=strategy.user_id,
                exchange=strategy.exchange,
                symbol=strategy.symbol,
                buy_time__lte=strategy.sell_time,
                sell_time__gte=strategy.buy_time,
            )
            .exclude(pk=strategy.pk)
        )


class Strategy(models.Model):
    """BUY `quantity` of `symbol` at buy_time, SELL at sell_time, exit early at stop_loss.
    Times are IST wall-clock times; the calendar turns them into instants per session."""

    class Status(models.TextChoices):
        CREATED = "created"
        RUNNING = "running"
        STOPPED = "stopped"
        COMPLETED = "completed"
        FAILED = "failed"

    class Product(models.TextChoices):
        MIS = "MIS", "Intraday (MIS)"

    class Recurrence(models.TextChoices):
        ONCE = "once"
        DAILY = "daily"

    ACTIVE_STATUSES = (Status.CREATED, Status.RUNNING)
    STARTABLE_STATUSES = (Status.CREATED, Status.STOPPED)
    # Fields a user may change while a position is open: the ones that only tighten or move the exit.
    FIELDS_EDITABLE_IN_POSITION = frozenset({"stop_loss", "sell_time"})

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="strategies")
    # PROTECT: a broker account with strategies (and their order history) cannot vanish under them.
    broker_account = models.ForeignKey("brokers.BrokerAccount", on_delete=models.PROTECT, related_name="strategies")
    exchange = models.CharField(max_length=8, default="NSE")
    symbol = models.CharField(max_length=40)
    buy_time = models.TimeField(help_text="IST")
    sell_time = models.TimeField(help_text="IST")
    stop_loss = models.DecimalField(max_digits=12, decimal_places=2)
    quantity = models.PositiveIntegerField()
    product = models.CharField(max_length=8, choices=Product.choices, default=Product.MIS)
    recurrence = models.CharField(max_length=8, choices=Recurrence.choices, default=Recurrence.ONCE)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.CREATED)
    deleted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = StrategyQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "strategies"
        constraints = [
            models.CheckConstraint(condition=Q(stop_loss__gt=0), name="strategies_strategy_stop_loss_positive"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="strategies_strategy_quantity_positive"),
            models.CheckConstraint(
                condition=Q(buy_time__lt=models.F("sell_time")), name="strategies_strategy_buy_before_sell"
            ),
        ]
        indexes = [
            # The feed asks "who runs on this symbol" on every subscription change.
            models.Index(fields=["symbol", "status"], name="strategies_strategy_sym_status"),
        ]
        permissions = [("stop_strategy", "Can stop a user's strategy")]

    def __str__(self) -> str:
        return f"{self.symbol} {self.buy_time}-{self.sell_time} ({self.status})"

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    def can_start(self) -> bool:
        return self.status in self.STARTABLE_STATUSES and not self.is_deleted

    def can_stop(self) -> bool:
        return self.status in self.ACTIVE_STATUSES

    def latest_run(self) -> "StrategyRun | None":
        return self.runs.order_by("-session_date").first()

    def has_open_position(self) -> bool:
        run = self.latest_run()
        return run is not None and run.position in StrategyRun.OPEN_POSITIONS

    def rule_errors(self, *, calendar: "TradingCalendar", instrument: Instrument | None) -> dict[str, list[str]]:
        """Field-level reasons this strategy cannot be traded; empty when it can."""
        errors: dict[str, list[str]] = {}

        def add(field: str, message: str) -> None:
            errors.setdefault(field, []).append(message)

        if instrument is None:
            add("symbol", f"Unknown symbol {self.symbol} on {self.exchange}.")
        if self.stop_loss is None or self.stop_loss <= 0:
            add("stop_loss", "The stop-loss is mandatory and must be greater than 0.")
        elif instrument is not None and not instrument.is_tick_multiple(self.stop_loss):
            add("stop_loss", f"Must be a multiple of the tick size {instrument.tick_size.normalize()}.")
        if self.quantity is None or self.quantity <= 0:
            add("quantity", "Must be greater than 0.")
        elif instrument is not None and not instrument.is_lot_multiple(self.quantity):
            add("quantity", f"Must be a multiple of the lot size {instrument.lot_size}.")
        if self.buy_time >= self.sell_time:
            add("sell_time", "Must be after buy_time.")
        opens, closes = calendar.regular_session_hours()
        for field in ("buy_time", "sell_time"):
            if not opens <= getattr(self, field) <= closes:
                add(field, f"Must be within market hours {opens:%H:%M:%S}-{closes:%H:%M:%S} IST.")
        return errors

    def next_trigger_times(self, calendar: "TradingCalendar", now: datetime | None = None) -> dict[str, datetime]:
        """The BUY and SELL instants of the next session whose SELL is still ahead of `now`
        and which is open for the whole [buy_time, sell_time] window."""
        now = now or timezone.now()
        day = timezone.localdate(now, calendar.tz)
        for _ in range(_TRIGGER_SEARCH_DAYS):
            if calendar.is_trading_day(day):
                buy, sell = calendar.at(day, self.buy_time), calendar.at(day, self.sell_time)
                if sell > now and calendar.session_open(day) <= buy and sell <= calendar.session_close(day):
                    return {"buy": buy, "sell": sell}
            day += timedelta(days=1)
        raise LookupError(f"No session in the next {_TRIGGER_SEARCH_DAYS} days fits {self}.")


class StrategyRun(models.Model):
    """One session of a strategy: the position it took that day and how it ended."""

    class Position(models.TextChoices):
        NONE = "none"
        BUY_PENDING = "buy_pending"
        BOUGHT = "bought"
        EXIT_PENDING = "exit_pending"
        EXITED = "exited"

    class ExitReason(models.TextChoices):
        SELL_TIME = "sell_time"
        STOPLOSS = "stoploss"
        MANUAL = "manual"
        ERROR = "error"

    OPEN_POSITIONS = (Position.BUY_PENDING, Position.BOUGHT, Position.EXIT_PENDING)

    strategy = models.ForeignKey(Strategy, on_delete=models.CASCADE, related_name="runs")
    session_date = models.DateField()
    position = models.CharField(max_length=16, choices=Position.choices, default=Position.NONE)
    # Broker order ids for now; the execution app links its Order rows.
    entry_order_id = models.CharField(max_length=64, blank=True, default="")
    exit_order_id = models.CharField(max_length=64, blank=True, default="")
    entry_price = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    exit_price = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    exit_reason = models.CharField(max_length=16, choices=ExitReason.choices, blank=True, default="")
    realised_pnl = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-session_date"]
        constraints = [
            models.UniqueConstraint(fields=["strategy", "session_date"], name="strategies_strategyrun_one_per_session"),
        ]

    def __str__(self) -> str:
        return f"{self.strategy_id} on {self.session_date}: {self.position}"

    def unrealised_pnl(self, last_price: Decimal | None) -> Decimal | None:
        if self.position != self.Position.BOUGHT or self.entry_price is None or last_price is None:
            return None
        return (last_price - self.entry_price) * self.strategy.quantity

    def pnl(self, last_price: Decimal | None) -> Decimal | None:
        return self.realised_pnl if self.realised_pnl is not None else self.unrealised_pnl(last_price)


class StrategyEvent(models.Model):
    """Append-only audit trail: who changed what about a strategy, and when. Never updated."""

    class ActorType(models.TextChoices):
        USER = "user"
        STAFF = "staff"
        SYSTEM = "system"

    class Kind(models.TextChoices):
        CREATED = "created"
        UPDATED = "updated"
        STARTED = "started"
        STOPPED = "stopped"
        DELETED = "deleted"
        BUY = "buy"
        SELL = "sell"
        STOPLOSS = "stoploss"
        COMPLETED = "completed"
        FAILED = "failed"
        ORDER_REJECTED = "order_rejected"
        NEEDS_ATTENTION = "needs_attention"

    id = models.BigAutoField(primary_key=True)
    strategy = models.ForeignKey(Strategy, on_delete=models.CASCADE, related_name="events")
    run = models.ForeignKey(StrategyRun, on_delete=models.SET_NULL, null=True, blank=True, related_name="events")
    actor_type = models.CharField(max_length=8, choices=ActorType.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["strategy", "created_at"], name="strategies_event_strategy_time")]

    def __str__(self) -> str:
        return f"{self.kind} by {self.actor_type} at {self.created_at:%Y-%m-%d %H:%M:%S}"

    def save(self, *args: object, **kwargs: object) -> None:
        # The trail is evidence in disputes about orders: rows are written once.
        if not self._state.adding:
            raise ValueError("Strategy events are append-only.")
        super().save(*args, **kwargs)
