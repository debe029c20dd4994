"""The execution lock of a strategy, `runtime:{id}:lock` (DESIGN.md section 6).

It serialises every broker conversation about one strategy across workers: a BUY, its exit and
the protective stop are never in flight at the same time, and a redelivered task waits for the
original to finish instead of placing alongside it. `SET NX PX` with a random token; released by
compare-and-delete, so a worker whose lock already expired cannot release the next holder's; and
it expires on its own when a worker dies holding it.
"""

import secrets
import time
from collections.abc import Iterator
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
