"""Indexes for the strategy triggers the beat scheduler reads every tick (strategies.schedules).

Partial indexes on django-celery-beat's table, limited to the engine's task: the due query
scans only pending triggers, however many fired ones accumulate, and disarm finds a
strategy's rows by name prefix without scanning the table."""

from django.db import migrations

TASK = "execution.tasks.execute_trigger_task"

CREATE = [
    "CREATE INDEX strategies_trigger_pending_due ON django_celery_beat_periodictask (start_time) "
    f"WHERE enabled AND task = '{TASK}'",
    "CREATE INDEX strategies_trigger_name_prefix ON django_celery_beat_periodictask (name varchar_pattern_ops) "
    f"WHERE task = '{TASK}'",
]
DROP = ["DROP INDEX strategies_trigger_pending_due", "DROP INDEX strategies_trigger_name_prefix"]


class Migration(migrations.Migration):
    dependencies = [
        ("strategies", "0004_support_permissions"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunSQL(CREATE, DROP)]
