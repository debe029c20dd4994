from django.core.management.base import BaseCommand
from django.db import transaction

from brokers.models import BrokerAccount

SECRET_FIELDS = ["api_key", "api_secret", "access_token", "egress_proxy"]


class Command(BaseCommand):
    help = (
        "Re-encrypts every broker secret with the first of FERNET_KEYS. After a rotation, put the "
        "new key first and keep the old ones after it, run this, then drop the old keys."
    )

    def handle(self, *args: object, **options: object) -> None:
        count = 0
        # Reading decrypts with any configured key; saving encrypts with the first one.
        for account in BrokerAccount.objects.order_by("pk").iterator(chunk_size=500):
            with transaction.atomic():
                account.save(update_fields=SECRET_FIELDS)
            count += 1
        self.stdout.write(f"Re-encrypted the secrets of {count} broker account(s).")
