import time
import uuid
from datetime import timedelta

import pytest
from celery import signals
from django.conf import settings
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from algotrader.beat import HeartbeatScheduler, LeaderLock
from algotrader.celery import app
from algotrader.redis import redis_client
from strategies import schedules
from strategies.calendar import calendar_for
from strategies.models import Strategy


@pytest.fixture
def overdue_sell(strategy) -> Strategy:
    """A running strategy whose SELL was due two days ago (its BUY, long missed, is skipped)."""
    Strategy.objects.filter(pk=strategy.pk).update(status=Strategy.Status.RUNNING)
    schedules.arm(strategy, now=timezone.now() - timedelta(days=2), calendar=calendar_for("ALWAYS_OPEN"))
    return strategy


@pytest.fixture
def lock_key() -> str:
    # Not the deployment's key: a beat started by `celery_processes` may hold that one.
    return f"beat:leader:test-{uuid.uuid4()}"


def scheduler(lock_key: str) -> HeartbeatScheduler:
    # lazy: the stock schedule is read (and the connection recycled, ending the test's
    # transaction) only by a full tick; these tests drive the strategy dispatch on its own.
    beat = HeartbeatScheduler(app=app, lazy=True)
    beat.leader_lock = LeaderLock(redis_client(), lock_key)
    beat.sent = []
    beat.send_triggers = lambda batch: beat.sent.extend((t.event, t.strategy_id) for t in batch)
    return beat


def test_only_the_beat_holding_the_lock_sends(overdue_sell, lock_key):
    leader, standby = scheduler(lock_key), scheduler(lock_key)
    assert leader.leader_lock.hold()

    standby_sleep = standby.tick()
    leader.dispatch_as_leader()

    assert standby_sleep == 1.0
    assert standby.sent == []
    assert leader.sent == [("SELL", str(overdue_sell.pk))]


def test_a_standby_takes_over_when_the_lock_expires(overdue_sell, lock_key):
    leader, standby = scheduler(lock_key), scheduler(lock_key)
    leader.leader_lock.ttl_ms = 100
    assert leader.leader_lock.hold()
    standby.dispatch_as_leader()
    assert standby.sent == []

    time.sleep(0.2)
    standby.dispatch_as_leader()

    assert standby.sent == [("SELL", str(overdue_sell.pk))]
    assert not leader.leader_lock.hold()


def test_a_beat_that_shuts_down_hands_over_at_once(overdue_sell, lock_key):
    leader, standby = scheduler(lock_key), scheduler(lock_key)
    assert leader.leader_lock.hold()

    leader.leader_lock.release()
    standby.dispatch_as_leader()

    assert standby.sent == [("SELL", str(overdue_sell.pk))]


def test_it_renews_the_lock_on_every_tick(db, lock_key):
    leader = scheduler(lock_key)
    leader.leader_lock.ttl_ms = 300

    for _ in range(3):
        leader.dispatch_as_leader()
        time.sleep(0.2)

    assert redis_client().get(lock_key) == leader.leader_lock.token


def test_a_standby_keeps_the_heartbeat(db, lock_key):
    redis_client().set(lock_key, "another beat")

    scheduler(lock_key).tick()

    assert float(redis_client().get(settings.BEAT_HEARTBEAT_KEY)) == pytest.approx(time.time(), abs=5)


def test_it_arms_unarmed_running_strategies_when_it_starts_leading(strategy, lock_key):
    Strategy.objects.filter(pk=strategy.pk).update(status=Strategy.Status.RUNNING)

    scheduler(lock_key).dispatch_as_leader()

    assert PeriodicTask.objects.filter(name__startswith=f"strategy:{strategy.pk}:").count() == 2


def test_the_stock_heap_leaves_strategy_triggers_to_the_batch(overdue_sell, lock_key):
    names = set(scheduler(lock_key).enabled_models_qs().values_list("name", flat=True))

    assert not any(name.startswith("strategy:") for name in names)


def test_it_publishes_the_engine_task_by_name_on_the_orders_queue(db):
    published = []
    trigger = schedules.Trigger(str(uuid.uuid4()), "BUY", "2026-11-23", "2026-11-23T09:30:00+05:30")

    def capture(sender: str, headers: dict, routing_key: str, body: tuple, **_: object) -> None:
        published.append((sender, routing_key, body[0]))

    signals.after_task_publish.connect(capture)
    try:
        HeartbeatScheduler(app=app, lazy=True).send_triggers([trigger])
    finally:
        signals.after_task_publish.disconnect(capture)

    assert published == [("execution.tasks.execute_triggers_task", "orders", [[trigger.args]])]


@pytest.mark.django_db(transaction=True)
def test_a_full_tick_runs_the_stock_schedule_and_wakes_within_a_second(lock_key):
    beat = scheduler(lock_key)

    sleep = beat.tick()
    beat.close()

    assert 0.0 <= sleep <= 1.0
    assert redis_client().get(lock_key) is None
