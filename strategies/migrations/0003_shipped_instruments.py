"""Loads the shipped NSE equity list, so tests and demos know TCS, INFY and the rest without
a broker. `manage.py load_instruments` refreshes it (or loads Kite's full list) later."""

from django.db import migrations

from strategies.instruments import rows_from_csv, shipped_csv_path, upsert_instruments


def load_shipped_list(apps, schema_editor):
    path = shipped_csv_path()
    if not path.exists():  # a deployment without the paper list loads instruments with the command
        return
    upsert_instruments(apps.get_model("strategies", "Instrument"), rows_from_csv(path.read_text(encoding="utf-8")))


class Migration(migrations.Migration):
    dependencies = [("strategies", "0002_nse_holidays")]

    operations = [migrations.RunPython(load_shipped_list, migrations.RunPython.noop)]
