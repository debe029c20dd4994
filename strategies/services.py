"""Strategy workflows: create, update, delete, start and stop, each recorded in the audit trail.

Start and stop only change the status here; the Redis runtime, the beat triggers and the
exit of an open position hook in later (DESIGN.md section 7), after the status change commits.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from celery import current_app
from django.db import transaction
from django.utils import timezone
from rest_framework import status

from accounts.models import User
from algotrader.api_errors import ApiError
from algotrader.redis import redis_client
from brokers.models import BrokerAccount
from execution import events, runtime
from strategies import schedules
from strategies.calendar import TradingCalendar, market_calendar
from strategies.models import Instrument, Strategy, StrategyEvent, StrategyRun

# Fields a create or update request may set (besides `broker`, which names the account).
EDITABLE_FIELDS = ("exchange", "symbol", "buy_time", "sell_time", "stop_loss", "quantity", "product", "recurrence")


def _actor_type(strategy: Strategy, actor: User | None) -> StrategyEvent.ActorType:
    if actor is None:
        return StrategyEvent.ActorType.SYSTEM
    if actor.pk == strategy.user_id:
        return StrategyEvent.ActorType.USER
    return StrategyEvent.ActorType.STAFF


def record_event(
    *, strategy: Strategy, actor: User | None, kind: str, data: dict | None = None, run: StrategyRun | None = None
) -> StrategyEvent:
    event = StrategyEvent.objects.create(
        strategy=strategy, run=run, actor=actor, actor_type=_actor_type(strategy, actor), kind=kind, data=data or {}
    )
    # Every recorded change reaches the owner's app, once it is committed.
    events.notify_strategy(strategy.pk)
    return event


def _resolve_broker_account(user: User, broker: str | None) -> BrokerAccount:
    """The user's account at `broker`; with no broker named (the seeds' requests name none),
    the user's only account."""
    accounts = BrokerAccount.objects.owned_by(user)
    if broker:
        account = accounts.filter(broker=broker).first()
        if account is None:
            raise _invalid({"broker": [f"You have no {broker} account; connect one first."]})
        return account
    candidates = list(accounts[:2])
    if len(candidates) != 1:
        reason = "Connect a broker account first." if not candidates else "Name the broker: you have several."
        raise _invalid({"broker": [reason]})
    return candidates[0]


def _invalid(fields: dict[str, list[str]]) -> ApiError:
    return ApiError("STRATEGY_INVALID", "The strategy is not valid.", fields=fields)


def _check_rules(strategy: Strategy, calendar: TradingCalendar) -> None:
    instrument = Instrument.objects.filter(exchange=strategy.exchange, symbol=strategy.symbol).first()
    errors = strategy.rule_errors(calendar=calendar, instrument=instrument)
    if errors:
        raise _invalid(errors)


def _check_no_overlap(strategy: Strategy) -> None:
    """Call inside the transaction that holds the user's lock (`_lock_user`)."""
    other = Strategy.objects.overlapping(strategy).first()
    if other is not None:
        raise ApiError(
            "STRATEGY_OVERLAP",
            f"Another strategy on {strategy.symbol} ({other.buy_time:%H:%M:%S}-{other.sell_time:%H:%M:%S}, "
            f"{other.id}) overlaps this time window; stop it or pick another window.",
        )


def _lock_user(user_id: object) -> None:
    # Serialises one user's strategy writes, so two concurrent requests cannot both pass the
    # overlap check and create overlapping strategies.
    User.objects.select_for_update().filter(pk=user_id).first()


def strategy_create(*, user: User, data: dict, calendar: TradingCalendar | None = None) -> Strategy:
    account = _resolve_broker_account(user, data.get("broker"))
    strategy = Strategy(user=user, broker_account=account, **{f: data[f] for f in EDITABLE_FIELDS if f in data})
    _check_rules(strategy, calendar or market_calendar())
    with transaction.atomic():
        _lock_user(user.pk)
        _check_no_overlap(strategy)
        strategy.save()
        record_event(strategy=strategy, actor=user, kind=StrategyEvent.Kind.CREATED, data=_describe(strategy))
    return strategy


