from django.contrib.auth.models import Group
from django.test import Client


def test_it_lets_support_read_orders_and_change_none(support):
    codenames = set(Group.objects.get(name="Support").permissions.values_list("codename", flat=True))
    client = Client()
    client.force_login(support)

    assert "view_order" in codenames
    assert "change_order" not in codenames
    assert client.get("/admin/execution/order/?status__exact=rejected").status_code == 200
