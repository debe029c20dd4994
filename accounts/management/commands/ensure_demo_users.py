from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand

from accounts.models import User
from algotrader.devstack import DEMO_USERS


class Command(BaseCommand):
    help = "Creates the demo trader and the demo support user of `make run` if they are missing."

    def handle(self, *args: object, **options: object) -> None:
        trader_email, trader_password = DEMO_USERS["trader"]
        if not User.objects.filter(email=trader_email).exists():
            User.objects.create_user(trader_email, trader_password)
        staff_email, staff_password = DEMO_USERS["staff"]
        if not User.objects.filter(email=staff_email).exists():
            staff = User.objects.create_user(staff_email, staff_password, is_staff=True)
            staff.groups.add(Group.objects.get(name="Support"))
