"""NSE equity-segment trading holidays for 2026 and 2027 (weekdays only: weekends are closed anyway).

2026: NSE circular NSE/CMTR/71775 of December 2025, "Trading holidays for the calendar year
2026", as we know it, plus 15 January 2026, declared a holiday later for the Maharashtra
municipal elections.
2027: NSE had not published its 2027 circular when this was written (November 2026). The
fixed-date holidays are certain; the festival dates (marked "provisional") are our best
estimate from the Hindu and Islamic calendars. Support must check them against the circular
when it appears (admin: Strategies > Trading holidays) - a wrong row only moves triggers.
Special sessions (Muhurat trading) are added in the admin once NSE announces their hours.
"""

from datetime import date

from django.db import migrations

HOLIDAYS = [
    (date(2026, 1, 15), "Municipal Corporation elections in Maharashtra"),
    (date(2026, 1, 26), "Republic Day"),
    (date(2026, 3, 3), "Holi"),
    (date(2026, 3, 26), "Shri Ram Navami"),
    (date(2026, 3, 31), "Shri Mahavir Jayanti"),
    (date(2026, 4, 3), "Good Friday"),
    (date(2026, 4, 14), "Dr. Baba Saheb Ambedkar Jayanti"),
    (date(2026, 5, 1), "Maharashtra Day"),
    (date(2026, 5, 28), "Bakri Id"),
    (date(2026, 6, 26), "Muharram"),
    (date(2026, 9, 14), "Ganesh Chaturthi"),
    (date(2026, 10, 2), "Mahatma Gandhi Jayanti"),
    (date(2026, 10, 20), "Dussehra"),
    (date(2026, 11, 10), "Diwali Balipratipada"),
    (date(2026, 11, 24), "Prakash Gurpurb Sri Guru Nanak Dev"),
    (date(2026, 12, 25), "Christmas"),
    (date(2027, 1, 26), "Republic Day"),
    (date(2027, 3, 22), "Holi (provisional)"),
    (date(2027, 3, 26), "Good Friday"),
    (date(2027, 4, 14), "Dr. Baba Saheb Ambedkar Jayanti"),
    (date(2027, 4, 15), "Shri Ram Navami (provisional)"),
    (date(2027, 5, 17), "Bakri Id (provisional)"),
    (date(2027, 6, 16), "Muharram (provisional)"),
    (date(2027, 10, 29), "Diwali Laxmi Pujan (provisional)"),
]


def add_holidays(apps, schema_editor):
    TradingHoliday = apps.get_model("strategies", "TradingHoliday")
    for day, description in HOLIDAYS:
        TradingHoliday.objects.get_or_create(exchange="NSE", date=day, defaults={"description": description})


def remove_holidays(apps, schema_editor):
    TradingHoliday = apps.get_model("strategies", "TradingHoliday")
    TradingHoliday.objects.filter(exchange="NSE", date__in=[day for day, _ in HOLIDAYS]).delete()


class Migration(migrations.Migration):
    dependencies = [("strategies", "0001_initial")]

    operations = [migrations.RunPython(add_holidays, remove_holidays)]