def strategy_update(
    *, strategy: Strategy, actor: User, changes: dict, calendar: TradingCalendar | None = None
) -> Strategy:
    """Before the BUY every field may change; while a position is held only the exit (stop-loss
    and sell time); while an order is in flight, or once the strategy ended, nothing."""
    with transaction.atomic():
        _lock_user(strategy.user_id)
        strategy.refresh_from_db()
        run = strategy.latest_run()
        position = run.position if run else StrategyRun.Position.NONE
        requested = {f for f in EDITABLE_FIELDS if f in changes} | (
            {"broker_account"} if "broker" in changes else set()
        )
        if strategy.status in (Strategy.Status.COMPLETED, Strategy.Status.FAILED):
            raise _state_error(f"A {strategy.status} strategy cannot be changed.")
        if position in (StrategyRun.Position.BUY_PENDING, StrategyRun.Position.EXIT_PENDING):
            raise _state_error("An order is in flight; try again in a moment.")
        if position == StrategyRun.Position.BOUGHT and not requested <= Strategy.FIELDS_EDITABLE_IN_POSITION:
            raise _state_error("While a position is open only stop_loss and sell_time may change.")

        before = _describe(strategy)
        if "broker" in changes:
            strategy.broker_account = _resolve_broker_account(strategy.user, changes["broker"])
        for field in requested - {"broker_account"}:
            setattr(strategy, field, changes[field])
        _check_rules(strategy, calendar or market_calendar())
        _check_no_overlap(strategy)
        after = _describe(strategy)
        diff = {field: [before[field], after[field]] for field in after if before[field] != after[field]}
        if diff:
            strategy.save()
            record_event(strategy=strategy, actor=actor, kind=StrategyEvent.Kind.UPDATED, data=diff)
    if diff and strategy.status == Strategy.Status.RUNNING:
        # A new stop-loss is watched from the next tick on, and the stop resting at the broker
        # follows it (modified in place by the order worker).
        runtime.activate(strategy, run)
        if "stop_loss" in diff and position == StrategyRun.Position.BOUGHT:
            transaction.on_commit(
                lambda: current_app.send_task(
                    "execution.tasks.move_protective_stop_task", args=[str(strategy.pk)], queue="orders"
                )
            )
        if {"buy_time", "sell_time"} & diff.keys():
            # The beat reads trigger times every tick: the new ones apply within a second.
            transaction.on_commit(lambda: schedules.arm(strategy))
    return strategy


def strategy_delete(*, strategy: Strategy, actor: User) -> None:
    """Soft delete: the row and its trail stay for support and disputes."""
    if strategy.status == Strategy.Status.RUNNING:
        strategy_stop(strategy=strategy, actor=actor)
    with transaction.atomic():
        if Strategy.objects.alive().filter(pk=strategy.pk).update(deleted_at=timezone.now()) == 1:
            record_event(strategy=strategy, actor=actor, kind=StrategyEvent.Kind.DELETED)
            schedules.disarm(strategy)
    strategy.refresh_from_db()


def strategy_start(*, strategy: Strategy, actor: User | None) -> Strategy:
    account = BrokerAccount.objects.get(pk=strategy.broker_account_id)
    if not account.is_usable():
        raise ApiError(
            "BROKER_NOT_CONNECTED",
            f"Your {account.get_broker_display()} account is not connected (or its session expired); reconnect it.",
            status_code=status.HTTP_409_CONFLICT,
        )
    with transaction.atomic():
        _lock_user(strategy.user_id)
        strategy.refresh_from_db()
        if not strategy.can_start():
            raise _state_error(f"A {strategy.status} strategy cannot be started.")
        _check_no_overlap(strategy)
        # The conditional update is the claim: of two concurrent starts exactly one matches.
        claimed = (
            Strategy.objects.alive()
            .filter(pk=strategy.pk, status__in=Strategy.STARTABLE_STATUSES)
            .update(status=Strategy.Status.RUNNING, updated_at=timezone.now())
        )
        if claimed != 1:
            raise _state_error("The strategy was started or changed meanwhile.")
        record_event(strategy=strategy, actor=actor, kind=StrategyEvent.Kind.STARTED)
    strategy.refresh_from_db()
    runtime.activate(strategy, strategy.latest_run())
    transaction.on_commit(lambda: schedules.arm(strategy))
    return strategy


