"""When the market is open: trading days and session hours, in IST.

`calendar_for(settings.MARKET_CALENDAR)` gives the NSE calendar (weekdays minus the
`TradingHoliday` rows, 09:15-15:30 IST, special sessions from their rows) or, for demos and
tests outside market hours, ALWAYS_OPEN (every day, 00:00-23:59:59).
"""

from datetime import date, datetime, time, timedelta
from functools import cached_property
from zoneinfo import ZoneInfo

IST = ZoneInfo("Asia/Kolkata")

# More than any run of closed days an exchange has had; a longer search means a bad holiday table.
_MAX_CLOSED_RUN = 30


class TradingCalendar:
    name: str
    tz = IST
    opens = time(0, 0)
    closes = time(23, 59, 59)

    def regular_session_hours(self) -> tuple[time, time]:
        """The hours inside which a strategy's BUY and SELL times must fall."""
        return self.opens, self.closes

    def is_trading_day(self, day: date) -> bool:
        return True

    def session_hours(self, day: date) -> tuple[time, time]:
        return self.opens, self.closes

    def at(self, day: date, wall_time: time) -> datetime:
        """An IST wall time on a day as an aware datetime."""
        return datetime.combine(day, wall_time, tzinfo=self.tz)

    def session_open(self, day: date) -> datetime:
        return self.at(day, self.session_hours(day)[0])

    def session_close(self, day: date) -> datetime:
        return self.at(day, self.session_hours(day)[1])

    def next_trading_day(self, day: date) -> date:
        """The first trading day strictly after `day`."""
        for offset in range(1, _MAX_CLOSED_RUN + 1):
            candidate = day + timedelta(days=offset)
            if self.is_trading_day(candidate):
                return candidate
        raise LookupError(f"No trading day within {_MAX_CLOSED_RUN} days after {day}: check the holiday table.")

    def next_session_date(self, now: datetime) -> date:
        """Today's session while it has not closed yet, otherwise the next trading day's."""
        today = now.astimezone(self.tz).date()
        if self.is_trading_day(today) and now < self.session_close(today):
            return today
        return self.next_trading_day(today)


class AlwaysOpenCalendar(TradingCalendar):
    name = "ALWAYS_OPEN"


class ExchangeCalendar(TradingCalendar):
    """Weekdays are trading days unless a `TradingHoliday` row closes them; a row with its own
    hours is a special session (e.g. Muhurat trading on a Diwali weekend)."""

    def __init__(self, exchange: str, opens: time, closes: time) -> None:
        self.name = exchange
        self.exchange = exchange
        self.opens = opens
        self.closes = closes

    @cached_property
    def _exceptions(self) -> dict[date, tuple[time, time] | None]:
        # Read once per calendar object: callers make one per request or job, so support's
        # edits in the admin apply from the next one on.
        from strategies.models import TradingHoliday

        rows = TradingHoliday.objects.filter(exchange=self.exchange)
        return {row.date: (row.session_open, row.session_close) if row.is_special_session else None for row in rows}

    def is_trading_day(self, day: date) -> bool:
        if day in self._exceptions:
            return self._exceptions[day] is not None
        return day.weekday() < 5

    def session_hours(self, day: date) -> tuple[time, time]:
        if not self.is_trading_day(day):
            raise ValueError(f"{self.exchange} is closed on {day}.")
        return self._exceptions.get(day) or (self.opens, self.closes)


def calendar_for(name: str) -> TradingCalendar:
    if name == "NSE":
        return ExchangeCalendar("NSE", opens=time(9, 15), closes=time(15, 30))
    if name == "ALWAYS_OPEN":
        return AlwaysOpenCalendar()
    raise ValueError(f"Unknown market calendar {name!r}.")


def market_calendar() -> TradingCalendar:
    """The calendar the deployment trades on (settings.MARKET_CALENDAR)."""
    from django.conf import settings

    return calendar_for(settings.MARKET_CALENDAR)
