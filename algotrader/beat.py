"""The beat scheduler: django-celery-beat's DatabaseScheduler plus a heartbeat in Redis.

`/health` reads the heartbeat to tell whether beat is alive.
"""

import time

from django.conf import settings
from django_celery_beat.schedulers import DatabaseScheduler

from algotrader.redis import redis_client


class HeartbeatScheduler(DatabaseScheduler):
    def tick(self, *args: object, **kwargs: object) -> float:
        interval = super().tick(*args, **kwargs)
        redis_client().set(
            settings.BEAT_HEARTBEAT_KEY, f"{time.time():.3f}", ex=settings.BEAT_HEARTBEAT_STALE_SECONDS * 4
        )
        # Wake at least every few seconds so the heartbeat never looks stale while idle.
        return min(interval, 5.0)
