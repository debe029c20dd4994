import json
from datetime import datetime, time
from decimal import Decimal

import pytest
import time_machine
from django_celery_beat.models import ClockedSchedule, PeriodicTask, PeriodicTasks

from strategies import schedules
from strategies.calendar import IST, calendar_for
from strategies.models import Strategy, StrategyEvent
from strategies.services import strategy_delete, strategy_start, strategy_stop, strategy_update

FRIDAY_EVENING = datetime(2026, 11, 20, 16, 0, tzinfo=IST)
MONDAY_MORNING = datetime(2026, 11, 23, 8, 0, tzinfo=IST)  # Tuesday the 24th is a holiday


def ist(day: int, hour: int, minute: int, second: int = 0, microsecond: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, second, microsecond, tzinfo=IST)


def triggers(strategy: Strategy) -> dict[str, tuple[datetime, list[str], bool]]:
    rows = PeriodicTask.objects.filter(name__startswith=f"strategy:{strategy.pk}:").select_related("clocked")
    return {row.name: (row.clocked.clocked_time, json.loads(row.args), row.enabled) for row in rows}


def expected(strategy: Strategy, day: int, buy: tuple[int, int], sell: tuple[int, int]) -> dict:
    session = f"2026-11-{day}"
    buy_at, sell_at = ist(day, *buy), ist(day, *sell)
    sid = str(strategy.pk)
    return {
        f"strategy:{sid}:BUY:{session}": (buy_at, [sid, "BUY", session, buy_at.isoformat()], True),
        f"strategy:{sid}:SELL:{session}": (sell_at, [sid, "SELL", session, sell_at.isoformat()], True),
    }


@pytest.fixture
def running(strategy) -> Strategy:
    Strategy.objects.filter(pk=strategy.pk).update(status=Strategy.Status.RUNNING)
    strategy.refresh_from_db()
    return strategy


@pytest.fixture
def nse(db):
    return calendar_for("NSE")


class Outbox(list):
    """Stands in for the Celery publish, the edge to the broker."""

    def __call__(self, batch: list[schedules.Trigger]) -> None:
        self.extend((t.event, t.session_date) for t in batch)


def test_it_arms_monday_when_started_on_a_friday_after_the_sell_time(
    strategy, alice, django_capture_on_commit_callbacks
):
    with time_machine.travel(FRIDAY_EVENING, tick=False), django_capture_on_commit_callbacks(execute=True):
        strategy_start(strategy=strategy, actor=alice)

    assert triggers(strategy) == expected(strategy, 23, (9, 30), (15, 15))
    row = PeriodicTask.objects.get(name=f"strategy:{strategy.pk}:BUY:2026-11-23")
    assert (row.task, row.queue, row.one_off) == ("execution.tasks.execute_trigger_task", "orders", True)


def test_it_arms_only_after_the_start_commits(strategy, alice, django_capture_on_commit_callbacks):
    with time_machine.travel(FRIDAY_EVENING, tick=False), django_capture_on_commit_callbacks() as callbacks:
        strategy_start(strategy=strategy, actor=alice)
        assert triggers(strategy) == {}

    for callback in callbacks:
        callback()
    assert len(triggers(strategy)) == 2


def test_it_skips_a_holiday(running, nse):
    schedules.arm(running, now=ist(23, 16, 0), calendar=nse)

    assert triggers(running) == expected(running, 25, (9, 30), (15, 15))


def test_it_arms_today_on_an_always_open_calendar_even_on_a_saturday(
    strategy, alice, settings, django_capture_on_commit_callbacks
):
    settings.MARKET_CALENDAR = "ALWAYS_OPEN"
    with time_machine.travel(ist(21, 8, 0), tick=False), django_capture_on_commit_callbacks(execute=True):
        strategy_start(strategy=strategy, actor=alice)

    assert triggers(strategy) == expected(strategy, 21, (9, 30), (15, 15))


def test_it_arms_the_same_rows_twice_without_change(running, nse):
    schedules.arm(running, now=MONDAY_MORNING, calendar=nse)
    before = list(PeriodicTask.objects.order_by("pk").values_list("pk", "clocked_id"))

    schedules.arm(running, now=MONDAY_MORNING, calendar=nse)

    assert list(PeriodicTask.objects.order_by("pk").values_list("pk", "clocked_id")) == before


