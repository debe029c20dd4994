"""The execution lock of a strategy, `runtime:{id}:lock` (DESIGN.md section 6).

It serialises every broker conversation about one strategy across workers: a BUY, its exit and
the protective stop are never in flight at the same time, and a redelivered task waits for the
original to finish instead of placing alongside it. `SET NX PX` with a random token; released by
compare-and-delete, so a worker whose lock already expired cannot release the next holder's; and
it expires on its own when a worker dies holding it.
"""

import secrets
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager

from algotrader.redis import redis_client
from execution import runtime

# Longer than the slowest broker conversation held under it: three attempts at a 7 s timeout,
# the backoff between them and a wait for the rate limit.
LOCK_TTL_MS = 60_000
# How long a second worker waits for the first before giving up (its task is then retried).
LOCK_WAIT_SECONDS = 15.0
_POLL_SECONDS = 0.05

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


# The release of many locks in one call (a batch's): KEYS the locks, ARGV their tokens in order.
_RELEASE_MANY = """
local released = 0
for i, key in ipairs(KEYS) do
    if redis.call('GET', key) == ARGV[i] then released = released + redis.call('DEL', key) end
end
return released
"""


class LockBusy(Exception):
    """Another worker held the strategy's lock for longer than we were willing to wait."""


@contextmanager
def strategy_lock(strategy_id: object, *, wait: float = LOCK_WAIT_SECONDS) -> Iterator[None]:
    client = redis_client()
    key, token = runtime.lock_key(strategy_id), secrets.token_hex(16)
    deadline = time.monotonic() + wait
    while not client.set(key, token, nx=True, px=LOCK_TTL_MS):
        if time.monotonic() >= deadline:
            raise LockBusy(f"{key} is held by another worker.")
        time.sleep(_POLL_SECONDS)
    try:
        yield
    finally:
        client.eval(_RELEASE, 1, key, token)


def take_free_locks(strategy_ids: Iterable[object]) -> dict[object, str]:
    """Takes, in one round trip and without waiting, the locks of those strategies that nobody
    holds, each as `strategy_lock` takes it; returns their tokens by strategy id. The caller
    releases them with `release_locks`; a strategy left out is held elsewhere."""
    tokens = {strategy_id: secrets.token_hex(16) for strategy_id in strategy_ids}
    if not tokens:
        return {}
    pipe = redis_client().pipeline(transaction=False)
    for strategy_id, token in tokens.items():
        pipe.set(runtime.lock_key(strategy_id), token, nx=True, px=LOCK_TTL_MS)
    return {
        strategy_id: token for (strategy_id, token), taken in zip(tokens.items(), pipe.execute(), strict=True) if taken
    }


def release_locks(tokens: Mapping[object, str]) -> None:
    """Releases locks `take_free_locks` took, in one round trip (compare-and-delete each)."""
    if tokens:
        keys = [runtime.lock_key(strategy_id) for strategy_id in tokens]
        redis_client().eval(_RELEASE_MANY, len(keys), *keys, *tokens.values())
