"""The beat scheduler: django-celery-beat's DatabaseScheduler, plus a heartbeat in Redis, a
leader lock, and batch dispatch of strategy triggers (`strategies.schedules`).

- Every beat writes the heartbeat `/health` reads, leader or standby.
- Only the beat holding the Redis lock fires anything; another one waits as a standby and
  takes over within `LOCK_TTL_MS` of the leader dying (DESIGN.md section 13).
- Strategy triggers bypass the stock heap, which queries on every tick, sends one due entry
  per tick and reloads everything after each one-off: each tick claims all due triggers in
  one UPDATE and publishes them over one connection, then sleeps until the next one is due.
"""

import logging
import secrets
import time

import redis
from django.conf import settings
from django.db import DatabaseError, InterfaceError, close_old_connections
from django.db.models import QuerySet
from django.utils import timezone
from django_celery_beat.models import PeriodicTask
from django_celery_beat.schedulers import DatabaseScheduler

from algotrader.redis import redis_client
from strategies import schedules

logger = logging.getLogger(__name__)

# Long enough that a slow tick (a database hiccup) does not hand the lock over, short enough
# that a standby takes over before a trigger is noticeably late.
LOCK_TTL_MS = 10_000
STANDBY_POLL_SECONDS = 1.0

_RENEW = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0"
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"


def leader_lock_key() -> str:
    # Per database: test sessions (and deployments) sharing one Redis each need their own leader.
    return f"beat:leader:{settings.DATABASES['default']['NAME']}"


class LeaderLock:
    """`SET NX PX` with a random token; renewed and released only by its holder."""

    def __init__(self, client: redis.Redis, key: str, ttl_ms: int = LOCK_TTL_MS) -> None:
        self.client = client
        self.key = key
        self.ttl_ms = ttl_ms
        self.token = secrets.token_hex(16)
        self.held = False

    def hold(self) -> bool:
        """Renews the lock if this beat has it, otherwise tries to take it."""
        try:
            if self.held and self.client.eval(_RENEW, 1, self.key, self.token, self.ttl_ms):
                return True
            self.held = bool(self.client.set(self.key, self.token, nx=True, px=self.ttl_ms))
        except redis.RedisError:
            # Unable to prove we lead: firing anyway could double up with the new leader.
            logger.exception("beat: cannot reach Redis for the leader lock; standing by")
            self.held = False
        return self.held

    def release(self) -> None:
        if self.held:
            self.client.eval(_RELEASE, 1, self.key, self.token)
            self.held = False


class HeartbeatScheduler(DatabaseScheduler):
    def __init__(self, *args: object, **kwargs: object) -> None:
        self.leader_lock = LeaderLock(redis_client(), leader_lock_key())
        self._leading = False
        super().__init__(*args, **kwargs)

    def enabled_models_qs(self) -> QuerySet[PeriodicTask]:
        # Strategy triggers are dispatched by `dispatch_triggers`; in the stock heap they would
        # be sent a second time, one per tick.
        return super().enabled_models_qs().exclude(task=schedules.TRIGGER_TASK)

    def tick(self, *args: object, **kwargs: object) -> float:
        self._write_heartbeat()
        next_due = self.dispatch_as_leader()
        if next_due is None:
            return STANDBY_POLL_SECONDS
        dispatched_at = time.monotonic()
        stock_wait = super().tick(*args, **kwargs)
        # The stock tick may have reloaded the schedule meanwhile: the next trigger is that
        # much closer than it was when it was computed.
        return max(0.0, min(stock_wait, next_due - (time.monotonic() - dispatched_at)))

    def dispatch_as_leader(self) -> float | None:
        """Sends the due strategy triggers if this beat holds the lock; returns the seconds
        until the next one is due, or None when this beat must fire nothing this tick."""
        if not self.leader_lock.hold():
            if self._leading:
                logger.warning("beat: lost the leader lock; standing by")
            self._leading = False
            return None
        try:
            if not self._leading:
                logger.info("beat: leading; armed %d unarmed running strategies", schedules.arm_unarmed())
                self._leading = True
            return self.dispatch_triggers()
        except (DatabaseError, InterfaceError):
            # A database blip must not end beat: the same triggers are still due next tick.
            logger.exception("beat: database error while dispatching triggers")
            close_old_connections()
            return None

    def dispatch_triggers(self) -> float:
        """Sends the strategy triggers due now; returns seconds until the next one."""
        return schedules.dispatch_due(now=timezone.now(), send=self.send_triggers)

    def send_triggers(self, triggers: list[schedules.Trigger]) -> None:
        # One connection and producer for the whole batch, not one per message. Triggers due at
        # once travel in batches, which the workers place concurrently instead of one BUY after
        # another; a lone one is a batch of one, whose claim and placing take 3 statements and
        # 3 Redis calls where `execute_trigger` takes ~10 and 3.
        with self.app.producer_or_acquire() as producer:
            for batch in schedules.batches(triggers):
                self.app.send_task(
                    schedules.TRIGGER_BATCH_TASK,
                    args=[[trigger.args for trigger in batch]],
                    queue=schedules.TRIGGER_QUEUE,
                    producer=producer,
                )

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.leader_lock.release()

    def _write_heartbeat(self) -> None:
        redis_client().set(
            settings.BEAT_HEARTBEAT_KEY, f"{time.time():.3f}", ex=settings.BEAT_HEARTBEAT_STALE_SECONDS * 4
        )
