from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import User
from execution import services


class Command(BaseCommand):
    help = "Stops every active strategy (of one user, or of everyone) and exits every open position."

    def add_arguments(self, parser: CommandParser) -> None:
        group = parser.add_mutually_exclusive_group(required=True)
        group.add_argument("--user", metavar="EMAIL", help="Only this user's strategies.")
        group.add_argument("--all", action="store_true", help="Every user's strategies.")

    def handle(self, *args: object, user: str | None, all: bool, **options: object) -> None:
        target = None
        if user:
            target = User.objects.filter(email__iexact=user).first()
            if target is None:
                raise CommandError(f"No user {user}.")
        result = services.kill_switch(user=target)
        self.stdout.write(f"stopped {result['stopped']} strategy(ies), queued {result['exits']} exit(s)")
