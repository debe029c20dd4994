import os
import subprocess
import sys

import pytest

CHECK = "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)"


def load_settings(**env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", CHECK],
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "algotrader.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_it_loads_with_a_well_formed_environment():
    result = load_settings(DEBUG="yes")

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"


@pytest.mark.parametrize(
    ("name", "value", "complaint"),
    [
        ("DEBUG", "maybe", "DEBUG must be one of"),
        ("DATABASE_URL", "mysql://localhost/x", "DATABASE_URL must be a"),
        ("REDIS_URL", "localhost:6379", "REDIS_URL must be a"),
        ("MARKET_CALENDAR", "LSE", "MARKET_CALENDAR must be one of"),
        ("JWT_ACCESS_MINUTES", "fifteen", "JWT_ACCESS_MINUTES must be a whole number"),
        ("ALLOWED_HOSTS", "a.com,,b.com", "ALLOWED_HOSTS must be a comma-separated list"),
        ("KITE_API_ROOT", "ftp://kite", "KITE_API_ROOT must be a"),
    ],
)
def test_it_refuses_a_malformed_value(name, value, complaint):
    result = load_settings(**{name: value})

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert complaint in result.stderr


def test_it_refuses_to_start_without_a_secret_key():
    result = load_settings(SECRET_KEY="")

    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr
