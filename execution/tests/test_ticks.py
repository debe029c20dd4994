import threading
import time
from datetime import date
from decimal import Decimal

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from conftest import start_process, stop_process
from execution import runtime
from execution.ticks import check_ticks, queue_stop_loss_exit
from strategies.models import StrategyRun
from strategies.services import strategy_start


@pytest.fixture
def holding(strategy, alice) -> StrategyRun:
    """alice's TCS strategy (stop-loss from the factory) holding a position."""
    strategy_start(strategy=strategy, actor=alice)
    run = StrategyRun.objects.create(strategy=strategy, session_date=date(2026, 11, 23), position="bought")
    runtime.record_run(strategy, run)
    return run


@pytest.fixture
def sent_tasks(monkeypatch) -> list[tuple]:
    """What was handed to Celery (the edge we do not own); a session worker may be consuming
    the real queues, so the queue itself cannot be counted."""
    sent: list[tuple] = []
    monkeypatch.setattr("execution.ticks.current_app.send_task", lambda name, **kw: sent.append((name, kw)))
    return sent


def test_it_stores_the_last_price_of_each_symbol(db):
    check_ticks([["TCS", "3600.00", 1], ["INFY", "1500.50", 1], ["TCS", "3601.05", 2]])

    assert runtime.last_price("TCS") == Decimal("3601.05")
    assert runtime.last_price("INFY") == Decimal("1500.50")


def test_a_tick_above_the_stop_loss_claims_nothing(holding):
    stop = holding.strategy.stop_loss

    assert check_ticks([[holding.strategy.symbol, str(stop + Decimal("0.05")), 1]]) == []


def test_a_dip_inside_one_frame_still_hits_the_stop(holding):
    stop = holding.strategy.stop_loss
    symbol = holding.strategy.symbol

    hits = check_ticks([[symbol, str(stop - 1), 1], [symbol, str(stop + 10), 2]])

    assert [(hit[0], hit[1]) for hit in hits] == [(symbol, str(holding.strategy_id))]
    assert runtime.last_price(symbol) == stop + 10


def test_a_burst_of_ticks_on_two_workers_claims_one_exit(holding):
    stop = holding.strategy.stop_loss
    burst = [[holding.strategy.symbol, str(stop - Decimal("0.05") * n), n] for n in range(50)]
    claims: list = []
    start = threading.Barrier(4)

    def worker() -> None:
        start.wait()
        for _ in range(5):
            claims.extend(check_ticks(burst))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(claims) == 1


def test_a_claimed_stop_loss_queues_one_exit_of_the_strategy(holding, sent_tasks):
    [(symbol, strategy_id, price, stop)] = check_ticks([[holding.strategy.symbol, "3400", 1]])

    queue_stop_loss_exit(symbol, strategy_id, price, stop)

    assert sent_tasks == [
        (
            "execution.tasks.exit_position_task",
            {"args": [None, "stoploss"], "kwargs": {"strategy_id": str(holding.strategy_id)}, "queue": "stoploss"},
        )
    ]
    holding.refresh_from_db()
    assert holding.position == "bought"  # the exit task claims the run, under the strategy's lock


def test_a_stop_loss_whose_exit_could_not_be_queued_is_claimed_again_by_the_next_tick(holding, monkeypatch):
    def broker_down(name: str, **kwargs: object) -> None:
        raise ConnectionError("the queue is unreachable")

    monkeypatch.setattr("execution.ticks.current_app.send_task", broker_down)
    [hit] = check_ticks([[holding.strategy.symbol, "3400", 1]])

    queue_stop_loss_exit(*hit)

    assert [claim[1] for claim in check_ticks([[holding.strategy.symbol, "3400", 2]])] == [str(holding.strategy_id)]


@pytest.mark.django_db(transaction=True)
def test_two_tick_worker_processes_and_a_burst_of_ticks_give_one_exit(holding, celery_processes):
    workers = [
        start_process(["django", "runworker", "ticks"], DJANGO_SETTINGS_MODULE="algotrader.settings") for _ in range(2)
    ]
    try:
        time.sleep(1.5)  # the workers subscribe to the channel
        stop = holding.strategy.stop_loss
        send = async_to_sync(get_channel_layer().send)
        for n in range(10):  # each frame goes to one of the two workers
            now_ms = int(time.time() * 1000)
            send("ticks", {"type": "ticks.batch", "ticks": [[holding.strategy.symbol, str(stop - n), now_ms]]})
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            holding.refresh_from_db()
            if holding.position == "exited":
                break
            time.sleep(0.1)
        time.sleep(1)  # a second exit, were there one, would be placed by now
    finally:
        for worker in workers:
            stop_process(worker)

    holding.refresh_from_db()
    assert (holding.position, holding.exit_reason) == ("exited", "stoploss")
    assert list(holding.orders.exits().values_list("event", "status")) == [("STOPLOSS", "complete")]
