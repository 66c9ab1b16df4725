"""Each person's clock: instants shown in their zone and locale, typed times read in their zone.

Expected texts are written out by hand from the zones' rules (New York: EST -5, EDT -4 from the
second Sunday of March 02:00 to the first Sunday of November 02:00; Kolkata: IST +5:30, no DST;
Lord Howe: +10:30, +11 in summer, the clocks moving half an hour at 02:00), not from the code.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from followthrough.errors import InvalidInput
from followthrough.org.local_time import (
    DEFAULT_CLOCK,
    TypedTime,
    clock_of,
    end_of_today,
    format_for,
    input_value,
    local_date,
    locale_named,
    localise_text,
    offset_text,
    read_typed_time,
    show_day,
    show_instant,
    start_of_day,
    start_of_week,
    zone_abbreviation,
    zone_named,
)

NEW_YORK = clock_of("America/New_York", "en_GB")
KOLKATA = clock_of("Asia/Kolkata", "en_GB")
LORD_HOWE = clock_of("Australia/Lord_Howe", "en_GB")
NNBSP = "\u202f"  # CLDR puts a narrow no-break space before AM/PM.


def typed(text: str, clock: object, name: str = "due_at") -> TypedTime:
    result = read_typed_time(text, clock, field=name, label="By when")  # type: ignore[arg-type]
    assert isinstance(result, TypedTime), result
    return result


@dataclass
class Someone:
    timezone: str | None
    locale: str | None


# ---- showing -----------------------------------------------------------------------------------


def test_kolkata_is_five_and_a_half_hours_ahead_and_says_ist() -> None:
    at = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    assert show_instant(at, KOLKATA) == "Tue 1 Dec, 14:30 IST"
    assert offset_text(at, KOLKATA) == "UTC+5:30"


def test_new_york_names_standard_and_daylight_time_either_side_of_the_spring_change() -> None:
    # 2026-03-08: 01:59 EST is 06:59 UTC; a minute later it is 03:00 EDT.
    assert show_instant(datetime(2026, 3, 8, 6, 59, tzinfo=UTC), NEW_YORK) == "Sun 8 Mar, 01:59 EST"
    assert show_instant(datetime(2026, 3, 8, 7, 0, tzinfo=UTC), NEW_YORK) == "Sun 8 Mar, 03:00 EDT"
    assert offset_text(datetime(2026, 3, 8, 7, 0, tzinfo=UTC), NEW_YORK) == "UTC-4"


def test_new_york_shows_the_repeated_hour_twice_in_the_autumn() -> None:
    # 2026-11-01: 01:30 EDT is 05:30 UTC; an hour later it is 01:30 EST (06:30 UTC).
    assert (
        show_instant(datetime(2026, 11, 1, 5, 30, tzinfo=UTC), NEW_YORK) == "Sun 1 Nov, 01:30 EDT"
    )
    assert (
        show_instant(datetime(2026, 11, 1, 6, 30, tzinfo=UTC), NEW_YORK) == "Sun 1 Nov, 01:30 EST"
    )


def test_lord_howe_has_no_letters_so_its_half_hour_offset_is_shown() -> None:
    december = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # summer: +11
    june = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)  # winter: +10:30
    assert show_instant(december, LORD_HOWE) == "Tue 1 Dec, 20:00 UTC+11"
    assert show_instant(june, LORD_HOWE) == "Mon 1 Jun, 19:30 UTC+10:30"
    assert zone_abbreviation(june, LORD_HOWE) == "UTC+10:30"


@pytest.mark.parametrize(
    ("zone", "locale", "expected"),
    [
        # Day before month, 24-hour clock.
        ("Europe/Berlin", "de_DE", "Di., 1. Dez., 10:00 CET"),
        ("Europe/London", "en_GB", "Tue 1 Dec, 09:00 GMT"),
        ("Europe/Paris", "fr_FR", "mar. 1 déc., 10:00 CET"),
        # Month before day, 12-hour clock.
        ("America/New_York", "en_US", f"Tue, Dec 1, 4:00{NNBSP}AM EST"),
    ],
)
def test_the_locale_orders_day_and_month_and_chooses_the_clock(
    zone: str, locale: str, expected: str
) -> None:
    assert show_instant(datetime(2026, 12, 1, 9, 0, tzinfo=UTC), clock_of(zone, locale)) == expected


def test_a_day_is_the_day_on_the_persons_calendar() -> None:
    # 20:00 UTC on 30 Nov is already 1 Dec in Kolkata (01:30 IST).
    late = datetime(2026, 11, 30, 20, 0, tzinfo=UTC)
    assert show_day(late, KOLKATA) == "1 Dec"
    assert show_day(late, DEFAULT_CLOCK) == "30 Nov"
    assert show_day(late, clock_of("America/New_York", "en_US")) == "Nov 30"
    assert local_date(late, KOLKATA) == date(2026, 12, 1)


def test_format_for_uses_the_persons_zone_and_locale_and_utc_when_they_have_none() -> None:
    at = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    assert format_for(Someone("Asia/Kolkata", "en_IN"), at) == f"Tue, 1 Dec, 2:30{NNBSP}PM IST"
    assert format_for(Someone(None, None), at) == "Tue 1 Dec, 09:00 UTC"
    # A name the time zone database no longer has never breaks a page: UTC instead.
    assert format_for(Someone("Mars/Olympus_Mons", "xx_YY"), at) == "Tue 1 Dec, 09:00 UTC"


def test_a_naive_stored_instant_is_utc() -> None:
    assert show_instant(datetime(2026, 12, 1, 9, 0), KOLKATA) == "Tue 1 Dec, 14:30 IST"


@pytest.mark.parametrize("name", ["", "Mars/Olympus_Mons", "../../etc/passwd", "Asia/" * 20])
def test_unknown_zone_names_are_not_zones(name: str) -> None:
    assert zone_named(name) is None


def test_locale_names_from_a_browser_are_read() -> None:
    assert str(locale_named("en-US")) == "en_US"
    assert str(locale_named("de")) == "de"
    assert locale_named("not a locale") is None


# ---- typing ------------------------------------------------------------------------------------


def test_a_time_typed_in_kolkata_is_read_in_kolkata() -> None:
    assert typed("2026-12-01T14:30", KOLKATA).instant == datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    assert typed("2026-12-01 14:30", KOLKATA).instant == datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def test_a_date_alone_means_the_time_of_day_given_on_that_day() -> None:
    # 17:00 EST on 1 Dec is 22:00 UTC.
    assert typed("2026-12-01", NEW_YORK).instant == datetime(2026, 12, 1, 22, 0, tzinfo=UTC)


def test_a_time_skipped_by_the_spring_change_is_refused_naming_the_field() -> None:
    with pytest.raises(InvalidInput) as refused:
        typed("2026-03-08T02:30", NEW_YORK)
    assert refused.value.field == "due_at"
    assert "does not exist" in refused.value.detail
    assert "New York" in refused.value.detail


def test_lord_howes_half_hour_gap_is_refused() -> None:
    # 2026-10-04 02:00 becomes 02:30: 02:15 never happens there, 02:30 does.
    with pytest.raises(InvalidInput):
        typed("2026-10-04T02:15", LORD_HOWE)
    assert typed("2026-10-04T02:30", LORD_HOWE).instant == datetime(2026, 10, 3, 15, 30, tzinfo=UTC)


def test_a_time_that_happens_twice_takes_the_first_and_says_so() -> None:
    reading = typed("2026-11-01T01:30", NEW_YORK)
    assert reading.instant == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # 01:30 EDT
    assert "twice" in reading.note
    assert "01:30 EDT" in reading.note


def test_lord_howes_repeated_half_hour_takes_the_first() -> None:
    # 2026-04-05 02:00 (+11) goes back to 01:30 (+10:30): 01:45 happens at 14:45 and 15:15 UTC.
    reading = typed("2026-04-05T01:45", LORD_HOWE)
    assert reading.instant == datetime(2026, 4, 4, 14, 45, tzinfo=UTC)
    assert reading.note


def test_an_ordinary_time_has_no_note() -> None:
    assert typed("2026-07-01T12:00", NEW_YORK).note == ""


@pytest.mark.parametrize(
    ("text", "clock"),
    [
        ("9999-12-31T23:00", NEW_YORK),  # past the last instant Python holds, in UTC
        ("9999-12-31", NEW_YORK),
        ("0001-01-01T01:00", KOLKATA),  # before the first
        ("1969-12-31T23:59", NEW_YORK),
        ("2200-01-01T00:00", KOLKATA),
    ],
)
def test_a_time_outside_the_years_the_desk_plans_in_is_refused_naming_the_field(
    text: str, clock: object
) -> None:
    with pytest.raises(InvalidInput) as refused:
        typed(text, clock)
    assert refused.value.field == "due_at"
    assert "between 1970 and 2199" in refused.value.detail


def test_the_first_and_last_years_the_desk_plans_in_are_read() -> None:
    assert typed("1970-01-01T12:00", NEW_YORK).instant == datetime(1970, 1, 1, 17, tzinfo=UTC)
    assert typed("2199-12-31T23:00", NEW_YORK).instant == datetime(2200, 1, 1, 4, tzinfo=UTC)


@pytest.mark.parametrize("text", ["2026-11-23T15:00:00+05:30", "tomorrow", "2026-02-30T10:00", ""])
def test_text_with_its_own_offset_or_no_time_is_left_for_the_input_model(text: str) -> None:
    assert read_typed_time(text, KOLKATA, field="due_at", label="By when") == text


def test_the_suggested_whole_hour_is_on_the_persons_clock() -> None:
    at = datetime(2026, 12, 1, 9, 50, tzinfo=UTC)  # 15:20 IST
    assert input_value(at, KOLKATA) == "2026-12-01T15:20"
    assert input_value(at, KOLKATA, whole_hour=True) == "2026-12-01T15:00"
    assert input_value(None, KOLKATA) == ""


def test_the_suggested_whole_hour_is_never_a_time_the_clocks_skip() -> None:
    # 02:45 on 4 Oct in Lord Howe exists (after the jump to 02:30); 02:00 does not.
    at = datetime(2026, 10, 3, 15, 45, tzinfo=UTC)
    assert input_value(at, LORD_HOWE, whole_hour=True) == "2026-10-04T02:45"


zones = st.sampled_from(
    ["UTC", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe", "Europe/London"]
)
minutes = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
).map(lambda t: t.replace(second=0, microsecond=0))


@given(zones, minutes)
def test_a_shown_input_time_typed_back_is_the_same_instant(zone: str, at: datetime) -> None:
    """What the form suggests reads back as the instant it came from, except in the second of a
    repeated hour, which reads as the first (an hour, or Lord Howe's half hour, earlier)."""
    clock = clock_of(zone, "en_GB")
    reading = typed(input_value(at, clock), clock)
    if reading.instant != at:
        assert reading.note
        assert at.astimezone(ZoneInfo(zone)).fold == 1
        assert at - reading.instant in (timedelta(hours=1), timedelta(minutes=30))


# ---- days, weeks and stored texts ----------------------------------------------------------


def test_a_day_starts_at_the_persons_midnight() -> None:
    assert start_of_day(date(2026, 12, 1), KOLKATA) == datetime(2026, 11, 30, 18, 30, tzinfo=UTC)
    assert start_of_day(date(2026, 12, 1), NEW_YORK) == datetime(2026, 12, 1, 5, 0, tzinfo=UTC)


def test_a_day_whose_midnight_is_skipped_starts_at_the_first_time_that_happens() -> None:
    # Santiago moved its clocks from 24:00 to 01:00 on 2026-09-06.
    santiago = clock_of("America/Santiago", "en_GB")
    first = start_of_day(date(2026, 9, 6), santiago)
    assert first.astimezone(santiago.zone).hour == 1
    assert first.astimezone(santiago.zone).date() == date(2026, 9, 6)


def test_today_ends_at_the_persons_next_midnight() -> None:
    # 20:00 UTC on 30 Nov is 01:30 IST on 1 Dec: Kolkata's today ends at 18:30 UTC on 1 Dec.
    at = datetime(2026, 11, 30, 20, 0, tzinfo=UTC)
    assert end_of_today(at, KOLKATA) == datetime(2026, 12, 1, 18, 30, tzinfo=UTC)
    assert end_of_today(at, NEW_YORK) == datetime(2026, 12, 1, 5, 0, tzinfo=UTC)
    assert end_of_today(at, DEFAULT_CLOCK) == datetime(2026, 12, 1, 0, 0, tzinfo=UTC)


def test_a_week_runs_from_monday_on_the_persons_calendar() -> None:
    # Sunday 29 Nov 20:00 UTC is Monday 30 Nov 01:30 in Kolkata: that Monday's week.
    at = datetime(2026, 11, 29, 20, 0, tzinfo=UTC)
    assert start_of_week(at, KOLKATA) == datetime(2026, 11, 29, 18, 30, tzinfo=UTC)
    assert start_of_week(at, DEFAULT_CLOCK) == datetime(2026, 11, 23, 0, 0, tzinfo=UTC)


def test_utc_times_in_a_stored_text_are_shown_on_the_persons_clock() -> None:
    text = "Offered to you: Fix it (accept by 2026-11-23 15:00 UTC)"
    assert (
        localise_text(text, KOLKATA) == "Offered to you: Fix it (accept by Mon 23 Nov, 20:30 IST)"
    )


def test_a_time_without_its_day_is_the_next_one_after_the_text_was_written() -> None:
    written = datetime(2026, 11, 23, 23, 0, tzinfo=UTC)
    assert (
        localise_text("Due at 01:00 UTC: call back", KOLKATA, written)
        == "Due at Tue 24 Nov, 06:30 IST: call back"
    )
    # Without the time it was written, the text keeps its own zone.
    assert localise_text("Due at 01:00 UTC: call", KOLKATA) == "Due at 01:00 UTC: call"


@pytest.mark.parametrize(
    ("reported", "kept"),
    [
        # Chromium reports CLDR's names, some of them the database's old ones.
        ("Asia/Calcutta", "Asia/Kolkata"),
        ("Asia/Saigon", "Asia/Ho_Chi_Minh"),
        ("Europe/Kiev", "Europe/Kyiv"),
        ("US/Eastern", "America/New_York"),
        ("Etc/UTC", "UTC"),
        # Still listed for its own country, though it links to Berlin: a Norwegian keeps Oslo.
        ("Europe/Oslo", "Europe/Oslo"),
        ("Asia/Kolkata", "Asia/Kolkata"),
    ],
)
def test_a_zone_is_kept_under_the_name_the_database_lists_today(reported: str, kept: str) -> None:
    zone = zone_named(reported)
    assert zone is not None
    assert zone.key == kept
