"""The order path: BUY and SELL triggers, exits, the protective stop, order tracking,
reconciliation and the kill switch (DESIGN.md section 7).

Three rules hold everywhere here:

- A run's position moves only by conditional updates (`filter(position=...).update(...) == 1`):
  of two workers racing for the same transition exactly one wins.
- Every broker conversation about a strategy happens under its Redis lock (`execution.locks`),
  never inside `transaction.atomic()`; the Order row is written `pending` in its own short
  transaction before the broker is called, and updated in another one after.
- Before any retry, and whenever an Order row is found `pending`, its tag is looked up at the
  broker and an order found there is adopted instead of placing another.
"""

import json
import logging
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import TypeVar

from django.conf import settings
from django.db import IntegrityError, connection, connections, transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import User
from algotrader.api_errors import ApiError
from brokers.adapters import get_adapter
from brokers.adapters.base import (
    BrokerAdapter,
    BrokerAuthError,
    BrokerError,
    BrokerRejected,
    BrokerUnavailable,
    Credentials,
    OrderRequest,
    OrderState,
    OrderStatus,
    OrderType,
    Side,
)
from brokers.adapters.paper import PaperBroker
from brokers.adapters.paper import place_orders as place_paper_orders
from brokers.models import BrokerAccount
from execution import events, locks, runtime
from execution.locks import LockBusy, strategy_lock
from execution.models import Order, order_tag
from execution.ratelimit import take_order_slots, wait_for_order_slot
from strategies import schedules
from strategies.models import Strategy, StrategyEvent, StrategyRun
from strategies.services import record_event, strategy_stop

logger = logging.getLogger(__name__)
T = TypeVar("T")
R = TypeVar("R")

# Pauses before the second and third attempts of a broker call that failed transiently. Short:
# a trigger is time-critical, and a longer outage is better reported than chased.
RETRY_BACKOFF_SECONDS = (0.5, 1.0)
MAX_ATTEMPTS = len(RETRY_BACKOFF_SECONDS) + 1

# Threads placing the BUYs of one batch: each mostly waits on the broker, Redis or PostgreSQL.
BATCH_THREADS = 16

# Audit-trail kinds the execution engine adds to StrategyEvent.Kind.
ORDER_REJECTED = "order_rejected"
NEEDS_ATTENTION = "needs_attention"

Position = StrategyRun.Position
ExitReason = StrategyRun.ExitReason
# `kill` is the kill switch: recorded on the run as a manual exit, on the order as KILL.
KILL = "kill"
EXIT_EVENTS = {
    ExitReason.SELL_TIME: Order.Event.SELL,
    ExitReason.STOPLOSS: Order.Event.STOPLOSS,
    ExitReason.MANUAL: Order.Event.SELL,
    ExitReason.ERROR: Order.Event.SELL,
    KILL: Order.Event.KILL,
}
_ORDER_STATUS = {
    OrderState.OPEN: Order.Status.PLACED,
    OrderState.TRIGGER_PENDING: Order.Status.PLACED,
    OrderState.COMPLETE: Order.Status.COMPLETE,
    OrderState.REJECTED: Order.Status.REJECTED,
    OrderState.CANCELLED: Order.Status.CANCELLED,
}


# --- Triggers and exits ----------------------------------------------------------------------


def execute_trigger(*, strategy_id: object, event: str, session_date: date, scheduled_at: datetime) -> Order | None:
    """Runs a strategy's BUY or SELL trigger of `session_date`; safe to run any number of times."""
    strategy = Strategy.objects.select_related("broker_account").filter(pk=strategy_id).first()
    if strategy is None:
        return None
    if event == Order.Event.SELL:
        run = StrategyRun.objects.filter(strategy=strategy, session_date=session_date).first()
        if run is None:
            return None  # nothing was bought that session
        return exit_position(run_id=run.pk, reason=ExitReason.SELL_TIME, requested_at=scheduled_at)
    if event != Order.Event.BUY:
        raise ValueError(f"A trigger is BUY or SELL, not {event!r}.")
    # The unique (strategy, session_date) makes two concurrent triggers share one run.
    run, _ = StrategyRun.objects.get_or_create(strategy=strategy, session_date=session_date)
    with strategy_lock(strategy.pk):
        run.refresh_from_db()
        strategy.refresh_from_db(fields=["status"])
        if run.position == Position.NONE:
            if strategy.status != Strategy.Status.RUNNING or not _move(run, Position.NONE, Position.BUY_PENDING):
                return None
        elif run.position != Position.BUY_PENDING:
            return None  # bought, exiting or exited already: this is a duplicate
        # A run found buy_pending here was claimed by a worker that died or is tracking its order.
        order = _order_for(run, strategy, Order.Event.BUY, OrderType.MARKET, requested_at=scheduled_at)
        status = _drive(order, strategy)
        if status is None:
            _move(run, Position.BUY_PENDING, Position.NONE)
            return order
        _settle_entry(order, run, strategy, status)
    return order


@dataclass(slots=True, eq=False)
class _Entry:
    """A BUY the batch claimed: its strategy's lock is held and its pending order row written. It
    carries what placing needs, as the claim read it; the models are loaded only when something
    other than an ack comes back."""

    strategy_id: str
    run_id: int
    order_id: str
    account_id: str
    broker: str
    client_id: str
    requested_at: datetime
    request: OrderRequest | None
    fresh: bool  # this claim wrote its row, so no attempt has touched it: this batch places it
    adapter: BrokerAdapter | None = None
    slot: bool = False  # its account's rate limit let it through already
    broker_order_id: str = ""
    placed_at: datetime | None = None
    error: Exception | None = None  # why it was not placed (a broker's answer, or a bug)


