"""The shared Redis connection for runtime state (DESIGN.md section 6)."""

from functools import cache

import redis
from django.conf import settings


@cache
def redis_client() -> redis.Redis:
    return redis.Redis.from_url(
        settings.REDIS_URL, decode_responses=True, socket_connect_timeout=2, socket_timeout=5, health_check_interval=30
    )
