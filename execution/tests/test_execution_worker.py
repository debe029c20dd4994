"""The order path through the real Celery worker (both queues) on the test database."""

import time
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone

from brokers.adapters.paper import set_price
from execution.models import Order
from execution.tasks import execute_trigger_task
from strategies.models import Strategy, StrategyRun


@pytest.mark.django_db(transaction=True)
def test_it_buys_through_the_worker(celery_processes, strategy):
    Strategy.objects.filter(pk=strategy.pk).update(status=Strategy.Status.RUNNING)
    set_price("TCS", Decimal("3600"))
    session = timezone.localdate()
    scheduled = datetime.now(UTC)

    with transaction.atomic():
        transaction.on_commit(
            lambda: execute_trigger_task.delay(str(strategy.pk), "BUY", session.isoformat(), scheduled.isoformat())
        )

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        run = StrategyRun.objects.filter(strategy=strategy, session_date=session).first()
        if run is not None and run.position == "bought":
            break
        time.sleep(0.1)
    assert run is not None
    assert run.position == "bought"
    entry = Order.objects.get(run=run, event="BUY")
    assert entry.status == "complete"
    assert entry.latency_ms is not None