def execute_triggers(*, triggers: Iterable[schedules.Trigger]) -> list[str]:
    """Runs the triggers the beat claimed for one instant, as `execute_trigger` would one by one,
    but with the BUYs reaching their brokers together; returns the ids of the BUY orders it
    placed, which still need `settle_entries` (their fills, runs, protective stops and tracking).

    The BUYs whose strategy nobody holds are locked together (one Redis round trip); under those
    locks their runs are claimed (none -> buy_pending) and their pending rows written (two
    statements, returning what placing needs); their accounts' rate-limit slots are taken in one
    script call; paper orders are placed in one pipeline, other brokers' on `BATCH_THREADS`
    threads; the acks are recorded in one UPDATE. Every other trigger (a SELL, a strategy locked
    elsewhere, a run found claimed by an earlier delivery, a strategy with two triggers here)
    takes the single path, so a redelivered batch does exactly what a redelivered trigger does."""
    triggers = list(triggers)
    per_strategy = Counter(t.strategy_id for t in triggers)
    # A strategy with two triggers here (a BUY and its SELL, overdue) runs them in order, alone.
    buys = {
        str(_pk(t.strategy_id)): t for t in triggers if t.event == Order.Event.BUY and per_strategy[t.strategy_id] == 1
    }
    held = locks.take_free_locks(buys)
    placed: list[_Entry] = []
    try:
        entries = _claim_buys(buys, held)
        claimed = {buys[entry.strategy_id] for entry in entries}
        # The others' locks go at once: the single path takes its own.
        unclaimed = {
            strategy_id: held.pop(strategy_id) for strategy_id in list(held) if buys[strategy_id] not in claimed
        }
        locks.release_locks(unclaimed)
        single = [t for t in triggers if t not in claimed]

        def work(group: list[schedules.Trigger] | None) -> list[_Entry]:
            if group is None:
                return _place_entries(entries)
            for trigger in group:
                _run_single(trigger)
            return []

        placed = _in_threads([None, *_by_strategy(single)], work)[0] or []
        _record_acks(placed)
    finally:
        locks.release_locks(held)
    return [entry.order_id for entry in placed]


def settle_entries(*, order_ids: Iterable[object]) -> list[str]:
    """Finishes the BUYs `execute_triggers` placed: asks each broker where its order stands and
    records it (the run moves to bought, the protective stop is placed, the user is told);
    returns the ids of those that are not final yet, for tracking."""
    order_ids = list(order_ids)
    finals = _in_threads(order_ids, lambda order_id: track_order(order_id=order_id))
    for strategy_id in Order.objects.filter(pk__in=order_ids).values_list("strategy_id", flat=True):
        events.notify_strategy(strategy_id)
    return [str(order_id) for order_id, final in zip(order_ids, finals, strict=True) if final is not True]


def _by_strategy(triggers: list[schedules.Trigger]) -> list[list[schedules.Trigger]]:
    """The single-path triggers grouped per strategy, each group run in order on one thread:
    a BUY before a SELL of the same strategy, as their instants are."""
    groups: dict[str, list[schedules.Trigger]] = {}
    for trigger in sorted(triggers, key=lambda t: t.event != Order.Event.BUY):
        groups.setdefault(trigger.strategy_id, []).append(trigger)
    return list(groups.values())


def _claim_buys(buys: dict[str, schedules.Trigger], held: dict[str, str]) -> list[_Entry]:
    """Claims the runs of the locked `buys` that are `none` (or not there yet) for a running
    strategy, and writes their pending BUY rows: the batch form of `_move` and `_order_for`, in
    two statements that return what placing needs, not models. A new row is written with its
    first attempt counted (under the lock, as `_place_once` counts one before placing)."""
    if not held:
        return []
    quote = connection.ops.quote_name
    runs, strategies = quote(StrategyRun._meta.db_table), quote(Strategy._meta.db_table)
    accounts, orders = quote(BrokerAccount._meta.db_table), quote(Order._meta.db_table)
    now = timezone.now()
    wanted = [{"strategy_id": strategy_id, "day": buys[strategy_id].session_date} for strategy_id in held]
    with connection.cursor() as cursor:
        # The unique (strategy, session_date) makes a concurrent trigger share these runs: a new
        # run is written claimed, an existing one is claimed only from `none`.
        cursor.execute(
            f"WITH claimed AS (INSERT INTO {runs} AS run "  # noqa: S608
            "(strategy_id, session_date, position, entry_order_id, exit_order_id, exit_reason, created_at, updated_at) "
            f"SELECT s.id, v.day, %s, '', '', '', %s, %s FROM json_to_recordset(%s) AS v(strategy_id uuid, day date) "
            f"JOIN {strategies} AS s ON s.id = v.strategy_id AND s.status = %s "
            "ON CONFLICT (strategy_id, session_date) DO UPDATE SET position = EXCLUDED.position, "
            "updated_at = EXCLUDED.updated_at WHERE run.position = %s RETURNING run.id, run.strategy_id) "
            "SELECT claimed.id, s.id::text, s.user_id::text, s.symbol, s.exchange, s.quantity, s.product, "
            f"a.id::text, a.broker, a.client_id FROM claimed JOIN {strategies} AS s ON s.id = claimed.strategy_id "
            f"JOIN {accounts} AS a ON a.id = s.broker_account_id",
            [Position.BUY_PENDING, now, now, json.dumps(wanted), Strategy.Status.RUNNING, Position.NONE],
        )
        rows = cursor.fetchall()
        if not rows:
            return []
        entries, values = [], []
        for run_id, strategy_id, user_id, symbol, exchange, quantity, product, account_id, broker, client_id in rows:
            trigger, tag, order_id = buys[strategy_id], order_tag(run_id, Order.Event.BUY), str(uuid.uuid4())
            request: OrderRequest | None = None
            error: Exception | None = None
            try:
                request = OrderRequest(
                    symbol=symbol,
                    exchange=exchange,
                    side=Side.BUY,
                    quantity=quantity,
                    order_type=OrderType.MARKET,
                    tag=tag,
                    product=product,
                    algo_id=settings.ALGO_ID,
                )
            except BrokerRejected as rejected:
                error = rejected
            entries.append(
                _Entry(
                    strategy_id=strategy_id,
                    run_id=run_id,
                    order_id=order_id,
                    account_id=account_id,
                    broker=broker,
                    client_id=client_id,
                    requested_at=datetime.fromisoformat(trigger.scheduled_at),
                    request=request,
                    fresh=True,
                    error=error,
                )
            )
            values.append(
                {
                    "id": order_id,
                    "user_id": user_id,
                    "strategy_id": strategy_id,
                    "run_id": run_id,
                    "account_id": account_id,
                    "symbol": symbol,
                    "exchange": exchange,
                    "quantity": quantity,
                    "tag": tag,
                    "requested_at": trigger.scheduled_at,
                }
            )
        user_type = Order._meta.get_field("user").target_field.db_type(connection)
        # A run claimed again after a BUY that never reached the broker keeps its row, as in
        # _order_for: that row is not written here, and goes the single path's way.
        cursor.execute(
            f"INSERT INTO {orders} (id, user_id, strategy_id, run_id, broker_account_id, event, side, symbol, "  # noqa: S608
            "exchange, quantity, order_type, status, broker_order_id, tag, attempts, requested_at, raw_response, "
            "error, needs_attention, created_at, updated_at) "
            f"SELECT v.id, v.user_id::{user_type}, v.strategy_id, v.run_id, v.account_id, %s, %s, v.symbol, "
            "v.exchange, v.quantity, %s, %s, '', v.tag, 1, v.requested_at, '{}', '', false, %s, %s "
            "FROM json_to_recordset(%s) AS v(id uuid, user_id text, strategy_id uuid, run_id bigint, "
            "account_id uuid, symbol text, exchange text, quantity integer, tag text, requested_at timestamptz) "
            "ON CONFLICT DO NOTHING RETURNING id::text",
            [
                Order.Event.BUY,
                Side.BUY.value,
                OrderType.MARKET.value,
                Order.Status.PENDING,
                now,
                now,
                json.dumps(values),
            ],
        )
        written = {row[0] for row in cursor.fetchall()}
    kept = [entry for entry in entries if entry.order_id not in written]
    if kept:
        existing = dict(
            Order.objects.filter(run_id__in=[entry.run_id for entry in kept], event=Order.Event.BUY).values_list(
                "run_id", "pk"
            )
        )
        for entry in kept:
            entry.order_id, entry.fresh = str(existing[entry.run_id]), False
    return entries


