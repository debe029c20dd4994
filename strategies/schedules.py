"""Strategy triggers: each running strategy's next BUY and SELL, stored in django-celery-beat
as one-off `PeriodicTask`s with `ClockedSchedule`s (DESIGN.md section 7), and the batch
dispatch the beat scheduler (`algotrader.beat`) runs on every tick.

A trigger row is named `strategy:{id}:{event}:{session_date}`, so arming twice changes
nothing. Besides its clocked time it carries:

    start_time   the same instant, on the row itself: the due query and the claim read one
                 table through one partial index (migration strategies 0005)
    expires      on a BUY, its SELL instant: a BUY found overdue after it is skipped
    total_run_count > 0   the trigger was claimed (fired or skipped); it never fires again

The engine's task is sent by name, so this module does not import `execution.tasks`.
"""

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django_celery_beat.models import ClockedSchedule, PeriodicTask

from strategies.calendar import TradingCalendar, market_calendar
from strategies.models import Strategy, StrategyEvent

logger = logging.getLogger(__name__)

TRIGGER_TASK = "execution.tasks.execute_trigger_task"
# Several triggers due at once travel together, in messages of up to TRIGGER_BATCH_SIZE: each
# worker process takes one and places its BUYs concurrently (execution.services.execute_triggers).
TRIGGER_BATCH_TASK = "execution.tasks.execute_triggers_task"
TRIGGER_BATCH_SIZE = 100
TRIGGER_QUEUE = "orders"
# How far ahead each tick looks: the beat never sleeps longer, so a re-armed time is
# followed within this many seconds.
DISPATCH_HORIZON_SECONDS = 1.0


@dataclass(frozen=True)
class Trigger:
    """One BUY or SELL as the engine's task receives it."""

    strategy_id: str
    event: str
    session_date: str
    scheduled_at: str

    @classmethod
    def from_args(cls, raw: str) -> "Trigger":
        return cls(*json.loads(raw))

    @property
    def args(self) -> list[str]:
        return [self.strategy_id, self.event, self.session_date, self.scheduled_at]


def batches(triggers: list[Trigger]) -> list[list[Trigger]]:
    """The triggers in messages of up to TRIGGER_BATCH_SIZE, a strategy's BUY and SELL together
    (sorted by strategy, so only a batch boundary could part them)."""
    ordered = sorted(triggers, key=lambda t: (t.strategy_id, t.event != "BUY"))
    return [ordered[start : start + TRIGGER_BATCH_SIZE] for start in range(0, len(ordered), TRIGGER_BATCH_SIZE)]


def trigger_name(strategy_id: object, event: str, session_date: date) -> str:
    return f"{_prefix(strategy_id)}{event}:{session_date.isoformat()}"


def _prefix(strategy_id: object) -> str:
    return f"strategy:{strategy_id}:"


def _rows(strategy_id: object) -> "QuerySet[PeriodicTask]":
    """All of a strategy's trigger rows (found through the name-prefix index)."""
    return PeriodicTask.objects.filter(task=TRIGGER_TASK, name__startswith=_prefix(strategy_id))


