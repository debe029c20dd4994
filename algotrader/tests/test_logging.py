import io
import json
import logging

import pytest
from django.test import override_settings

from algotrader.logging import JsonFormatter, RedactSecretsFilter, RequestContextFilter


@pytest.fixture
def log_lines():
    """What the platform's handler writes, as parsed JSON lines."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestContextFilter())
    handler.addFilter(RedactSecretsFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    root.removeHandler(handler)


def test_it_keeps_secrets_out_of_messages_arguments_and_extras(log_lines):
    logging.getLogger("brokers").warning(
        "connect failed for %s with api_secret=%s token: %s",
        {"api_key": "kite-key-1234", "client_id": "AB1234"},
        "s3cr3t-value",
        "eyJhbGciOiJIUzI1NiJ9.eyJ1c2VyIjoiYWxpY2UifQ.c2lnbmF0dXJlLXZhbHVl",
        extra={"access_token": "tok-5678", "payload": {"password": "hunter22", "symbol": "TCS"}},
    )

    (line,) = log_lines()
    text = json.dumps(line)
    for secret in ("kite-key-1234", "s3cr3t-value", "eyJhbGciOiJIUzI1NiJ9", "tok-5678", "hunter22"):
        assert secret not in text
    assert "AB1234" in text
    assert line["payload"]["symbol"] == "TCS"


def test_it_keeps_secrets_out_of_tracebacks(log_lines):
    try:
        raise ValueError("login failed: password=hunter22")
    except ValueError:
        logging.getLogger("accounts").exception("boom")

    (line,) = log_lines()
    assert "hunter22" not in json.dumps(line)
    assert "ValueError" in line["exception"]


@override_settings(DEBUG=False)
def test_it_writes_one_line_per_request_with_its_id(client, db, log_lines):
    response = client.get("/api/v1/auth/me", HTTP_X_REQUEST_ID="req-0123456789")

    assert response["X-Request-ID"] == "req-0123456789"
    lines = [line for line in log_lines() if line["logger"] == "algotrader.request"]
    assert len(lines) == 1
    assert lines[0]["request_id"] == "req-0123456789"
    assert lines[0]["status"] == 401
    assert lines[0]["path"] == "/api/v1/auth/me"


def test_it_replaces_an_unsafe_request_id(client, db, log_lines):
    response = client.get("/health", HTTP_X_REQUEST_ID="bad id\nwith newline")

    assert response["X-Request-ID"] != "bad id\nwith newline"
    assert len(response["X-Request-ID"]) == 32