def _pk(strategy_id: object) -> object:
    return Strategy._meta.pk.to_python(strategy_id)


def _run_single(trigger: schedules.Trigger) -> None:
    try:
        execute_trigger(
            strategy_id=trigger.strategy_id,
            event=trigger.event,
            session_date=date.fromisoformat(trigger.session_date),
            scheduled_at=datetime.fromisoformat(trigger.scheduled_at),
        )
    except LockBusy:
        # Its own message, retried like any trigger whose strategy is busy.
        from execution.tasks import execute_trigger_task

        execute_trigger_task.delay(*trigger.args)


def _place_entries(entries: list[_Entry]) -> list[_Entry]:
    """Places the claimed BUYs: every account's rate-limit slot in one script call, the paper
    orders in one pipeline, the rest (other brokers, an account over its limit) on threads, each
    as a single BUY is placed; settles every outcome but an ack as the single path does. Returns
    the acknowledged entries, whose acks are still to be recorded."""
    ready = [entry for entry in entries if entry.fresh and entry.error is None]
    for entry, wait_ms in zip(ready, take_order_slots([entry.account_id for entry in ready]), strict=True):
        entry.slot = wait_ms == 0
    others = {entry.account_id for entry in ready if entry.broker != BrokerAccount.Broker.PAPER}
    accounts = BrokerAccount.objects.in_bulk(others) if others else {}
    for entry in ready:
        try:
            # A paper account's only credential is its client id: no key to decrypt.
            entry.adapter = (
                get_adapter(entry.broker, Credentials(client_id=entry.client_id))
                if entry.broker == BrokerAccount.Broker.PAPER
                else accounts[_account_pk(entry.account_id)].adapter()
            )
        except Exception as error:
            entry.error = error
    paper = [entry for entry in ready if entry.slot and entry.error is None and isinstance(entry.adapter, PaperBroker)]
    if paper:
        outcomes = place_paper_orders([(entry.adapter, entry.request) for entry in paper])
        acked_at = timezone.now()
        for entry, outcome in zip(paper, outcomes, strict=True):
            if isinstance(outcome, Exception):
                entry.error = outcome
            else:
                entry.broker_order_id, entry.placed_at = outcome, acked_at
    _in_threads([entry for entry in entries if entry.placed_at is None], _place_entry)
    return [entry for entry in entries if entry.placed_at is not None]


def _account_pk(account_id: str) -> object:
    return BrokerAccount._meta.pk.to_python(account_id)


def _place_entry(entry: _Entry) -> bool:
    """Places a claimed BUY that the paper pipeline did not, under its strategy's lock (kept until
    the batch's acks are recorded); True when the broker acknowledged it here. Any other outcome
    is settled here, as the single path does."""
    if entry.fresh and entry.error is None:
        try:
            if not entry.slot:
                wait_for_order_slot(entry.account_id)
            entry.broker_order_id = entry.adapter.place_order(entry.request)  # type: ignore[union-attr, arg-type]
            entry.placed_at = timezone.now()
            return True
        except BrokerError as error:
            entry.error = error
    _settle_unplaced(entry)
    return False


