from django.core.management.base import BaseCommand

from execution import runtime


class Command(BaseCommand):
    help = "Rebuilds the Redis runtime (running strategies, positions, stop-loss index) from the database."

    def handle(self, *args: object, **options: object) -> None:
        count = runtime.rebuild()
        self.stdout.write(f"Rebuilt the runtime of {count} running strateg{'y' if count == 1 else 'ies'}.")
