"""Working calendars: business hours between two instants, and an instant N business hours on.

All targets (time to accept, update cadence, time to resolve) are counted in the receiving
team's business hours, in its own time zone, skipping weekends and its holidays.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

# Beyond this many calendar days without a working minute the calendar is considered broken.
_MAX_SEARCH_DAYS = 3660
# A target a calendar cannot meet within this many days (a year of business hours on a calendar
# of one short day a week) is due at the end of it: never, in practice, and never an error.
_FOREVER_DAYS = 200 * 366
# Days whose hours one calendar keeps worked out (a few years of history).
_MAX_CACHED_DAYS = 4096
_ONE_DAY = timedelta(days=1)


@lru_cache(maxsize=256)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


@dataclass(frozen=True)
class WorkingCalendar:
    """A team's working week: local business hours, ISO weekdays worked, and holidays."""

    timezone: str = "UTC"
    day_start_minute: int = 9 * 60
    day_end_minute: int = 17 * 60
    working_days: frozenset[int] = frozenset({1, 2, 3, 4, 5})
    holidays: frozenset[date] = field(default_factory=frozenset)
    # Each local day's business hours (None: not a working day), worked out once per calendar:
    # a history import asks about the same few hundred days hundreds of thousands of times.
    _days: dict[date, tuple[datetime, datetime] | None] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )

    def __post_init__(self) -> None:
        if not 0 <= self.day_start_minute < self.day_end_minute <= 24 * 60:
            raise ValueError("business hours must start before they end, within one day")
        if not self.working_days or not self.working_days <= {1, 2, 3, 4, 5, 6, 7}:
            raise ValueError("working days must be a non-empty set of ISO weekdays 1-7")
        _zone(self.timezone)

    @property
    def business_seconds_per_day(self) -> int:
        return (self.day_end_minute - self.day_start_minute) * 60

    def is_working_day(self, day: date) -> bool:
        return day.isoweekday() in self.working_days and day not in self.holidays

    def business_hours_on(self, day: date) -> tuple[datetime, datetime] | None:
        """A local day's business hours as UTC instants, or None when it is not a working day."""
        return self._hours(day)

    def _window(self, day: date) -> tuple[datetime, datetime]:
        """The UTC instants at which business hours open and close on a local day."""
        return _day_window(self.timezone, self.day_start_minute, self.day_end_minute, day)

    def _local_day(self, instant: datetime) -> date:
        if instant.tzinfo is UTC and self.timezone == "UTC":
            return instant.date()  # already in the calendar's zone (most imported history)
        return instant.astimezone(_zone(self.timezone)).date()

    def _hours(self, day: date) -> tuple[datetime, datetime] | None:
        """The day's business hours as UTC instants, or None when it is not a working day."""
        days = self._days
        if day in days:
            return days[day]
        if len(days) >= _MAX_CACHED_DAYS:
            days.clear()
        hours = days[day] = self._window(day) if self.is_working_day(day) else None
        return hours


# The same few hundred days come up again and again (every handoff, pause and target of a
# history import or a busy desk): work each one out once.
@lru_cache(maxsize=65536)
def _day_window(
    timezone: str, start_minute: int, end_minute: int, day: date
) -> tuple[datetime, datetime]:
    midnight = datetime.combine(day, time(0), tzinfo=_zone(timezone))
    opens = (midnight + timedelta(minutes=start_minute)).astimezone(UTC)
    closes = (midnight + timedelta(minutes=end_minute)).astimezone(UTC)
    return opens, closes


def business_seconds_between(calendar: WorkingCalendar, start: datetime, end: datetime) -> float:
    """Business seconds in [start, end); zero when end is not after start. Never negative."""
    if end <= start:
        return 0.0
    day = calendar._local_day(start)
    last_day = calendar._local_day(end)
    total = 0.0
    days = calendar._days
    while day <= last_day:
        hours = days[day] if day in days else calendar._hours(day)
        if hours is not None:
            opens, closes = hours
            lo = start if start > opens else opens  # max(), keeping its tie rule
            hi = end if end < closes else closes
            if hi > lo:
                total += (hi - lo).total_seconds()
        day += _ONE_DAY
    return total


def add_business_seconds(calendar: WorkingCalendar, start: datetime, seconds: float) -> datetime:
    """The earliest instant at which `seconds` business seconds have passed since `start`."""
    if seconds < 0:
        raise ValueError("cannot add a negative business time")
    day = calendar._local_day(start)
    remaining = seconds
    days = calendar._days
    for searched in range(_FOREVER_DAYS):
        if searched == _MAX_SEARCH_DAYS and remaining == seconds and seconds > 0:
            raise ValueError("calendar has no working time in ten years")
        hours = days[day] if day in days else calendar._hours(day)
        if hours is not None:
            opens, closes = hours
            lo = start if start > opens else opens  # max(), keeping its tie rule
            if closes > lo:
                available = (closes - lo).total_seconds()
                if remaining <= available:
                    # A zero remainder before opening time means "at opening".
                    return lo + timedelta(seconds=remaining)
                remaining -= available
        day += _ONE_DAY
    return calendar._window(day)[0]


def add_business_hours(calendar: WorkingCalendar, start: datetime, hours: float) -> datetime:
    return add_business_seconds(calendar, start, hours * 3600.0)


def business_hours_between(calendar: WorkingCalendar, start: datetime, end: datetime) -> float:
    return business_seconds_between(calendar, start, end) / 3600.0
