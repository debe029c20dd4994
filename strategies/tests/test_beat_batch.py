"""The beat's messages when several triggers are due at once: batches of the batch task."""

import base64
import json
import uuid

import pytest

from algotrader.beat import HeartbeatScheduler
from algotrader.celery import app
from algotrader.redis import redis_client
from strategies import schedules


def triggers(count: int) -> list[schedules.Trigger]:
    return [
        schedules.Trigger(str(uuid.uuid4()), "BUY", "2026-11-23", "2026-11-23T09:30:00+05:30") for _ in range(count)
    ]


def published_by(send: list[schedules.Trigger], monkeypatch) -> list[tuple[str, list]]:
    """(task, args) of each message the beat publishes, read back from its queue: a queue of
    this test's own, which no worker consumes."""
    queue = f"test_beat_batch_{uuid.uuid4()}"
    monkeypatch.setattr(schedules, "TRIGGER_QUEUE", queue)
    HeartbeatScheduler(app=app, lazy=True).send_triggers(send)
    client = redis_client()
    messages = [json.loads(raw) for raw in reversed(client.lrange(queue, 0, -1))]  # LPUSHed: oldest last
    client.delete(queue)
    return [(message["headers"]["task"], json.loads(base64.b64decode(message["body"]))[0]) for message in messages]


@pytest.mark.django_db
def test_it_publishes_triggers_due_together_in_batches(monkeypatch):
    due = triggers(schedules.TRIGGER_BATCH_SIZE + 1)

    published = published_by(due, monkeypatch)

    assert [task for task, _ in published] == [schedules.TRIGGER_BATCH_TASK] * 2
    sent = [tuple(args) for _, (batch,) in published for args in batch]
    assert sorted(sent) == sorted(tuple(t.args) for t in due)
    assert [len(batch) for _, (batch,) in published] == [schedules.TRIGGER_BATCH_SIZE, 1]


@pytest.mark.django_db
def test_a_lone_trigger_travels_as_a_batch_of_one(monkeypatch):
    [due] = triggers(1)

    [(task, (batch,))] = published_by([due], monkeypatch)

    assert (task, [tuple(args) for args in batch]) == (schedules.TRIGGER_BATCH_TASK, [tuple(due.args)])


def test_a_strategys_buy_and_sell_travel_in_the_same_batch_buy_first():
    strategy_id = str(uuid.uuid4())
    sell = schedules.Trigger(strategy_id, "SELL", "2026-11-23", "2026-11-23T15:15:00+05:30")
    buy = schedules.Trigger(strategy_id, "BUY", "2026-11-23", "2026-11-23T09:30:00+05:30")

    [batch] = schedules.batches([sell, *triggers(3), buy])

    assert batch.index(buy) + 1 == batch.index(sell)
