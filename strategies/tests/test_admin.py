from django.contrib.auth.models import Group

from accounts.models import User
from conftest import PASSWORD
from strategies.models import Strategy


def test_it_gives_support_view_permissions_and_stop(db):
    codenames = set(Group.objects.get(name="Support").permissions.values_list("codename", flat=True))

    assert {"view_strategy", "view_strategyrun", "view_strategyevent", "view_instrument", "stop_strategy"} <= codenames
    assert not {"change_strategy", "delete_strategy", "change_instrument"} & codenames


def test_support_sees_a_strategy_with_its_audit_trail(client, support, strategy):
    client.login(email="support@example.com", password=PASSWORD)

    assert client.get("/admin/strategies/strategy/?status__exact=created").status_code == 200
    page = client.get(f"/admin/strategies/strategy/{strategy.pk}/change/")
    assert page.status_code == 200
    assert b"created" in page.content
    assert client.post(f"/admin/strategies/strategy/{strategy.pk}/change/", {"quantity": 1}).status_code == 403


def test_support_stops_a_strategy_as_staff(client, support, strategy):
    Strategy.objects.filter(pk=strategy.pk).update(status=Strategy.Status.RUNNING)
    client.login(email="support@example.com", password=PASSWORD)

    response = client.post(
        "/admin/strategies/strategy/", {"action": "stop_strategies", "_selected_action": [str(strategy.pk)]}
    )

    assert response.status_code == 302
    strategy.refresh_from_db()
    assert strategy.status == "stopped"
    event = strategy.events.get(kind="stopped")
    assert (event.actor_type, event.actor) == ("staff", support)


def test_support_cannot_edit_instruments_or_holidays(client, support, instruments):
    client.login(email="support@example.com", password=PASSWORD)

    assert client.get("/admin/strategies/instrument/").status_code == 200
    assert client.get("/admin/strategies/instrument/add/").status_code == 403
    assert client.get("/admin/strategies/tradingholiday/add/").status_code == 403


def test_a_superuser_edits_holidays(client, db):
    client.force_login(User.objects.create_superuser(email="root@example.com", password=PASSWORD))

    assert client.get("/admin/strategies/tradingholiday/add/").status_code == 200


def test_support_sees_links_to_the_armed_triggers(client, support, strategy):
    from datetime import UTC, datetime

    from django_celery_beat.models import PeriodicTask

    from strategies import schedules

    Strategy.objects.filter(pk=strategy.pk).update(status=Strategy.Status.RUNNING)
    strategy.refresh_from_db()
    schedules.arm(strategy, now=datetime(2026, 11, 23, 3, 0, tzinfo=UTC))
    client.login(email="support@example.com", password=PASSWORD)

    html = client.get(f"/admin/strategies/strategy/{strategy.pk}/change/").content.decode()

    for row in PeriodicTask.objects.filter(name__startswith=f"strategy:{strategy.pk}:"):
        assert f"/admin/django_celery_beat/periodictask/{row.pk}/change/" in html
    assert "2026-11-23 09:30:00 IST" in html
