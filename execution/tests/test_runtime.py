from datetime import date
from decimal import Decimal

from django.core.management import call_command

from algotrader.redis import redis_client
from execution import runtime
from strategies.models import StrategyRun
from strategies.services import strategy_start, strategy_stop, strategy_update


def test_it_writes_the_runtime_on_start_and_clears_it_on_stop(strategy, alice):
    strategy_start(strategy=strategy, actor=alice)
    client = redis_client()

    assert client.hget(runtime.strategy_key(strategy.pk), "stop_loss") == str(strategy.stop_loss)
    assert client.hget(runtime.runtime_key(strategy.pk), "position") == "none"
    assert str(strategy.pk) in client.smembers(runtime.symbol_key(strategy.symbol))
    assert strategy.symbol in client.smembers(runtime.ACTIVE_SYMBOLS)

    strategy_stop(strategy=strategy, actor=alice)

    assert not client.exists(runtime.strategy_key(strategy.pk), runtime.runtime_key(strategy.pk))
    assert str(strategy.pk) not in client.smembers(runtime.symbol_key(strategy.symbol))


def test_it_watches_the_stop_loss_only_while_a_position_is_held(strategy, alice):
    strategy_start(strategy=strategy, actor=alice)
    run = StrategyRun.objects.create(strategy=strategy, session_date=date(2026, 11, 23), position="bought")

    runtime.record_run(strategy, run)

    assert runtime.strategies_hit(strategy.symbol, strategy.stop_loss) == [str(strategy.pk)]
    assert runtime.strategies_hit(strategy.symbol, strategy.stop_loss - Decimal("0.05")) == [str(strategy.pk)]
    assert runtime.strategies_hit(strategy.symbol, strategy.stop_loss + Decimal("0.05")) == []
    run.position = "exit_pending"
    runtime.record_run(strategy, run)
    assert runtime.strategies_hit(strategy.symbol, Decimal("1")) == []


def test_a_new_stop_loss_is_watched_at_once(strategy, alice):
    strategy_start(strategy=strategy, actor=alice)
    StrategyRun.objects.create(strategy=strategy, session_date=date(2026, 11, 23), position="bought")
    new_stop = strategy.stop_loss - Decimal("100")

    strategy_update(strategy=strategy, actor=alice, changes={"stop_loss": new_stop})

    assert runtime.strategies_hit(strategy.symbol, new_stop + Decimal("0.05")) == []
    assert runtime.strategies_hit(strategy.symbol, new_stop) == [str(strategy.pk)]


def test_rebuild_restores_exactly_what_the_database_says(strategy, alice):
    strategy_start(strategy=strategy, actor=alice)
    StrategyRun.objects.create(strategy=strategy, session_date=date(2026, 11, 23), position="bought")
    client = redis_client()
    client.flushdb()  # Redis lost everything
    client.hset(runtime.strategy_key("gone"), mapping={"symbol": "INFY"})  # and holds a stale key

    call_command("rebuild_runtime")

    assert client.hget(runtime.runtime_key(strategy.pk), "position") == "bought"
    assert runtime.strategies_hit(strategy.symbol, strategy.stop_loss) == [str(strategy.pk)]
    assert not client.exists(runtime.strategy_key("gone"))