def test_it_refuses_to_arm_a_strategy_that_is_not_running(strategy, nse):
    assert schedules.arm(strategy, now=MONDAY_MORNING, calendar=nse) is None
    assert triggers(strategy) == {}


def test_stop_removes_the_triggers_and_their_clocks(running, alice, nse):
    schedules.arm(running, now=MONDAY_MORNING, calendar=nse)

    strategy_stop(strategy=running, actor=alice)

    assert triggers(running) == {}
    assert not ClockedSchedule.objects.exists()


def test_arming_and_stopping_leave_the_beats_schedule_unchanged(running, alice, nse):
    # django-celery-beat's change counter makes the beat reload every periodic task; the
    # beat keeps no trigger rows there, so trigger rows coming and going must not move it.
    PeriodicTasks.update_changed()
    before = PeriodicTasks.last_change()

    schedules.arm(running, now=MONDAY_MORNING, calendar=nse)
    schedules.arm(running, now=ist(23, 16, 0), calendar=nse)  # after the SELL: replaces the rows
    strategy_stop(strategy=running, actor=alice)

    assert PeriodicTasks.last_change() == before
    assert (triggers(running), ClockedSchedule.objects.count()) == ({}, 0)


def test_delete_removes_the_triggers(running, alice, nse):
    schedules.arm(running, now=MONDAY_MORNING, calendar=nse)

    strategy_delete(strategy=running, actor=alice)

    assert triggers(running) == {}
    assert not ClockedSchedule.objects.exists()


def test_it_rearms_in_place_when_the_times_change(running, alice, django_capture_on_commit_callbacks):
    with time_machine.travel(MONDAY_MORNING, tick=False):
        schedules.arm(running)
        ids = set(PeriodicTask.objects.values_list("pk", flat=True))
        with django_capture_on_commit_callbacks(execute=True):
            strategy_update(strategy=running, actor=alice, changes={"buy_time": time(10, 0), "sell_time": time(14, 0)})

    assert triggers(running) == expected(running, 23, (10, 0), (14, 0))
    assert set(PeriodicTask.objects.values_list("pk", flat=True)) == ids


def test_a_buy_is_skipped_once_its_moved_sell_time_has_passed(running, alice, django_capture_on_commit_callbacks):
    with time_machine.travel(MONDAY_MORNING, tick=False):
        schedules.arm(running)
        with django_capture_on_commit_callbacks(execute=True):
            strategy_update(strategy=running, actor=alice, changes={"sell_time": time(12, 0)})
    outbox = Outbox()

    schedules.dispatch_due(now=ist(23, 13, 0), send=outbox)

    assert outbox == [("SELL", "2026-11-23")]


def test_it_leaves_the_triggers_alone_when_only_the_stop_loss_changes(
    running, alice, django_capture_on_commit_callbacks
):
    with time_machine.travel(MONDAY_MORNING, tick=False):
        schedules.arm(running)
        before = list(PeriodicTask.objects.order_by("name").values_list("id", "name", "clocked__clocked_time"))
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            strategy_update(strategy=running, actor=alice, changes={"stop_loss": Decimal("3400.00")})

    # Only the owner's live status goes out after the commit; the trigger rows are untouched.
    assert [callback.__qualname__ for callback in callbacks] == ["notify_strategy.<locals>.send"]
    assert list(PeriodicTask.objects.order_by("name").values_list("id", "name", "clocked__clocked_time")) == before


def test_a_sell_moved_into_the_past_while_holding_runs_at_once(running, nse):
    schedules.arm(running, now=MONDAY_MORNING, calendar=nse)
    schedules.dispatch_due(now=ist(23, 9, 30), send=Outbox())  # the BUY fired
    Strategy.objects.filter(pk=running.pk).update(sell_time=time(11, 0))
    running.refresh_from_db()

    schedules.arm(running, now=ist(23, 12, 0), calendar=nse)
    outbox = Outbox()
    schedules.dispatch_due(now=ist(23, 12, 0), send=outbox)

    assert outbox == [("SELL", "2026-11-23")]


def test_a_daily_strategy_is_rearmed_for_the_next_trading_day_after_its_sell(running, nse):
    Strategy.objects.filter(pk=running.pk).update(recurrence=Strategy.Recurrence.DAILY)
    schedules.arm(running, now=MONDAY_MORNING, calendar=nse)
    schedules.dispatch_due(now=ist(23, 9, 30), send=Outbox())
    schedules.dispatch_due(now=ist(23, 15, 15), send=Outbox())

    schedules.arm_next_session(running, now=ist(23, 15, 15, 0, 300_000))

    assert triggers(running) == expected(running, 25, (9, 30), (15, 15))


