from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection

from brokers.models import BrokerAccount


def _forget_cached_keys() -> None:
    """The encrypted fields cache their keys from settings; a rotation must reach them."""
    for field in BrokerAccount._meta.fields:
        for cached in ("keys", "fernet_keys", "fernet"):
            field.__dict__.pop(cached, None)


def _raw_key(account_id) -> bytes:
    with connection.cursor() as cursor:
        cursor.execute("SELECT api_key FROM brokers_brokeraccount WHERE id = %s", [account_id])
        return bytes(cursor.fetchone()[0])


def test_it_keeps_accounts_readable_across_a_key_rotation(alice, settings):
    old_key = settings.FERNET_KEYS[0]
    account = BrokerAccount.objects.create(
        user=alice, broker="zerodha", api_key="kite-key-1", api_secret="s", access_token="tok-1"
    )
    before = _raw_key(account.pk)
    new_key = Fernet.generate_key().decode()
    settings.FERNET_KEYS = [new_key, old_key]
    _forget_cached_keys()

    call_command("reencrypt_secrets")

    after = _raw_key(account.pk)
    assert after != before
    settings.FERNET_KEYS = [new_key]  # the old key is gone: rows must still decrypt
    _forget_cached_keys()
    reread = BrokerAccount.objects.get(pk=account.pk)
    assert (reread.api_key, reread.api_secret, reread.access_token) == ("kite-key-1", "s", "tok-1")
    settings.FERNET_KEYS = [old_key]
    _forget_cached_keys()
