from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from strategies.models import Instrument

HEADER = "instrument_token,exchange_token,tradingsymbol,name,last_price,expiry,strike,tick_size,lot_size,instrument_type,segment,exchange\n"  # noqa: E501


def write_csv(tmp_path, *rows: str) -> str:
    path = tmp_path / "instruments.csv"
    path.write_text(HEADER + "".join(f"{row}\n" for row in rows))
    return str(path)


def test_it_loads_the_shipped_list(db):
    Instrument.objects.all().delete()

    call_command("load_instruments")

    tcs = Instrument.objects.get(exchange="NSE", symbol="TCS")
    assert (tcs.name, tcs.tick_size, tcs.lot_size, tcs.instrument_token) == (
        "TATA CONSULTANCY SERV LT",
        Decimal("0.05"),
        1,
        2953217,
    )
    assert Instrument.objects.filter(symbol="INFY").exists()


def test_it_is_idempotent_and_updates_in_place(db, tmp_path):
    path = write_csv(
        tmp_path,
        "1,1,ABC,ABC LTD,10.0,,0.0,0.05,1,EQ,NSE,NSE",
        "2,2,NIFTY26DECFUT,NIFTY,0,2026-12-31,0.0,0.05,75,FUT,NFO-FUT,NFO",
    )
    call_command("load_instruments", csv=path)
    first_id = Instrument.objects.get(symbol="ABC").pk
    count = Instrument.objects.count()

    path = write_csv(tmp_path, "1,1,ABC,ABC LIMITED,10.0,,0.0,0.10,5,EQ,NSE,NSE")
    call_command("load_instruments", csv=path)

    abc = Instrument.objects.get(symbol="ABC")
    assert (abc.pk, abc.name, abc.tick_size, abc.lot_size) == (first_id, "ABC LIMITED", Decimal("0.10"), 5)
    assert Instrument.objects.count() == count
    assert not Instrument.objects.filter(symbol="NIFTY26DECFUT").exists()  # equities only


@pytest.mark.parametrize(
    "rows",
    [
        ["1,1,ABC,ABC LTD,10.0,,0.0,0.05,1,EQ,NSE,NSE", "2,2,BAD,BAD LTD,10.0,,0.0,not-a-number,1,EQ,NSE,NSE"],
        ["1,1,ABC,ABC LTD,10.0,,0.0,0.05,0,EQ,NSE,NSE"],
        [],
    ],
)
def test_a_failed_load_changes_nothing(db, tmp_path, rows):
    before = list(Instrument.objects.order_by("pk").values())

    with pytest.raises(CommandError, match="unchanged"):
        call_command("load_instruments", csv=write_csv(tmp_path, *rows))

    assert list(Instrument.objects.order_by("pk").values()) == before
    assert before  # the shipped list, loaded by the migration, is still there


def test_a_missing_file_changes_nothing(db, tmp_path):
    count = Instrument.objects.count()

    with pytest.raises(CommandError):
        call_command("load_instruments", csv=str(tmp_path / "missing.csv"))

    assert Instrument.objects.count() == count
