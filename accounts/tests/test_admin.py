from django.contrib.auth.models import Group

from conftest import PASSWORD


def test_it_creates_the_support_group_with_view_permissions(db):
    support = Group.objects.get(name="Support")

    assert "view_user" in set(support.permissions.values_list("codename", flat=True))
    assert not support.permissions.filter(codename__in=["change_user", "delete_user"]).exists()


def test_support_staff_can_view_users_but_not_change_them(client, support, alice):
    assert client.login(email="support@example.com", password=PASSWORD)

    assert client.get("/admin/accounts/user/").status_code == 200
    assert b"alice@example.com" in client.get("/admin/accounts/user/").content
    assert client.post(f"/admin/accounts/user/{alice.pk}/change/", {"email": "x@example.com"}).status_code == 403


def test_a_trader_cannot_enter_the_admin(client, alice):
    client.login(email="alice@example.com", password=PASSWORD)

    response = client.get("/admin/accounts/user/")

    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
