"""At most 10 orders per second per broker account, across every worker (MARKET-RULES.md: Kite
answers the 11th with HTTP 429, and above 10/s an algo must be registered).

A sliding window in Redis: a sorted set per account holds the instants of the order requests of
the last window. Each request either takes a slot or learns how long until the oldest leaves, and
waits that long: an order is delayed, never refused. The check and the take are one Lua script,
so two workers cannot both take the last slot; the instants come from Redis's clock, so workers'
clocks do not have to agree.
"""

import secrets
import time
from collections.abc import Sequence

from algotrader.redis import redis_client

ORDERS_PER_SECOND = 10
# A little over a second: the broker counts a request when it arrives, a few milliseconds after
# we let it go, so a window of exactly 1000 ms could let an 11th land inside the broker's second.
WINDOW_MS = 1100

# KEYS[1]: the account's window. ARGV: limit, window (ms), a unique member.
# Returns 0 when a slot was taken, otherwise the milliseconds until one frees.
_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
    redis.call('ZADD', KEYS[1], now, ARGV[3])
    redis.call('PEXPIRE', KEYS[1], window)
    return 0
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return math.max(1, tonumber(oldest[2]) + window - now + 1)
"""


# The same take for many orders in one call (KEYS: their accounts' windows, in order; ARGV: limit,
# window, then one member per key): each key is taken as _TAKE takes it, one after another, so
# an account named twice gets two slots or a wait for the second. Returns one result per key.
_TAKE_MANY = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local limit, window = tonumber(ARGV[1]), tonumber(ARGV[2])
local waits = {}
for i, key in ipairs(KEYS) do
    redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
    if redis.call('ZCARD', key) < limit then
        redis.call('ZADD', key, now, ARGV[i + 2])
        redis.call('PEXPIRE', key, window)
        waits[i] = 0
    else
        local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
        waits[i] = math.max(1, tonumber(oldest[2]) + window - now + 1)
    end
end
return waits
"""


def window_key(broker_account_id: object) -> str:
    return f"ratelimit:orders:{broker_account_id}"


def wait_for_order_slot(broker_account_id: object) -> float:
    """Blocks until the account may send one more order request; returns the seconds waited."""
    client = redis_client()
    key, member = window_key(broker_account_id), secrets.token_hex(8)
    started = time.monotonic()
    while wait_ms := client.eval(_TAKE, 1, key, ORDERS_PER_SECOND, WINDOW_MS, member):
        time.sleep(wait_ms / 1000)
    return time.monotonic() - started


def take_order_slots(broker_account_ids: Sequence[object]) -> list[int]:
    """Tries to take one slot per order, in one round trip (a batch's BUYs); returns, per order,
    0 when its slot was taken, otherwise the milliseconds until its account has one free. An
    order that got no slot must go through `wait_for_order_slot` before its broker call."""
    if not broker_account_ids:
        return []
    keys = [window_key(account) for account in broker_account_ids]
    members = [secrets.token_hex(8) for _ in keys]
    return [
        int(wait) for wait in redis_client().eval(_TAKE_MANY, len(keys), *keys, ORDERS_PER_SECOND, WINDOW_MS, *members)
    ]
