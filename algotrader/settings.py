"""Algotrader settings: one file, read from the environment (DESIGN.md section 11).

Nothing here guesses. A required variable that is missing, or any variable that is
malformed, stops start-up with ImproperlyConfigured. `make run` and `make test` supply
development values (embedded PostgreSQL and Redis, generated keys) when they are unset.
"""

from datetime import timedelta
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

from algotrader.env import env_bool, env_choice, env_int, env_list, env_str, env_url

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = env_str("SECRET_KEY")
# Broker secrets are encrypted with these, never with SECRET_KEY; the first one encrypts,
# all of them decrypt, so keys can be rotated (`manage.py reencrypt_secrets`).
FERNET_KEYS = env_list("FERNET_KEYS", [])
if not FERNET_KEYS:
    raise ImproperlyConfigured("FERNET_KEYS must be set in the environment: a comma-separated list of keys.")
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

FORCE_HTTPS = env_bool("FORCE_HTTPS", not DEBUG)
if FORCE_HTTPS:
    SECURE_SSL_REDIRECT = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_REDIRECT_EXEMPT = [r"^health$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = 60 * 60 * 24 * 365
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "django_celery_beat",
    "accounts",
    "brokers",
    "strategies",
    "execution",
]

# Django's and WhiteNoise's middleware, adapted to run on the event loop under ASGI
# (algotrader/middleware.py says why); same order, same behaviour.
MIDDLEWARE = [
    "algotrader.logging.RequestLogMiddleware",
    "algotrader.middleware.SecurityMiddleware",
    "algotrader.middleware.WhiteNoiseMiddleware",
    "algotrader.middleware.SessionMiddleware",
    "algotrader.middleware.CommonMiddleware",
    "algotrader.middleware.CsrfViewMiddleware",
    "algotrader.middleware.AuthenticationMiddleware",
    "algotrader.middleware.MessageMiddleware",
    "algotrader.middleware.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "algotrader.urls"
ASGI_APPLICATION = "algotrader.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env_url("DATABASE_URL", None, {"postgres", "postgresql"}) or env_str("DATABASE_URL"),
        # Connections come from a pool per process (psycopg 3): under ASGI a request's sync code
        # may run on a new thread, and a persistent per-thread connection would be left behind
        # by every request; a pool hands connections back instead, without reconnecting.
        conn_max_age=0,
    )
}
DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
    "min_size": 1,
    "max_size": env_int("DATABASE_POOL_SIZE", 10, minimum=1),
    "timeout": 10,
}
# Lets concurrent test runs on one server keep their test databases apart.
if env_str("TEST_DATABASE_NAME", None):
    DATABASES["default"]["TEST"] = {"NAME": env_str("TEST_DATABASE_NAME")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_url("REDIS_URL", None, {"redis", "rediss"}) or env_str("REDIS_URL")
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "cache",
    }
}
# Chosen by measurement (bench/README.md): user events go through the layer; prices through
# execution.fanout, one Redis subscription per web process.
_CHANNEL_LAYER_BACKENDS = {
    "redis": "channels_redis.core.RedisChannelLayer",
    "pubsub": "channels_redis.pubsub.RedisPubSubChannelLayer",
}
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": _CHANNEL_LAYER_BACKENDS[env_choice("CHANNEL_LAYER", "redis", set(_CHANNEL_LAYER_BACKENDS))],
        # The feed sends one message per frame; a tick worker that falls behind should find a
        # backlog of frames, not lose them at the default capacity of 100.
        "CONFIG": {"hosts": [REDIS_URL], "channel_capacity": {"ticks": 2000}},
    }
}

AUTH_USER_MODEL = "accounts.User"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
# People read IST; the database stores aware UTC (USE_TZ).
TIME_ZONE = "Asia/Kolkata"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# Set where `collectstatic` runs (the Dockerfile); unset, static files are served from the
# apps through WhiteNoise's finders.
STATIC_ROOT = env_str("STATIC_ROOT", None)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = STATIC_ROOT is None
# The Expo app's web build, served at /app/.
MOBILE_WEB_ROOT = BASE_DIR / "mobile" / "dist"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["accounts.authentication.JWTAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "algotrader.api_errors.exception_handler",
    "DEFAULT_THROTTLE_RATES": {
        "login_ip": env_str("THROTTLE_LOGIN_IP", "30/min"),
        "login_email": env_str("THROTTLE_LOGIN_EMAIL", "5/min"),
        "register_ip": env_str("THROTTLE_REGISTER_IP", "20/hour"),
    },
    "NUM_PROXIES": env_int("NUM_PROXIES", 0, minimum=0),
}

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env_int("JWT_ACCESS_MINUTES", 15, minimum=1)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env_int("JWT_REFRESH_DAYS", 7, minimum=1)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": True,
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "user_id",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Algotrader API",
    "DESCRIPTION": "Automate simple intraday strategies on Indian brokers.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}

CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = "UTC"
CELERY_ENABLE_UTC = True
# A task is acknowledged only after it ran, and re-queued if its worker dies mid-way:
# every task must therefore be safe to run twice.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "orders"
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULER = "algotrader.beat:HeartbeatScheduler"
# Platform routines (strategy triggers are rows of their own, armed per strategy). Celery's
# clock is UTC: 03:00 and 03:15 UTC are 08:30 and 08:45 IST, before NSE opens at 09:15.
CELERY_BEAT_SCHEDULE = {
    "load-instruments": {"task": "strategies.tasks.load_instruments_task", "schedule": crontab(minute=0, hour=3)},
    "premarket-check": {"task": "execution.tasks.premarket_check_task", "schedule": crontab(minute=15, hour=3)},
    "reconcile": {"task": "execution.tasks.reconcile_task", "schedule": 120.0},
}
BEAT_HEARTBEAT_KEY = "beat:heartbeat"
BEAT_HEARTBEAT_STALE_SECONDS = env_int("BEAT_HEARTBEAT_STALE_SECONDS", 30, minimum=2)

MARKET_DATA_SOURCE = env_choice("MARKET_DATA_SOURCE", "paper", {"paper", "zerodha"})
MARKET_DATA_API_KEY = env_str("MARKET_DATA_API_KEY", None)
MARKET_DATA_ACCESS_TOKEN = env_str("MARKET_DATA_ACCESS_TOKEN", None)
FEED_STALE_SECONDS = env_int("FEED_STALE_SECONDS", 10, minimum=1)
MARKET_CALENDAR = env_choice("MARKET_CALENDAR", "NSE", {"NSE", "ALWAYS_OPEN"})
KITE_API_ROOT = env_url("KITE_API_ROOT", "https://api.kite.trade", {"http", "https"})
KITE_TICKER_URL = env_url("KITE_TICKER_URL", "wss://ws.kite.trade", {"ws", "wss"})
# Other brokers' REST roots, for a sandbox or a simulator; unset means their production APIs.
DHAN_API_ROOT = env_url("DHAN_API_ROOT", None, {"http", "https"})
FYERS_API_ROOT = env_url("FYERS_API_ROOT", None, {"http", "https"})
ANGELONE_API_ROOT = env_url("ANGELONE_API_ROOT", None, {"http", "https"})
ALGO_ID = env_str("ALGO_ID", None)
BROKER_EGRESS_PROXY = env_url("BROKER_EGRESS_PROXY", None, {"http", "https", "socks5", "socks5h"})

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_context": {"()": "algotrader.logging.RequestContextFilter"},
        "redact_secrets": {"()": "algotrader.logging.RedactSecretsFilter"},
    },
    "formatters": {"json": {"()": "algotrader.logging.JsonFormatter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "filters": ["request_context", "redact_secrets"],
        }
    },
    "root": {"handlers": ["console"], "level": env_choice("LOG_LEVEL", "INFO", {"DEBUG", "INFO", "WARNING", "ERROR"})},
    "loggers": {
        # Our own request log replaces Django's and uvicorn's access lines.
        "django.request": {"level": "ERROR"},
        "django.server": {"level": "ERROR"},
        "uvicorn.access": {"level": "WARNING"},
    },
}

# Set by `make run`/`make test` when they started the embedded servers; /health reports it.
EMBEDDED_SERVICES = env_list("ALGOTRADER_EMBEDDED", [])
EMBEDDED_DATABASE = "postgresql" in EMBEDDED_SERVICES
EMBEDDED_REDIS = "redis" in EMBEDDED_SERVICES
HEALTH_WORKER_PING_SECONDS = 0.5
