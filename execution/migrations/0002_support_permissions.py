"""Support staff see the order log (raw broker responses included) to answer "what happened to
my order"; they change nothing there."""

from django.db import migrations

CODENAMES = ["view_order"]


def grant_support(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    # Permissions are normally created after all migrations; this one needs them now.
    app_config = apps.get_app_config("execution")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    support, _ = Group.objects.get_or_create(name="Support")
    support.permissions.add(*Permission.objects.filter(content_type__app_label="execution", codename__in=CODENAMES))


def revoke_support(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for support in Group.objects.filter(name="Support"):
        support.permissions.remove(
            *Permission.objects.filter(content_type__app_label="execution", codename__in=CODENAMES)
        )


class Migration(migrations.Migration):
    dependencies = [
        ("execution", "0001_initial"),
        ("accounts", "0002_support_group"),
    ]

    operations = [migrations.RunPython(grant_support, revoke_support)]
