from datetime import date, datetime, time

import pytest

from strategies.calendar import IST, calendar_for
from strategies.models import TradingHoliday


@pytest.fixture
def nse(db):
    return calendar_for("NSE")


def test_it_closes_on_weekends(nse):
    assert nse.is_trading_day(date(2026, 11, 20))  # Friday
    assert not nse.is_trading_day(date(2026, 11, 21))
    assert not nse.is_trading_day(date(2026, 11, 22))


def test_it_knows_the_seeded_nse_holidays(nse):
    assert not nse.is_trading_day(date(2026, 11, 24))  # Guru Nanak Jayanti, a Tuesday
    assert not nse.is_trading_day(date(2026, 12, 25))
    assert TradingHoliday.objects.filter(date__year=2027).exists()


def test_it_finds_the_next_trading_day_across_weekends_and_holidays(nse):
    assert nse.next_trading_day(date(2026, 11, 20)) == date(2026, 11, 23)
    assert nse.next_trading_day(date(2026, 11, 23)) == date(2026, 11, 25)  # skips the 24th
    assert nse.next_trading_day(date(2026, 12, 24)) == date(2026, 12, 28)


def test_it_opens_at_0915_and_closes_at_1530_ist(nse):
    assert nse.session_open(date(2026, 11, 23)) == datetime(2026, 11, 23, 9, 15, tzinfo=IST)
    assert nse.session_close(date(2026, 11, 23)) == datetime(2026, 11, 23, 15, 30, tzinfo=IST)
    with pytest.raises(ValueError, match="closed"):
        nse.session_open(date(2026, 11, 22))


def test_the_next_session_is_today_until_the_close(nse):
    assert nse.next_session_date(datetime(2026, 11, 23, 15, 29, tzinfo=IST)) == date(2026, 11, 23)
    assert nse.next_session_date(datetime(2026, 11, 23, 15, 30, tzinfo=IST)) == date(2026, 11, 25)
    assert nse.next_session_date(datetime(2026, 11, 23, 4, 0, tzinfo=IST)) == date(2026, 11, 23)


def test_a_special_session_opens_a_closed_day_with_its_own_hours(db):
    TradingHoliday.objects.create(
        date=date(2026, 11, 8), description="Muhurat trading", session_open=time(18), session_close=time(19, 15)
    )
    nse = calendar_for("NSE")

    assert nse.is_trading_day(date(2026, 11, 8))  # a Sunday
    assert nse.session_open(date(2026, 11, 8)) == datetime(2026, 11, 8, 18, tzinfo=IST)
    assert nse.session_close(date(2026, 11, 8)) == datetime(2026, 11, 8, 19, 15, tzinfo=IST)


def test_always_open_trades_every_day_all_day():
    always = calendar_for("ALWAYS_OPEN")

    assert always.is_trading_day(date(2026, 11, 22))
    assert always.is_trading_day(date(2026, 12, 25))
    assert always.next_trading_day(date(2026, 11, 21)) == date(2026, 11, 22)
    assert always.session_open(date(2026, 11, 22)) == datetime(2026, 11, 22, 0, 0, tzinfo=IST)
    assert always.session_close(date(2026, 11, 22)) == datetime(2026, 11, 22, 23, 59, 59, tzinfo=IST)
    assert always.next_session_date(datetime(2026, 11, 22, 23, 0, tzinfo=IST)) == date(2026, 11, 22)


def test_it_refuses_an_unknown_calendar():
    with pytest.raises(ValueError, match="Unknown"):
        calendar_for("LSE")


def test_a_strategy_triggers_only_in_a_session_that_fits_its_window(strategy):
    TradingHoliday.objects.create(
        date=date(2026, 11, 23), description="Muhurat", session_open=time(18), session_close=time(19)
    )
    nse = calendar_for("NSE")

    triggers = strategy.next_trigger_times(nse, datetime(2026, 11, 21, 12, tzinfo=IST))

    assert triggers == {
        "buy": datetime(2026, 11, 25, 9, 30, tzinfo=IST),
        "sell": datetime(2026, 11, 25, 15, 15, tzinfo=IST),
    }