def test_the_next_session_is_never_the_armed_one_even_before_its_sell(running, nse):
    schedules.arm(running, now=MONDAY_MORNING, calendar=nse)

    schedules.arm_next_session(running, now=ist(23, 10, 0))

    assert triggers(running) == expected(running, 25, (9, 30), (15, 15))


def test_it_sends_due_triggers_once_and_says_when_the_next_is_due(running, nse):
    schedules.arm(running, now=MONDAY_MORNING, calendar=nse)
    outbox = Outbox()

    early = schedules.dispatch_due(now=ist(23, 9, 29, 59, 400_000), send=outbox)
    schedules.dispatch_due(now=ist(23, 9, 30), send=outbox)
    schedules.dispatch_due(now=ist(23, 9, 30, 0, 500_000), send=outbox)

    assert early == pytest.approx(0.6)
    assert outbox == [("BUY", "2026-11-23")]
    assert PeriodicTask.objects.get(name__contains=":BUY:").enabled is False


def test_it_sends_every_strategy_due_in_the_same_second_in_one_batch(alice_paper, instruments, nse):
    strategies = [
        Strategy.objects.create(
            user=alice_paper.user,
            broker_account=alice_paper,
            symbol=symbol,
            buy_time=time(9, 30),
            sell_time=time(15, 15),
            stop_loss=Decimal("1.00"),
            quantity=25,
            status=Strategy.Status.RUNNING,
        )
        for symbol in ("TCS", "INFY", "LOTTY")
    ]
    for strategy in strategies:
        schedules.arm(strategy, now=MONDAY_MORNING, calendar=nse)
    batches = []

    schedules.dispatch_due(now=ist(23, 9, 30), send=batches.append)

    assert [sorted(t.strategy_id for t in batch) for batch in batches] == [sorted(str(s.pk) for s in strategies)]


def test_a_missed_buy_runs_at_once_while_its_session_is_open(running, nse):
    schedules.arm(running, now=MONDAY_MORNING, calendar=nse)
    outbox = Outbox()

    schedules.dispatch_due(now=ist(23, 11, 0), send=outbox)

    assert outbox == [("BUY", "2026-11-23")]


def test_a_missed_buy_is_skipped_after_the_session_and_a_daily_strategy_rearmed(running, nse):
    Strategy.objects.filter(pk=running.pk).update(recurrence=Strategy.Recurrence.DAILY)
    running.refresh_from_db()
    schedules.arm(running, now=MONDAY_MORNING, calendar=nse)
    outbox = Outbox()

    schedules.dispatch_due(now=ist(23, 16, 0), send=outbox)

    assert outbox == [("SELL", "2026-11-23")]
    skipped = StrategyEvent.objects.get(strategy=running, kind=StrategyEvent.Kind.BUY)
    assert (skipped.actor_type, skipped.data["skipped"], skipped.data["session_date"]) == (
        "system",
        "session_over",
        "2026-11-23",
    )
    assert triggers(running) == expected(running, 25, (9, 30), (15, 15))


def test_an_overdue_sell_always_runs(running, nse):
    schedules.arm(running, now=MONDAY_MORNING, calendar=nse)
    schedules.dispatch_due(now=ist(23, 9, 30), send=Outbox())
    outbox = Outbox()

    schedules.dispatch_due(now=ist(27, 10, 0), send=outbox)

    assert outbox == [("SELL", "2026-11-23")]


def test_it_gives_the_triggers_back_when_the_publish_fails(running, nse):
    schedules.arm(running, now=MONDAY_MORNING, calendar=nse)

    def broker_down(batch: list[schedules.Trigger]) -> None:
        raise ConnectionError("broker down")

    with pytest.raises(ConnectionError):
        schedules.dispatch_due(now=ist(23, 9, 30), send=broker_down)
    outbox = Outbox()
    schedules.dispatch_due(now=ist(23, 9, 31), send=outbox)

    assert outbox == [("BUY", "2026-11-23")]


def test_it_arms_running_strategies_that_have_no_triggers(running):
    with time_machine.travel(MONDAY_MORNING, tick=False):
        assert schedules.arm_unarmed() == 1
        assert schedules.arm_unarmed() == 0

    assert triggers(running) == expected(running, 23, (9, 30), (15, 15))
