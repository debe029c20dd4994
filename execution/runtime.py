"""The Redis runtime: a hot copy of running strategies (DESIGN.md section 6).

    strategy:{id}               hash    what the strategy is (symbol, times, stop-loss, ...)
    runtime:{id}                hash    where today's run stands (position, prices, order ids)
    symbol:{symbol}:strategies  set     running strategies on a symbol (drives the feed)
    symbols:active              set     symbols with running strategies (the feed's index)
    sl:{symbol}                 zset    strategies holding a position, scored by stop-loss
    price:{symbol}              string  last traded price (written by the feed)

PostgreSQL stays the source of truth: everything here is rebuilt by `rebuild()` (run by
`manage.py rebuild_runtime` and by the workers and the feed at start), so losing Redis
loses no data.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

from algotrader.redis import redis_client

if TYPE_CHECKING:
    from strategies.models import Strategy, StrategyRun

ACTIVE_SYMBOLS = "symbols:active"


def strategy_key(strategy_id: object) -> str:
    return f"strategy:{strategy_id}"


def runtime_key(strategy_id: object) -> str:
    return f"runtime:{strategy_id}"


def lock_key(strategy_id: object) -> str:
    return f"runtime:{strategy_id}:lock"


def symbol_key(symbol: str) -> str:
    return f"symbol:{symbol}:strategies"


def stop_loss_key(symbol: str) -> str:
    return f"sl:{symbol}"


def price_key(symbol: str) -> str:
    return f"price:{symbol}"


def _strategy_fields(strategy: Strategy) -> dict[str, str]:
    return {
        "symbol": strategy.symbol,
        "exchange": strategy.exchange,
        "buy_time": strategy.buy_time.isoformat(),
        "sell_time": strategy.sell_time.isoformat(),
        "stop_loss": str(strategy.stop_loss),
        "quantity": str(strategy.quantity),
        "user_id": str(strategy.user_id),
        "broker_account_id": str(strategy.broker_account_id),
        "status": strategy.status,
    }


def _run_fields(run: StrategyRun | None) -> dict[str, str]:
    if run is None:
        return {"position": "none", "run_id": "", "session_date": ""}
    return {
        "position": run.position,
        "run_id": str(run.pk),
        "session_date": run.session_date.isoformat(),
        "entry_price": "" if run.entry_price is None else str(run.entry_price),
        "exit_price": "" if run.exit_price is None else str(run.exit_price),
        "entry_order_id": run.entry_order_id,
        "exit_order_id": run.exit_order_id,
    }


def activate(strategy: Strategy, run: StrategyRun | None = None) -> None:
    """Writes a running strategy (and its current run, if any) into the runtime."""
    pipe = redis_client().pipeline()
    pipe.delete(strategy_key(strategy.pk))
    pipe.hset(strategy_key(strategy.pk), mapping=_strategy_fields(strategy))
    pipe.hset(runtime_key(strategy.pk), mapping=_run_fields(run))
    pipe.sadd(symbol_key(strategy.symbol), str(strategy.pk))
    pipe.sadd(ACTIVE_SYMBOLS, strategy.symbol)
    _stop_loss_entry(pipe, strategy, run)
    pipe.execute()


def deactivate(strategy: Strategy) -> None:
    """Removes a strategy that stopped running. The feed drops its symbol when no other
    running strategy needs it."""
    pipe = redis_client().pipeline()
    pipe.delete(strategy_key(strategy.pk), runtime_key(strategy.pk))
    pipe.srem(symbol_key(strategy.symbol), str(strategy.pk))
    pipe.zrem(stop_loss_key(strategy.symbol), str(strategy.pk))
    pipe.execute()


def record_run(strategy: Strategy, run: StrategyRun, **extra: str) -> None:
    """Mirrors a run's new state: its position, prices and orders, and whether its
    stop-loss is watched (only while the position is `bought`)."""
    pipe = redis_client().pipeline()
    pipe.hset(runtime_key(strategy.pk), mapping={**_run_fields(run), **extra})
    _stop_loss_entry(pipe, strategy, run)
    pipe.execute()


def _stop_loss_entry(pipe: object, strategy: Strategy, run: StrategyRun | None) -> None:
    if run is not None and run.position == "bought":
        pipe.zadd(stop_loss_key(strategy.symbol), {str(strategy.pk): float(strategy.stop_loss)})  # type: ignore[attr-defined]
    else:
        pipe.zrem(stop_loss_key(strategy.symbol), str(strategy.pk))  # type: ignore[attr-defined]


def strategies_hit(symbol: str, price: Decimal) -> list[str]:
    """Strategies holding a position on `symbol` whose stop-loss is at or above `price`:
    O(log n + k) on the sorted set, never a scan."""
    return redis_client().zrangebyscore(stop_loss_key(symbol), float(price), "+inf")


def parse_price(raw: str | None) -> Decimal | None:
    """A price as Redis holds it, or None when there is none (or it is not a number)."""
    try:
        return Decimal(raw) if raw is not None else None
    except InvalidOperation:
        return None


def last_price(symbol: str) -> Decimal | None:
    raw = redis_client().get(price_key(symbol))
    return Decimal(raw) if raw else None


def runtime_state(strategy_id: object) -> dict[str, str]:
    return redis_client().hgetall(runtime_key(strategy_id))


def rebuild() -> int:
    """Makes the runtime match the database; returns how many strategies run.

    Running strategies are written first and stale entries removed after, so a tick worker
    reading meanwhile never finds a watched stop-loss missing (a delete-then-write rebuild
    would open such a window on every worker start). Meant for start-up and operators, not
    hot paths: it scans keys."""
    from strategies.models import Strategy

    client = redis_client()
    running = list(Strategy.objects.filter(status=Strategy.Status.RUNNING, deleted_at__isnull=True))
    for strategy in running:
        activate(strategy, strategy.latest_run())
    running_ids = {str(strategy.pk) for strategy in running}
    watched = {
        (strategy.symbol, str(strategy.pk))
        for strategy in running
        if client.hget(runtime_key(strategy.pk), "position") == "bought"
    }
    pipe = client.pipeline()
    for pattern in ("strategy:*", "runtime:*"):
        for key in client.scan_iter(match=pattern, count=1000):
            if not key.endswith(":lock") and key.split(":")[1] not in running_ids:
                pipe.delete(key)
    for key in client.scan_iter(match="symbol:*:strategies", count=1000):
        extra = client.smembers(key) - running_ids
        if extra:
            pipe.srem(key, *extra)
    for key in client.scan_iter(match="sl:*", count=1000):
        symbol = key[len("sl:") :]
        extra = [member for member in client.zrange(key, 0, -1) if (symbol, member) not in watched]
        if extra:
            pipe.zrem(key, *extra)
    pipe.execute()
    return len(running)