def arm(
    strategy: Strategy, *, now: datetime | None = None, calendar: TradingCalendar | None = None
) -> dict[str, datetime] | None:
    """Stores the BUY and SELL of the strategy's next session (the first whose SELL is after
    `now`, or the session whose BUY fired and SELL has not) and removes its other triggers;
    returns the instants, or None when the strategy is not running (it is then disarmed).
    Safe to call any number of times."""
    calendar = calendar or market_calendar()
    with transaction.atomic():
        # The row lock orders this against strategy_stop's claim: a stop that committed
        # first is seen here, and a stop that comes later deletes what this stored.
        current = Strategy.objects.select_for_update().alive().filter(pk=strategy.pk, status=Strategy.Status.RUNNING)
        current = current.first()
        if current is None:
            disarm(strategy)
            return None
        existing = {task.name: task for task in _rows(current.pk)}
        times = _open_session_times(current, existing, calendar) or current.next_trigger_times(calendar, now)
        session = timezone.localdate(times["buy"], calendar.tz)
        wanted = {
            trigger_name(current.pk, "BUY", session): ("BUY", times["buy"], times["sell"]),
            trigger_name(current.pk, "SELL", session): ("SELL", times["sell"], None),
        }
        _delete_triggers([task.pk for name, task in existing.items() if name not in wanted])
        for name, (event, at, deadline) in wanted.items():
            args = json.dumps(Trigger(str(current.pk), event, session.isoformat(), at.isoformat()).args)
            task = existing.get(name)
            if task is None:
                _create(name, at, deadline, args)
            elif task.total_run_count == 0 and (task.start_time, task.expires, task.enabled) != (at, deadline, True):
                # Queryset updates, not save(): save() bumps django-celery-beat's change
                # counter, a single row every concurrent start would queue on.
                ClockedSchedule.objects.filter(pk=task.clocked_id).update(clocked_time=at)
                PeriodicTask.objects.filter(pk=task.pk).update(start_time=at, expires=deadline, args=args, enabled=True)
    return times


def _open_session_times(
    strategy: Strategy, existing: dict[str, PeriodicTask], calendar: TradingCalendar
) -> dict[str, datetime] | None:
    """The session whose BUY fired and whose SELL has not: its SELL must stay armed even when
    a new sell_time is already past (it then runs at once), or the position would stay open."""
    for name, task in existing.items():
        sell = existing.get(name.replace(":BUY:", ":SELL:"))
        if ":BUY:" in name and task.total_run_count and sell is not None and sell.total_run_count == 0:
            day = date.fromisoformat(name.rsplit(":", 1)[1])
            return {"buy": calendar.at(day, strategy.buy_time), "sell": calendar.at(day, strategy.sell_time)}
    return None


def _create(name: str, at: datetime, deadline: datetime | None, args: str) -> None:
    clocked = ClockedSchedule.objects.bulk_create([ClockedSchedule(clocked_time=at)])[0]
    PeriodicTask.objects.bulk_create(
        [
            PeriodicTask(
                name=name,
                task=TRIGGER_TASK,
                clocked=clocked,
                one_off=True,
                start_time=at,
                expires=deadline,
                args=args,
                queue=TRIGGER_QUEUE,
            )
        ]
    )


def arm_next_session(strategy: Strategy, *, now: datetime | None = None) -> dict[str, datetime] | None:
    """Arms the session after the one already armed (the engine calls this after a daily
    strategy's SELL), never the same session again even if called before its SELL instant."""
    now = now or timezone.now()
    last_sell = (
        _rows(strategy.pk)
        .filter(name__contains=":SELL:")
        .order_by("-start_time")
        .values_list("start_time", flat=True)
        .first()
    )
    return arm(strategy, now=max(now, last_sell) if last_sell else now)


def disarm(strategy: Strategy) -> int:
    """Removes all of the strategy's triggers; returns how many there were."""
    return _delete_triggers(list(_rows(strategy.pk).values_list("pk", flat=True)))


def _delete_triggers(task_ids: list[int]) -> int:
    """Deletes trigger rows and their clocked schedules in two statements, without model
    signals: django-celery-beat's delete signal marks the whole schedule changed, and the beat
    then reloads every periodic task on its next tick. With stops arriving every few
    milliseconds it reloaded every second, 20-100 ms each among 10,000 running strategies,
    which made the triggers due meanwhile late. The beat never holds trigger rows in that
    schedule (`algotrader.beat`), so their deletion changes nothing it needs to reload."""
    if not task_ids:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {PeriodicTask._meta.db_table} WHERE id = ANY(%s) RETURNING clocked_id",  # noqa: S608
            [task_ids],
        )
        clocked_ids = [clocked_id for (clocked_id,) in cursor.fetchall()]
        cursor.execute(f"DELETE FROM {ClockedSchedule._meta.db_table} WHERE id = ANY(%s)", [clocked_ids])  # noqa: S608
    return len(clocked_ids)