def strategy_stop(*, strategy: Strategy, actor: User | None) -> Strategy:
    with transaction.atomic():
        claimed = Strategy.objects.filter(pk=strategy.pk, status__in=Strategy.ACTIVE_STATUSES).update(
            status=Strategy.Status.STOPPED, updated_at=timezone.now()
        )
        if claimed != 1:
            strategy.refresh_from_db()
            raise _state_error(f"A {strategy.status} strategy cannot be stopped.")
        # In the same transaction as the status: no trigger fires for a stopped strategy.
        schedules.disarm(strategy)
        # The execution app exits an open position on this event; the user is told it happened.
        record_event(
            strategy=strategy,
            actor=actor,
            kind=StrategyEvent.Kind.STOPPED,
            data={"open_position": strategy.has_open_position()},
        )
        run = strategy.latest_run()
        if run is not None and run.position in StrategyRun.OPEN_POSITIONS:
            from execution.tasks import exit_position_task  # the execution app imports this module

            transaction.on_commit(lambda: exit_position_task.delay(str(run.pk), StrategyRun.ExitReason.MANUAL))
    strategy.refresh_from_db()
    runtime.deactivate(strategy)
    return strategy


def _state_error(message: str) -> ApiError:
    return ApiError("STRATEGY_STATE", message, status_code=status.HTTP_409_CONFLICT)


def _describe(strategy: Strategy) -> dict[str, str]:
    """The user-visible settings as strings, for the audit trail."""
    values = {field: getattr(strategy, field) for field in EDITABLE_FIELDS}
    values["broker"] = strategy.broker_account.broker
    return {field: value.isoformat() if hasattr(value, "isoformat") else str(value) for field, value in values.items()}


def last_prices(symbols: list[str]) -> dict[str, Decimal]:
    """Last traded prices the market-data feed left in Redis (`price:{symbol}`)."""
    unique = sorted(set(symbols))
    if not unique:
        return {}
    raws = redis_client().mget([runtime.price_key(symbol) for symbol in unique])
    prices = {symbol: runtime.parse_price(raw) for symbol, raw in zip(unique, raws, strict=True)}
    return {symbol: price for symbol, price in prices.items() if price is not None}


@dataclass(frozen=True)
class StrategySnapshot:
    """What a trader sees of a strategy at this moment: the database's state, the feed's price."""

    strategy: Strategy
    run: StrategyRun | None
    last_price: Decimal | None
    last_action: str | None

    @property
    def position(self) -> str:
        return self.run.position if self.run else StrategyRun.Position.NONE

    @property
    def pnl(self) -> Decimal | None:
        return self.run.pnl(self.last_price) if self.run else None

    def next_triggers(self, calendar: TradingCalendar, now: datetime | None = None) -> dict[str, datetime | None]:
        if self.strategy.status != Strategy.Status.RUNNING:
            return {"buy": None, "sell": None}
        return self.strategy.next_trigger_times(calendar, now)

    def status_data(self, calendar: TradingCalendar) -> dict:
        return {
            "strategy_id": self.strategy.id,
            "status": self.strategy.status,
            "position": self.position,
            "last_action": self.last_action,
            "last_price": self.last_price,
            "pnl": self.pnl,
            "entry_price": self.run.entry_price if self.run else None,
            "exit_price": self.run.exit_price if self.run else None,
            "exit_reason": (self.run.exit_reason or None) if self.run else None,
            "next_triggers": self.next_triggers(calendar),
        }


def _last_action(strategy: Strategy, run: StrategyRun | None) -> str | None:
    return last_action(run, runtime_action=redis_client().hget(f"runtime:{strategy.id}", "last_action"))


def last_action(run: StrategyRun | None, *, runtime_action: str | None) -> str | None:
    """The last thing the strategy did, given the runtime's `last_action` in Redis."""
    # An exited run says how it ended; the runtime may not have caught up with the commit yet.
    if run is not None and run.position == StrategyRun.Position.EXITED:
        return "STOPLOSS" if run.exit_reason == StrategyRun.ExitReason.STOPLOSS else "SELL"
    if runtime_action:
        return runtime_action
    if run is None or run.position == StrategyRun.Position.NONE:
        return None
    return "BUY"


def strategy_snapshots(strategies: list[Strategy], *, with_last_action: bool = False) -> list[StrategySnapshot]:
    by_id = {s.id: s for s in strategies}
    runs: dict[object, StrategyRun] = {}
    # The latest run of each strategy in one query (PostgreSQL's DISTINCT ON).
    latest = StrategyRun.objects.filter(strategy__in=strategies).order_by("strategy_id", "-session_date")
    for run in latest.distinct("strategy_id"):
        run.strategy = by_id[run.strategy_id]
        runs[run.strategy_id] = run
    prices = last_prices([s.symbol for s in strategies])
    return [
        StrategySnapshot(
            strategy=s,
            run=runs.get(s.id),
            last_price=prices.get(s.symbol),
            last_action=_last_action(s, runs.get(s.id)) if with_last_action else None,
        )
        for s in strategies
    ]
