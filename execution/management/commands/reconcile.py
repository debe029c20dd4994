from django.core.management.base import BaseCommand, CommandParser

from brokers.models import BrokerAccount
from execution import services
from strategies.models import StrategyRun


class Command(BaseCommand):
    help = "Compares open runs with the broker's orders and positions; fixes what the broker proves, flags the rest."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--account", help="Only this broker account (its id).")

    def handle(self, *args: object, account: str | None, **options: object) -> None:
        accounts = BrokerAccount.objects.filter(strategies__runs__position__in=StrategyRun.OPEN_POSITIONS).distinct()
        if account:
            accounts = accounts.filter(pk=account)
        for broker_account in accounts:
            result = services.reconcile_account(account=broker_account)
            self.stdout.write(f"{broker_account.pk}: fixed {result['fixed']}, flagged {result['flagged']}")