def _settle_unplaced(entry: _Entry) -> None:
    """Settles a claimed BUY the broker did not acknowledge, as `execute_trigger` settles one."""
    error = entry.error
    if entry.fresh and not isinstance(error, BrokerError):
        # Not the broker's answer (a bug): logged by _in_threads; the run stays claimed, its row
        # pending, for reconciliation to look up, as when the single path raises.
        raise error or AssertionError("an unplaced entry without an error")
    order = Order.objects.select_related("run", "strategy__broker_account").get(pk=entry.order_id)
    run, strategy = order.run, order.strategy
    status: OrderStatus | None
    if not entry.fresh:
        # Only a row no attempt had touched is placed by the batch; any other (an earlier
        # delivery's, the single path's) goes the single path's way, which looks its tag up first.
        status = _drive(order, strategy)
    elif isinstance(error, BrokerRejected):
        status = OrderStatus(
            order_id="",
            state=OrderState.REJECTED,
            message=error.message,
            raw=error.raw if isinstance(error.raw, dict) else {},
        )
    elif isinstance(error, BrokerAuthError):
        _fail_order(order, error, attention=False)
        _hold_account(strategy.broker_account, error)
        status = None
    else:
        logger.warning("order %s attempt %s: %s", order.pk, order.attempts, error.message)
        time.sleep(RETRY_BACKOFF_SECONDS[0])
        # The remaining attempts, each after looking the tag up, as _place_once makes them.
        status = _drive(order, strategy)
    if status is None:
        _move(run, Position.BUY_PENDING, Position.NONE)
    else:
        _settle_entry(order, run, strategy, status)
    events.notify_strategy(strategy.pk)


def _record_acks(placed: list[_Entry]) -> None:
    """The batch's acks in one UPDATE, as `_acknowledged` records one: `placed_at` is each one's
    own ack instant, and a row that already names its broker order is left as it is."""
    if not placed:
        return
    acks = [
        {
            "id": entry.order_id,
            "broker_order_id": entry.broker_order_id,
            "placed_at": entry.placed_at.isoformat(),  # type: ignore[union-attr]
            "latency_ms": max(0, round((entry.placed_at - entry.requested_at).total_seconds() * 1000)),  # type: ignore[operator]
            "unset": "",
        }
        for entry in placed
    ]
    table = connection.ops.quote_name(Order._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            # `= v.unset` (always ''), not `= ''`: the statistics say almost no row has no broker
            # order id, and the planner, trusting them, would join each row against all the acks.
            f"UPDATE {table} AS o SET broker_order_id = v.broker_order_id, placed_at = v.placed_at, "  # noqa: S608
            "latency_ms = v.latency_ms, updated_at = v.placed_at FROM json_to_recordset(%s) "
            "AS v(id uuid, broker_order_id text, placed_at timestamptz, latency_ms integer, unset text) "
            "WHERE o.id = v.id AND o.broker_order_id = v.unset",
            [json.dumps(acks)],
        )