def arm_unarmed(*, now: datetime | None = None) -> int:
    """Arms running strategies the beat would otherwise never fire: those with no trigger
    rows (started before triggers were stored) and daily ones whose re-arm after the last
    SELL was lost. Run by the beat when it becomes active; returns how many it armed."""
    running = Strategy.objects.alive().filter(status=Strategy.Status.RUNNING)
    armed = 0
    for strategy in running:
        rows = _rows(strategy.pk)
        if not rows.exists():
            armed += arm(strategy, now=now) is not None
        elif strategy.recurrence == Strategy.Recurrence.DAILY and not rows.filter(enabled=True).exists():
            armed += arm_next_session(strategy, now=now) is not None
    return armed


def dispatch_due(*, now: datetime, send: Callable[[list[Trigger]], None]) -> float:
    """Claims every trigger due at `now` and sends it, or skips a BUY whose SELL time has
    passed; returns the seconds until the next trigger is due, at most the horizon.

    The claim is one UPDATE of the due rows that are still enabled: of two beats (or a beat
    and a stop) only one gets a row, and only claimed rows are sent."""
    horizon = now + timedelta(seconds=DISPATCH_HORIZON_SECONDS)
    upcoming = list(
        PeriodicTask.objects.filter(task=TRIGGER_TASK, enabled=True, start_time__lte=horizon).values_list(
            "pk", "start_time"
        )
    )
    later = [at for _, at in upcoming if at > now]
    wait = (min(later) - now).total_seconds() if later else DISPATCH_HORIZON_SECONDS
    due = [pk for pk, at in upcoming if at <= now]
    if not due:
        return wait
    to_send: list[tuple[int, Trigger]] = []
    missed: list[Trigger] = []
    for pk, raw_args, deadline in _claim(due, now):
        trigger = Trigger.from_args(raw_args)
        if trigger.event == "BUY" and deadline is not None and now >= deadline:
            missed.append(trigger)
        else:
            to_send.append((pk, trigger))
    if to_send:
        try:
            send([trigger for _, trigger in to_send])
        except Exception:
            # Some may have gone out: the engine ignores a second delivery, a lost SELL would
            # leave a position open. Give them back to the next tick.
            PeriodicTask.objects.filter(pk__in=[pk for pk, _ in to_send]).update(enabled=True, total_run_count=0)
            raise
    for trigger in missed:
        _skip(trigger, now)
    return wait


def _claim(pks: list[int], now: datetime) -> list[tuple[int, str, datetime | None]]:
    # Raw SQL for RETURNING: the rows this UPDATE changed are exactly the ones claimed, with
    # their arguments as of the claim (arm() may have moved a trigger since it was read).
    table = connection.ops.quote_name(PeriodicTask._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET enabled = false, last_run_at = %s, total_run_count = total_run_count + 1 "  # noqa: S608
            "WHERE id = ANY(%s) AND enabled AND start_time <= %s RETURNING id, args, expires",
            [now, pks, now],
        )
        return cursor.fetchall()


def _skip(trigger: Trigger, now: datetime) -> None:
    strategy = Strategy.objects.filter(pk=trigger.strategy_id).first()
    logger.warning(
        "skipped BUY of strategy %s for %s: its session window ended before it could run (due %s)",
        trigger.strategy_id,
        trigger.session_date,
        trigger.scheduled_at,
    )
    if strategy is None:
        return
    StrategyEvent.objects.create(
        strategy=strategy,
        actor_type=StrategyEvent.ActorType.SYSTEM,
        kind=StrategyEvent.Kind.BUY,
        data={
            "skipped": "session_over",
            "session_date": trigger.session_date,
            "scheduled_at": trigger.scheduled_at,
            "checked_at": now.isoformat(),
        },
    )
    if strategy.recurrence == Strategy.Recurrence.DAILY:
        arm_next_session(strategy, now=now)
