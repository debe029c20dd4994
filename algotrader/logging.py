"""One JSON line per log record, with the request id, and no secrets in any of them.

Every HTTP request and every Celery task gets a request id (taken from `X-Request-ID` when
the caller sends a sane one); log lines written while handling it carry that id, and
tasks enqueued from a request inherit it through a message header.
"""

import contextvars
import json
import logging
import re
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponse
from django.utils.functional import LazyObject, empty

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)

_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
REDACTED = "[redacted]"

# Key names whose values are secrets wherever they appear: in `extra`, in dicts passed as
# log arguments, and in `key=value` / `"key": "value"` text inside a message.
_SECRET_KEY_RE = re.compile(
    r"(password|passwd|secret|token|api_key|apikey|authorization|access|refresh|checksum|totp|pin)",
    re.IGNORECASE,
)
_SECRET_PAIR_RE = re.compile(
    r"""(?P<key>["']?[\w-]*(?:password|passwd|secret|token|api_key|apikey|authorization|checksum|totp)[\w-]*["']?)"""
    r"""(?P<sep>\s*[:=]\s*)(?P<quote>["']?)(?P<value>(?:Bearer\s+|token\s+)?[^\s"',&}]+)""",
    re.IGNORECASE,
)
# JWTs (three base64url parts, the first starting with '{"' encoded) are secrets anywhere.
_JWT_RE = re.compile(r"eyJ[\w-]{6,}\.[\w-]{6,}\.[\w-]{6,}")


def new_request_id() -> str:
    return uuid.uuid4().hex


def redact_text(text: str) -> str:
    text = _JWT_RE.sub(REDACTED, text)
    return _SECRET_PAIR_RE.sub(lambda m: f"{m['key']}{m['sep']}{m['quote']}{REDACTED}", text)


def redact(value: object) -> object:
    """A copy of `value` with secret-looking entries replaced, for dicts, lists and text."""
    if isinstance(value, dict):
        return {
            key: REDACTED if isinstance(key, str) and _SECRET_KEY_RE.search(key) else redact(item)
            for key, item in value.items()
        }
    if isinstance(value, (list, tuple)):
        return type(value)(redact(item) for item in value)
    if isinstance(value, str):
        return redact_text(value)
    return value


class RedactSecretsFilter(logging.Filter):
    """Rewrites the record so that no handler, formatter or traceback can leak a secret."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        record.msg = redact_text(message)
        record.args = None
        for key, value in list(vars(record).items()):
            if key in _STANDARD_ATTRS:
                continue
            record.__dict__[key] = REDACTED if _SECRET_KEY_RE.search(key) else redact(value)
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact_text(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


class RequestContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            record.request_id = request_id_var.get()
        return True


_STANDARD_ATTRS = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "request_id", "taskName"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None)
        if request_id:
            line["request_id"] = request_id
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS:
                line[key] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exception"] = record.exc_text
        return json.dumps(line, default=str)


request_logger = logging.getLogger("algotrader.request")


class RequestLogMiddleware:
    """Assigns the request id and writes one line per request when it is answered.

    Async-capable, so that under ASGI Django does not run it, and everything after it, on
    a thread of its own (two thread hops per request)."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if self.is_async:
            return self.__acall__(request)  # type: ignore[return-value]
        request_id = _request_id(request)
        token, started = request_id_var.set(request_id), time.perf_counter()
        try:
            return self._answered(request, self.get_response(request), request_id, started)
        finally:
            request_id_var.reset(token)

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        request_id = _request_id(request)
        token, started = request_id_var.set(request_id), time.perf_counter()
        try:
            response = await self.get_response(request)  # type: ignore[misc]
            return self._answered(request, response, request_id, started)
        finally:
            request_id_var.reset(token)

    def _answered(self, request: HttpRequest, response: HttpResponse, request_id: str, started: float) -> HttpResponse:
        response["X-Request-ID"] = request_id
        request_logger.info(
            "%s %s %s",
            request.method,
            request.path,
            response.status_code,
            extra={
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                "user_id": _user_id(request),
            },
        )
        return response


def _request_id(request: HttpRequest) -> str:
    incoming = request.headers.get("X-Request-ID", "")
    return incoming if _REQUEST_ID_RE.match(incoming) else new_request_id()


def _user_id(request: HttpRequest) -> str | None:
    user = getattr(request, "user", None)
    # Until a view authenticates someone, request.user is AuthenticationMiddleware's lazy
    # session user: not loaded only to be logged (a query, and one that may not run on the
    # event loop).
    if user is None or (isinstance(user, LazyObject) and user._wrapped is empty):
        return None
    return str(user.pk) if user.is_authenticated else None
