"""Celery entry points of the order path: ids in, one service call, safe to run twice.

`acks_late` (set for every task in settings) means a task whose worker dies is delivered again;
the services make that harmless: claims, the strategy lock and the order tag.
"""

import logging
from datetime import date, datetime

from celery import shared_task
from celery.signals import worker_init, worker_process_init, worker_process_shutdown, worker_ready
from django.db import connections

from algotrader.redis import redis_client
from brokers.adapters import adapter_class
from brokers.adapters.base import BrokerUnavailable
from brokers.instruments import shipped_instruments
from brokers.models import BrokerAccount
from execution import events, runtime, services
from execution.locks import LockBusy
from strategies.models import StrategyRun
from strategies.schedules import Trigger

# How often, and how many times, an accepted order that is not final yet is asked about.
TRACK_INTERVAL_SECONDS = 2
TRACK_POLLS = 30


@shared_task(
    queue="orders",
    acks_late=True,
    # LockBusy: another worker held the strategy longer than we waited; the services retry
    # broker failures themselves and give up for good after that.
    autoretry_for=(LockBusy,),
    retry_backoff=1,
    max_retries=3,
)
def execute_trigger_task(strategy_id: str, event: str, session_date: str, scheduled_at_iso: str) -> None:
    services.execute_trigger(
        strategy_id=strategy_id,
        event=event,
        session_date=date.fromisoformat(session_date),
        scheduled_at=datetime.fromisoformat(scheduled_at_iso),
    )


@shared_task(queue="orders", acks_late=True)
def execute_triggers_task(triggers: list[list[str]]) -> None:
    """Triggers due at the same instant, in one message: their BUYs reach the brokers together,
    and what follows a fill (the protective stop, tracking) waits in `settle_entries_task`
    behind the rest of the instant's batches. Each trigger's failures are handled in the service."""
    placed = services.execute_triggers(triggers=[Trigger(*args) for args in triggers])
    if placed:
        settle_entries_task.delay(placed)


@shared_task(queue="orders", acks_late=True)
def settle_entries_task(order_ids: list[str]) -> None:
    # Those the broker has not finished yet (or could not tell) are tracked like any order.
    for order_id in services.settle_entries(order_ids=order_ids):
        track_order_task.apply_async((order_id,), countdown=TRACK_INTERVAL_SECONDS)


@shared_task(
    queue="stoploss",
    acks_late=True,
    # BrokerUnavailable: the protective stop could not be cancelled, so no exit was sent yet
    # and the run waits in exit_pending for the retry.
    autoretry_for=(LockBusy, BrokerUnavailable),
    retry_backoff=1,
    max_retries=5,
)
def exit_position_task(run_id: str | None, reason: str, strategy_id: str | None = None) -> None:
    # The tick worker knows only the strategy whose stop-loss it claimed, not its run.
    services.exit_position(run_id=run_id, strategy_id=strategy_id, reason=reason)


@shared_task(queue="orders", acks_late=True, autoretry_for=(LockBusy,), retry_backoff=1, max_retries=3)
def track_order_task(order_id: str, polls_left: int = TRACK_POLLS) -> None:
    if not services.track_order(order_id=order_id) and polls_left > 1:
        track_order_task.apply_async((order_id, polls_left - 1), countdown=TRACK_INTERVAL_SECONDS)


@shared_task(queue="orders", acks_late=True)
def reconcile_task() -> None:
    for account in BrokerAccount.objects.filter(strategies__runs__position__in=StrategyRun.OPEN_POSITIONS).distinct():
        services.reconcile_account(account=account)


@shared_task(queue="orders", acks_late=True)
def premarket_check_task() -> dict[str, int]:
    return services.premarket_check()


@worker_init.connect
def _import_adapters(sender: object, **kwargs: object) -> None:
    """Imports every broker's adapter in the worker's main process, before its pool forks:
    otherwise each pool process pays an SDK's import in its first order for that broker
    (kiteconnect, with Twisted, takes ~200 ms), inside a trigger's latency. The paper broker's
    instruments are read here too, once for all of them."""
    for broker in BrokerAccount.Broker.values:
        adapter_class(broker)
    shipped_instruments()


@worker_process_init.connect
def _connect_at_start(sender: object, **kwargs: object) -> None:
    """Opens a pool process's PostgreSQL and Redis connections as it starts, not in its first
    trigger. Best effort: what fails here connects on first use, as before."""
    try:
        connections["default"].ensure_connection()
        redis_client().ping()
    except Exception:
        logging.getLogger(__name__).exception("worker process: could not connect at start; connecting on first use")
    finally:
        connections.close_all()


@worker_process_shutdown.connect
def _send_pending_events(**kwargs: object) -> None:
    events.outbox.flush()


@worker_ready.connect
def _restore_state_at_start(sender: object, **kwargs: object) -> None:
    """A worker that starts (after a crash, a deploy, Redis being lost) first makes the
    runtime match the database, then asks the brokers about every open run."""
    runtime.rebuild()
    reconcile_task.delay()


@shared_task(queue="orders", acks_late=True, autoretry_for=(LockBusy,), retry_backoff=1, max_retries=5)
def move_protective_stop_task(strategy_id: str) -> None:
    services.move_protective_stop(strategy_id=strategy_id)
