"""Support staff see broker accounts (never their secrets) and may mark one invalid."""

from django.db import migrations


def grant_support(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    app_config = apps.get_app_config("brokers")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    support, _ = Group.objects.get_or_create(name="Support")
    support.permissions.add(
        *Permission.objects.filter(
            content_type__app_label="brokers", codename__in=["view_brokeraccount", "mark_brokeraccount_invalid"]
        )
    )


class Migration(migrations.Migration):
    dependencies = [
        ("brokers", "0001_initial"),
        ("accounts", "0002_support_group"),
    ]

    operations = [migrations.RunPython(grant_support, migrations.RunPython.noop)]