def _in_threads(items: list[T], work: Callable[[T], R]) -> list[R | None]:
    """work(item) for every item, on up to BATCH_THREADS threads. Each thread hands its database
    connection back to the pool after every item: the pool (DATABASE_POOL_SIZE, 10 by default)
    is smaller than BATCH_THREADS, and a thread keeping its connection until it ran out of
    items would leave the others waiting on the pool. An item whose work raises is logged and
    gives None: one strategy's failure does not stop the others."""
    if len(items) <= 1:
        return [_logged(work, item) for item in items]
    results: list[R | None] = [None] * len(items)
    pending = iter(enumerate(items))
    taking = threading.Lock()

    def lane() -> None:
        while True:
            with taking:
                index, item = next(pending, (None, None))
            if index is None:
                return
            results[index] = _logged(work, item)  # never raises
            connections.close_all()

    threads = [threading.Thread(target=lane, daemon=True) for _ in range(min(BATCH_THREADS, len(items)))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def _logged(work: Callable[[T], R], item: T) -> R | None:
    try:
        return work(item)
    except Exception:
        logger.exception("batch: %r failed", item)
        return None


def exit_position(
    *, run_id: object = None, strategy_id: object = None, reason: str, requested_at: datetime | None = None
) -> Order | None:
    """Closes a position: cancels the protective stop, then sells at market. `run_id` names the
    run; the tick worker, which knows only the strategy whose stop-loss it hit, gives
    `strategy_id` and its open run is closed. One exit per position whatever races (stop-loss
    tick, SELL trigger, stop, kill switch): the first to claim bought -> exit_pending exits, the
    rest find the exit done or in flight and do nothing. Returns the exit order, if this call
    made one."""
    requested_at = requested_at or timezone.now()
    if strategy_id is None:
        strategy_id = StrategyRun.objects.filter(pk=run_id).values_list("strategy_id", flat=True).first()
        if strategy_id is None:
            return None
    with strategy_lock(strategy_id):
        runs = StrategyRun.objects.select_related("strategy__broker_account")
        if run_id is not None:
            run = runs.filter(pk=run_id).first()
        else:
            run = runs.filter(strategy_id=strategy_id, position__in=(Position.BOUGHT, Position.EXIT_PENDING)).first()
        if run is None:
            return None
        strategy = run.strategy
        # All of the run's orders in one query (one per event at most): the exit, the stop.
        orders = {order.event: order for order in run.orders.all()}
        live = {event: order for event, order in orders.items() if order.status in Order.LIVE_STATUSES}
        existing = next((live[event] for event in Order.EXIT_EVENTS if event in live), None)
        if existing is None and run.position == Position.BOUGHT:
            if not _move(run, Position.BOUGHT, Position.EXIT_PENDING):
                return None
        elif run.position != Position.EXIT_PENDING:
            return None  # nothing held, or the exit already settled
        if existing is not None and existing.status != Order.Status.PENDING:
            # Another exit reached the broker: finish recording it if a crash interrupted that.
            if existing.status == Order.Status.COMPLETE:
                _settle_exit(existing, run, strategy, _status_of_row(existing))
            return None
        if existing is None:
            stop = live.get(Order.Event.PROTECTIVE_STOP)
            try:
                if stop is not None and _cancel_protective_stop(run, strategy, stop):
                    return None  # the stop filled at the broker: the position is already closed
            except BrokerAuthError as error:
                _move(run, Position.EXIT_PENDING, Position.BOUGHT)
                _hold_account(strategy.broker_account, error)
                return None
            # BrokerUnavailable leaves the run exit_pending and reaches the task, which retries.
            order = _order_for(
                run, strategy, EXIT_EVENTS[reason], OrderType.MARKET, requested_at=requested_at, known=orders
            )
        else:
            order = existing
        status = _drive(order, strategy)
        if status is None:
            # Not sent: the position is still held (its protective stop cancelled; support is flagged).
            _move(run, Position.EXIT_PENDING, Position.BOUGHT)
            return order
        _settle_exit(order, run, strategy, status)
    return order


def place_protective_stop(*, run_id: object) -> Order | None:
    """Rests an SL-M SELL at the stop-loss at the broker for a bought run: a safety net that fires
    even when our feed or workers do not. The BUY places it right after the fill."""
    run = StrategyRun.objects.select_related("strategy__broker_account").get(pk=run_id)
    with strategy_lock(run.strategy_id):
        run.refresh_from_db()
        return _place_protective_stop(run, run.strategy)


def move_protective_stop(*, strategy_id: object) -> Order | None:
    """After the user changed the stop-loss of an open position, modifies the resting stop at
    the broker in place (same order, new trigger): cancelling and placing a new one would
    leave a window with no stop at all. Returns the stop, or None when none rests."""
    strategy = Strategy.objects.select_related("broker_account").get(pk=strategy_id)
    with strategy_lock(strategy.pk):
        stop = (
            Order.objects.filter(
                strategy=strategy,
                event=Order.Event.PROTECTIVE_STOP,
                status=Order.Status.PLACED,
                run__position=Position.BOUGHT,
            )
            .select_related("run")
            .first()
        )
        if stop is None or stop.trigger_price == strategy.stop_loss:
            return stop
        adapter = strategy.broker_account.adapter()
        try:
            wait_for_order_slot(strategy.broker_account_id)
            _with_retries(lambda: adapter.modify_order(stop.broker_order_id, trigger_price=strategy.stop_loss))
        except BrokerError as error:
            # The old stop still rests: the position stays protected, at the old level.
            _flag(stop, f"The protective stop could not be moved to {strategy.stop_loss}: {error.message}")
            return stop
        previous = stop.trigger_price
        with transaction.atomic():
            Order.objects.filter(pk=stop.pk).update(trigger_price=strategy.stop_loss, updated_at=timezone.now())
            stop.trigger_price = strategy.stop_loss
            record_event(
                strategy=strategy,
                actor=None,
                kind=StrategyEvent.Kind.UPDATED,
                run=stop.run,
                data={"protective_stop": [str(previous), str(strategy.stop_loss)]},
            )
            events.notify_order(stop)
    return stop


def _place_protective_stop(run: StrategyRun, strategy: Strategy) -> Order | None:
    if run.position != Position.BOUGHT:
        return None
    stop = _order_for(
        run,
        strategy,
        Order.Event.PROTECTIVE_STOP,
        OrderType.SL_M,
        requested_at=timezone.now(),
        trigger_price=strategy.stop_loss,
    )
    if stop.status != Order.Status.PENDING:
        return stop
    status = _drive(stop, strategy, fails_strategy=False)
    if status is not None:
        _settle_protective_stop(stop, run, strategy, status)
    return stop


def track_order(*, order_id: object) -> bool:
    """Asks the broker where an order stands and records it; True once it is final (or gone).
    An accepted order can still be rejected by the broker's risk system: that is recorded and
    told to the user like any rejection."""
    order = Order.objects.select_related("run", "strategy__broker_account").filter(pk=order_id).first()
    if order is None or order.is_settled:
        return True
    with strategy_lock(order.strategy_id):
        order.refresh_from_db()
        if order.is_settled:
            return True
        adapter = order.strategy.broker_account.adapter()
        try:
            if order.status == Order.Status.PENDING:
                # Never place from here: a pending row is the placing worker's, or reconciliation's.
                status = _adopt(adapter, order)
                if status is None:
                    return False
            else:
                status = adapter.order_status(order.broker_order_id)
        except BrokerUnavailable:
            return False
        except BrokerAuthError as error:
            _hold_account(order.strategy.broker_account, error)
            return True
        _settle(order, status)
        return status.state.is_final


# --- Reconciliation and the kill switch -----------------------------------------------------


def reconcile_account(*, account: BrokerAccount) -> dict[str, int]:
    """Compares the account's open runs with the broker's orders (by tag) and positions.
    Where the broker is right our state follows it (an unsettled order found complete, a
    protective stop that filled); what cannot be settled that way is flagged `needs_attention`."""
    fixed = flagged = 0
    adapter = account.adapter()
    orders = Order.objects.filter(broker_account=account, run__position__in=StrategyRun.OPEN_POSITIONS).filter(
        status__in=(Order.Status.PENDING, Order.Status.PLACED)
    )
    for order in orders.select_related("run", "strategy"):
        with strategy_lock(order.strategy_id):
            order.refresh_from_db()
            if order.is_settled:
                continue
            try:
                status = _adopt(adapter, order)
            except BrokerAuthError as error:
                _hold_account(account, error)
                return {"fixed": fixed, "flagged": flagged}
            if status is None:
                if order.status == Order.Status.PLACED:
                    flagged += _flag(order, "The broker has no order with this tag.")
                continue  # a pending row unknown at the broker is a placement in progress or lost
            before = order.status
            _settle(order, status)
            fixed += order.status != before
    flagged += _flag_position_mismatches(account, adapter)
    return {"fixed": fixed, "flagged": flagged}


def premarket_check() -> dict[str, int]:
    """Before the market opens, asks each broker account that running strategies need today
    whether its session still works. An expired one is marked, its strategies are held and
    the user is told now, instead of the BUY failing at 09:30."""
    checked = held = 0
    accounts = BrokerAccount.objects.filter(
        strategies__status=Strategy.Status.RUNNING, strategies__deleted_at__isnull=True
    ).distinct()
    for account in accounts:
        checked += 1
        try:
            account.adapter().validate()
        except BrokerAuthError as error:
            _hold_account(account, error)
            held += 1
        except BrokerError as error:  # unreachable now; the order path retries at the trigger
            logger.warning("pre-market check could not reach %s: %s", account.broker, error.message)
    return {"checked": checked, "held": held}


def kill_switch(*, user: User | None = None, actor: User | None = None) -> dict[str, int]:
    """Stops every active strategy (of `user`, or everyone's) and exits every open position
    through the stop-loss queue, where exits never wait behind other work."""
    from execution.tasks import exit_position_task

    strategies = Strategy.objects.active()
    if user is not None:
        strategies = strategies.filter(user=user)
    stopped = exits = 0
    for strategy in strategies.select_related("broker_account"):
        run = strategy.latest_run()
        if run is not None and run.position in StrategyRun.OPEN_POSITIONS:
            # Queued before the stop's own manual exit, so the order is recorded as the kill switch's.
            transaction.on_commit(lambda run_id=str(run.pk): exit_position_task.delay(run_id, KILL))
            exits += 1
        try:
            strategy_stop(strategy=strategy, actor=actor)
        except ApiError:
            continue  # it ended meanwhile
        stopped += 1
    return {"stopped": stopped, "exits": exits}


# --- Placing an order exactly once ---------------------------------------------------------


def _move(run: StrategyRun, current: str, new: str) -> bool:
    """The claim: moves the run from `current` to `new` only if it is still at `current`."""
    moved = StrategyRun.objects.filter(pk=run.pk, position=current).update(position=new, updated_at=timezone.now())
    if moved:
        run.position = new
        events.notify_strategy(run.strategy_id)
    return moved == 1


def _order_for(
    run: StrategyRun,
    strategy: Strategy,
    event: str,
    order_type: OrderType,
    *,
    requested_at: datetime,
    trigger_price: Decimal | None = None,
    known: dict[str, Order] | None = None,
) -> Order:
    """The (run, event) order row, written `pending` before the broker hears of it. `known`: the
    run's orders by event, when the caller (outside any transaction) has just read them all:
    a missing one is then inserted without being looked for first."""
    fields = {
        "user_id": strategy.user_id,
        "strategy": strategy,
        "broker_account_id": strategy.broker_account_id,
        "side": Side.BUY if event == Order.Event.BUY else Side.SELL,
        "symbol": strategy.symbol,
        "exchange": strategy.exchange,
        "quantity": strategy.quantity,
        "order_type": order_type.value,
        "trigger_price": trigger_price,
        "tag": order_tag(run.pk, event),
        "requested_at": requested_at,
    }
    if known is not None:
        if event in known:
            return known[event]
        try:
            return Order.objects.create(run=run, event=event, **fields)
        except IntegrityError:
            pass  # written meanwhile by a holder of an expired lock: use that row
    order, _ = Order.objects.get_or_create(run=run, event=event, defaults=fields)
    return order


def _order_request(order: Order, strategy: Strategy) -> OrderRequest:
    return OrderRequest(
        symbol=order.symbol,
        exchange=order.exchange,
        side=Side(order.side),
        quantity=order.quantity,
        order_type=OrderType(order.order_type),
        tag=order.tag,
        product=strategy.product,
        trigger_price=order.trigger_price,
        algo_id=settings.ALGO_ID,
    )


def _drive(order: Order, strategy: Strategy, *, fails_strategy: bool = True) -> OrderStatus | None:
    """Where `order` stands at the broker, placing it first if it never got there.

    None when it could not be placed at all: the order is then `failed` and the strategy
    failed or held, and the caller leaves the run's position alone (or gives it back)."""
    if order.status != Order.Status.PENDING:
        return _status_of_row(order)
    adapter = strategy.broker_account.adapter()
    try:
        return _place_once(order, strategy, adapter)
    except BrokerRejected as error:
        return OrderStatus(
            order_id=order.broker_order_id,
            state=OrderState.REJECTED,
            message=error.message,
            raw=error.raw if isinstance(error.raw, dict) else {},
        )
    except BrokerAuthError as error:
        _fail_order(order, error, attention=False)
        _hold_account(strategy.broker_account, error)
    except BrokerUnavailable as error:
        # After every attempt the broker may still have taken one: reconciliation looks it up.
        _fail_order(order, error, attention=True)
        if fails_strategy:
            _fail_strategy(strategy, order, f"The broker could not be reached: {error.message}")
    return None


def _place_once(order: Order, strategy: Strategy, adapter: BrokerAdapter) -> OrderStatus:
    request = _order_request(order, strategy)
    last_error: BrokerUnavailable | None = None
    for pause in (0, *RETRY_BACKOFF_SECONDS):
        time.sleep(pause)
        try:
            if order.attempts:
                # An earlier attempt (ours, or a worker's that died) may have reached the broker.
                found = _adopt(adapter, order)
                if found is not None:
                    return found
            if order.attempts >= MAX_ATTEMPTS:
                break
            Order.objects.filter(pk=order.pk).update(attempts=F("attempts") + 1, updated_at=timezone.now())
            order.attempts += 1
            wait_for_order_slot(order.broker_account_id)
            broker_order_id = adapter.place_order(request)
        except BrokerUnavailable as error:
            logger.warning("order %s attempt %s: %s", order.pk, order.attempts, error.message)
            last_error = error
            continue
        _acknowledged(order, broker_order_id)
        try:
            return adapter.order_status(broker_order_id)
        except BrokerUnavailable:
            # Placed; its fill is learnt by tracking.
            return OrderStatus(order_id=broker_order_id, state=OrderState.OPEN)
    raise last_error or BrokerUnavailable("No attempt left for this order.")


def _adopt(adapter: BrokerAdapter, order: Order) -> OrderStatus | None:
    """The broker's order carrying `order`'s tag, preferring one that was not rejected."""
    found = adapter.orders_by_tag(order.tag)
    if not found:
        return None
    alive = [status for status in found if status.state != OrderState.REJECTED]
    status = (alive or found)[0]
    _acknowledged(order, status.order_id)
    return status


def _acknowledged(order: Order, broker_order_id: str) -> None:
    """Records the broker's ack at once, so that a crash before the outcome is recorded leaves a
    row that names the broker's order."""
    if order.broker_order_id:
        return
    now = timezone.now()
    latency_ms = max(0, round((now - order.requested_at).total_seconds() * 1000))
    Order.objects.filter(pk=order.pk).update(
        broker_order_id=broker_order_id, placed_at=now, latency_ms=latency_ms, updated_at=now
    )
    order.broker_order_id, order.placed_at, order.latency_ms = broker_order_id, now, latency_ms
    events.notify_order(order)


def _status_of_row(order: Order) -> OrderStatus:
    state = {
        Order.Status.COMPLETE: OrderState.COMPLETE,
        Order.Status.REJECTED: OrderState.REJECTED,
        Order.Status.CANCELLED: OrderState.CANCELLED,
        Order.Status.FAILED: OrderState.REJECTED,
    }.get(order.status, OrderState.OPEN)
    return OrderStatus(order_id=order.broker_order_id, state=state, average_price=order.average_price)


def _record_status(order: Order, status: OrderStatus) -> None:
    order.status = _ORDER_STATUS[status.state]
    order.broker_order_id = order.broker_order_id or status.order_id
    if status.average_price is not None:
        order.average_price = status.average_price
    if status.raw:
        order.raw_response = status.raw
    if status.state in (OrderState.REJECTED, OrderState.CANCELLED) and status.message:
        order.error = status.message
    order.save(update_fields=["status", "broker_order_id", "average_price", "raw_response", "error", "updated_at"])
    events.notify_order(order)


def _with_retries(call: Callable[[], T]) -> T:
    """An idempotent broker call (a cancel, a status), retried on transient failures."""
    for attempt, pause in enumerate((0, *RETRY_BACKOFF_SECONDS)):
        time.sleep(pause)
        try:
            return call()
        except BrokerUnavailable:
            if attempt == len(RETRY_BACKOFF_SECONDS):
                raise
    raise AssertionError("unreachable")


# --- Recording outcomes --------------------------------------------------------------------


def _settle(order: Order, status: OrderStatus) -> None:
    run, strategy = order.run, order.strategy
    if order.event == Order.Event.BUY:
        _settle_entry(order, run, strategy, status)
    elif order.event == Order.Event.PROTECTIVE_STOP:
        _settle_protective_stop(order, run, strategy, status)
    else:
        _settle_exit(order, run, strategy, status)


def _settle_entry(order: Order, run: StrategyRun, strategy: Strategy, status: OrderStatus) -> None:
    if status.state == OrderState.COMPLETE:
        with transaction.atomic():
            _record_status(order, status)
            moved = StrategyRun.objects.filter(pk=run.pk, position=Position.BUY_PENDING).update(
                position=Position.BOUGHT,
                entry_price=order.average_price,
                entry_order_id=order.broker_order_id,
                updated_at=timezone.now(),
            )
            if moved:
                record_event(strategy=strategy, actor=None, kind=StrategyEvent.Kind.BUY, run=run, data=_describe(order))
        run.refresh_from_db()
        runtime.record_run(strategy, run, last_action="BUY")
        if moved:
            _place_protective_stop(run, strategy)
    elif status.state in (OrderState.REJECTED, OrderState.CANCELLED):
        with transaction.atomic():
            _record_status(order, status)
            StrategyRun.objects.filter(pk=run.pk, position=Position.BUY_PENDING).update(
                position=Position.NONE, updated_at=timezone.now()
            )
        _fail_strategy(strategy, order, f"The broker rejected the BUY: {order.error}")
    else:
        _record_status(order, status)
        _enqueue_tracking(order)


def _settle_exit(order: Order, run: StrategyRun, strategy: Strategy, status: OrderStatus) -> None:
    if status.state == OrderState.COMPLETE:
        reason = {Order.Event.STOPLOSS: ExitReason.STOPLOSS, Order.Event.KILL: ExitReason.MANUAL}.get(
            order.event, ExitReason.SELL_TIME
        )
        _record_exit(order, run, strategy, status, reason=reason)
    elif status.state in (OrderState.REJECTED, OrderState.CANCELLED):
        with transaction.atomic():
            _record_status(order, status)
            Order.objects.filter(pk=order.pk).update(needs_attention=True)
            # The position is still held at the broker, and now without its stop: support must act.
            StrategyRun.objects.filter(pk=run.pk, position=Position.EXIT_PENDING).update(
                position=Position.BOUGHT, updated_at=timezone.now()
            )
        _fail_strategy(strategy, order, f"The broker rejected the exit: {order.error}")
    else:
        _record_status(order, status)
        _enqueue_tracking(order)


def _settle_protective_stop(order: Order, run: StrategyRun, strategy: Strategy, status: OrderStatus) -> None:
    if status.state == OrderState.COMPLETE:
        _record_exit(order, run, strategy, status, reason=ExitReason.STOPLOSS)
        return
    _record_status(order, status)
    if status.state == OrderState.REJECTED:
        # The tick worker still watches the stop-loss; the user should know the broker holds no stop.
        record_event(
            strategy=strategy, actor=None, kind=ORDER_REJECTED, run=run, data={**_describe(order), "error": order.error}
        )


def _record_exit(
    order: Order, run: StrategyRun, strategy: Strategy, status: OrderStatus, *, reason: ExitReason
) -> None:
    with transaction.atomic():
        _record_status(order, status)
        run.refresh_from_db()
        price = order.average_price
        pnl = (price - run.entry_price) * order.quantity if price is not None and run.entry_price is not None else None
        moved = StrategyRun.objects.filter(pk=run.pk, position__in=(Position.BOUGHT, Position.EXIT_PENDING)).update(
            position=Position.EXITED,
            exit_price=price,
            exit_order_id=order.broker_order_id,
            exit_reason=reason,
            realised_pnl=pnl,
            updated_at=timezone.now(),
        )
        completed = False
        if moved:
            kind = StrategyEvent.Kind.STOPLOSS if reason == ExitReason.STOPLOSS else StrategyEvent.Kind.SELL
            record_event(strategy=strategy, actor=None, kind=kind, run=run, data={**_describe(order), "pnl": str(pnl)})
            if strategy.recurrence == Strategy.Recurrence.ONCE:
                completed = (
                    Strategy.objects.filter(pk=strategy.pk, status=Strategy.Status.RUNNING).update(
                        status=Strategy.Status.COMPLETED, updated_at=timezone.now()
                    )
                    == 1
                )
                if completed:
                    record_event(strategy=strategy, actor=None, kind=StrategyEvent.Kind.COMPLETED, run=run)
    run.refresh_from_db()
    strategy.refresh_from_db(fields=["status"])
    if completed or strategy.status != Strategy.Status.RUNNING:
        runtime.deactivate(strategy)
    else:
        runtime.record_run(strategy, run, last_action=order.event)
        if strategy.recurrence == Strategy.Recurrence.DAILY:
            schedules.arm_next_session(strategy)


def _cancel_protective_stop(run: StrategyRun, strategy: Strategy, stop: Order) -> bool:
    """Cancels the run's resting stop before the exit, so the two can never both sell. True when
    the stop had already filled: the position is closed and recorded, and no exit is sent."""
    adapter = strategy.broker_account.adapter()
    if stop.status == Order.Status.PENDING and _with_retries(lambda: _adopt(adapter, stop)) is None:
        # It never reached the broker: nothing rests there.
        Order.objects.filter(pk=stop.pk).update(status=Order.Status.CANCELLED, updated_at=timezone.now())
        return False
    if stop.status == Order.Status.COMPLETE:
        _record_exit(stop, run, strategy, _status_of_row(stop), reason=ExitReason.STOPLOSS)
        return True
    # No order slot is taken: the 10/s limit counts placements, and a cancel delayed by
    # it would delay the exit behind it.
    try:
        _with_retries(lambda: adapter.cancel_order(stop.broker_order_id))
    except BrokerRejected:
        # Already final at the broker (filled, or cancelled elsewhere): ask how it ended.
        status = _with_retries(lambda: adapter.order_status(stop.broker_order_id))
        if status.state == OrderState.COMPLETE:
            _record_exit(stop, run, strategy, status, reason=ExitReason.STOPLOSS)
            return True
    else:
        # The broker took the cancel: the stop can no longer fill, so it is not asked again.
        status = OrderStatus(order_id=stop.broker_order_id, state=OrderState.CANCELLED)
    _record_status(stop, status)
    return False


# --- Failures --------------------------------------------------------------------------------


def _fail_order(order: Order, error: BrokerError, *, attention: bool) -> None:
    order.status, order.error, order.needs_attention = Order.Status.FAILED, error.message, attention
    order.save(update_fields=["status", "error", "needs_attention", "updated_at"])
    events.notify_order(order)


def _fail_strategy(strategy: Strategy, order: Order, message: str) -> None:
    """Ends the strategy: nothing more is sent for it until the user looks."""
    with transaction.atomic():
        failed = Strategy.objects.filter(pk=strategy.pk, status__in=Strategy.ACTIVE_STATUSES).update(
            status=Strategy.Status.FAILED, updated_at=timezone.now()
        )
        if failed:
            record_event(
                strategy=strategy,
                actor=None,
                kind=StrategyEvent.Kind.FAILED,
                run=order.run,
                data={**_describe(order), "error": message},
            )
    if failed:
        runtime.deactivate(strategy)


def _hold_account(account: BrokerAccount, error: BrokerAuthError) -> None:
    """The broker session expired: the account is marked so, and the account's running strategies
    are held, i.e. stopped by the system. A held strategy can be started again once the user
    reconnects; failing it would not let them."""
    account.mark(BrokerAccount.Status.EXPIRED, error.message)
    for strategy in Strategy.objects.alive().filter(broker_account=account, status=Strategy.Status.RUNNING):
        with transaction.atomic():
            held = Strategy.objects.filter(pk=strategy.pk, status=Strategy.Status.RUNNING).update(
                status=Strategy.Status.STOPPED, updated_at=timezone.now()
            )
            if held:
                record_event(
                    strategy=strategy,
                    actor=None,
                    kind=StrategyEvent.Kind.STOPPED,
                    data={"reason": "broker_session_expired", "error": error.message},
                )
        if held:
            runtime.deactivate(strategy)
            schedules.disarm(strategy)


def _flag(order: Order, message: str) -> int:
    if order.needs_attention:
        return 0
    Order.objects.filter(pk=order.pk).update(needs_attention=True, updated_at=timezone.now())
    record_event(
        strategy=order.strategy,
        actor=None,
        kind=NEEDS_ATTENTION,
        run=order.run,
        data={**_describe(order), "why": message},
    )
    return 1


def _flag_position_mismatches(account: BrokerAccount, adapter: BrokerAdapter) -> int:
    """Runs we hold as bought whose symbol the broker holds less of (closed by hand, say)."""
    bought = StrategyRun.objects.filter(strategy__broker_account=account, position=Position.BOUGHT).select_related(
        "strategy"
    )
    if not bought:
        return 0
    held = {(p.exchange, p.symbol): p.quantity for p in adapter.positions()}
    flagged = 0
    for run in bought:
        strategy = run.strategy
        if held.get((strategy.exchange, strategy.symbol), 0) < strategy.quantity:
            entry = run.orders.filter(event=Order.Event.BUY).first()
            if entry is not None:
                flagged += _flag(entry, "The broker holds less of this symbol than the run bought.")
    return flagged


def _describe(order: Order) -> dict[str, str]:
    return {
        "order": str(order.pk),
        "event": order.event,
        "side": order.side,
        "quantity": str(order.quantity),
        "status": order.status,
        "broker_order_id": order.broker_order_id,
        "average_price": "" if order.average_price is None else str(order.average_price),
    }


def _enqueue_tracking(order: Order) -> None:
    # A resting protective stop is not polled all day: the stop-loss tick and reconciliation look.
    if order.event == Order.Event.PROTECTIVE_STOP:
        return
    from execution.tasks import track_order_task

    transaction.on_commit(lambda: track_order_task.apply_async((str(order.pk),), countdown=1))
