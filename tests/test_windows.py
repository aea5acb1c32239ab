"""Backup and maintenance windows from business hours (tmsc.windows, derive's window rules).

The property checks the derived windows on the real calendar, not on the
weekly projection the planner works on: every occurrence of every window on
every date of the table's check year, as a UTC interval, against every
business day of that year converted with zoneinfo. Then the boundary cases:
DST transitions (a local time that never occurs, one that occurs twice),
windows across midnight and across the end of the week, business hours with
no room, the broker's fixed window.
"""

from __future__ import annotations

import datetime
import re
import zoneinfo
from collections import defaultdict
from pathlib import Path

import pytest
import yaml
from hypothesis import assume, given
from hypothesis import strategies as st

from tmsc import derive, facts, windows
from tmsc.derive import Infeasible, plan_environment
from tmsc.model import Platform, RabbitMQ, is_iana_zone

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "spec" / "platform.yaml"
TABLE = facts.maintenance()
YEAR = TABLE.check_year
UTC = datetime.UTC
MAINTENANCE = ("database_maintenance", "cache_maintenance", "broker_maintenance")
BACKUPS = ("database_backup", "cache_snapshot")
ZONES = sorted(zone for zone in zoneinfo.available_timezones() if is_iana_zone(zone))

Interval = tuple[datetime.datetime, datetime.datetime]


# --------------------------------------------------------------------------- the calendar, independently


def business_intervals(days: int, start: str, end: str, timezone: str, year: int) -> list[Interval]:
    """Every business day of the year (and the days either side) as a UTC interval, each local time read in
    both folds and the widest reading kept."""
    zone = zoneinfo.ZoneInfo(timezone)
    (sh, sm), (eh, em) = (map(int, start.split(":")), map(int, end.split(":")))
    found = []
    day = datetime.date(year - 1, 12, 30)
    while day <= datetime.date(year + 1, 1, 2):
        if day.weekday() < days:
            begin = min(
                datetime.datetime(day.year, day.month, day.day, sh, sm, tzinfo=zone, fold=f).astimezone(UTC)
                for f in (0, 1)
            )
            finish = max(
                datetime.datetime(day.year, day.month, day.day, eh, em, tzinfo=zone, fold=f).astimezone(UTC)
                for f in (0, 1)
            )
            found.append((begin, finish))
        day += datetime.timedelta(days=1)
    return found


AWS_DAILY = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])-([01][0-9]|2[0-3]):([0-5][0-9])$")
AWS_WEEKLY = re.compile(
    r"^(mon|tue|wed|thu|fri|sat|sun):([01][0-9]|2[0-3]):([0-5][0-9])-(mon|tue|wed|thu|fri|sat|sun):([01][0-9]|2[0-3]):([0-5][0-9])$"
)


def parse_aws(window: windows.Window) -> tuple[int | None, int, int]:
    """(weekday or None for daily, start minute of the day, length) read back from the text AWS gets."""
    if window.key == "broker_maintenance":
        start = window.broker_start()
        assert start["time_zone"] == "UTC"
        assert re.fullmatch(r"[0-9]{1,2}:[0-9]{2}(:[0-9]{2})?", start["time_of_day"])  # CloudFormation's pattern
        h, m = map(int, start["time_of_day"].split(":"))
        return windows.BROKER_DAY_NAMES.index(start["day_of_week"]), h * 60 + m, TABLE.windows[window.key].min_minutes
    text = window.aws()
    if window.daily:
        match = AWS_DAILY.fullmatch(text)
        assert match, text
        a, b = int(match[1]) * 60 + int(match[2]), int(match[3]) * 60 + int(match[4])
        return None, a, (b - a) % windows.DAY
    match = AWS_WEEKLY.fullmatch(text)
    assert match, text
    days = windows.DAY_NAMES
    a = days.index(match[1]) * windows.DAY + int(match[2]) * 60 + int(match[3])
    b = days.index(match[4]) * windows.DAY + int(match[5]) * 60 + int(match[6])
    return a // windows.DAY, a % windows.DAY, (b - a) % windows.WEEK


def occurrences(window: windows.Window, year: int) -> list[Interval]:
    """Every time the window runs in the year, as UTC intervals, from the text AWS is given."""
    weekday, start, length = parse_aws(window)
    found = []
    day = datetime.date(year, 1, 1)
    while day.year == year:
        if weekday is None or day.weekday() == weekday:
            begin = datetime.datetime(day.year, day.month, day.day, tzinfo=UTC) + datetime.timedelta(minutes=start)
            found.append((begin, begin + datetime.timedelta(minutes=length)))
        day += datetime.timedelta(days=1)
    return found


def overlaps(a: Interval, b: Interval) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def by_day(intervals: list[Interval]) -> dict[datetime.date, list[Interval]]:
    index: dict[datetime.date, list[Interval]] = defaultdict(list)
    for interval in intervals:
        index[interval[0].date()].append(interval)
    return index


def near(index: dict[datetime.date, list[Interval]], interval: Interval) -> list[Interval]:
    """Intervals starting the day before, on or after the interval's start: all that can meet one under a day."""
    day = interval[0].date()
    return [other for d in (-1, 0, 1) for other in index.get(day + datetime.timedelta(days=d), [])]


def assert_schedule_holds(schedule: windows.Schedule, days: int, start: str, end: str, timezone: str) -> None:
    for window in schedule.windows():
        _, _, length = parse_aws(window)
        assert length >= TABLE.windows[window.key].min_minutes, window  # AWS's minimum, read back from the text
        assert length == window.minutes
    business = by_day(business_intervals(days, start, end, timezone, YEAR))
    runs = {window.key: occurrences(window, YEAR) for window in schedule.windows()}
    for key, intervals in runs.items():
        for interval in intervals:
            for busy in near(business, interval):
                assert not overlaps(interval, busy), f"{key} {interval} meets business hours {busy}"
    for i, first in enumerate(MAINTENANCE):
        for second in MAINTENANCE[i + 1 :]:
            index = by_day(runs[second])
            for interval in runs[first]:
                assert not any(overlaps(interval, o) for o in near(index, interval)), (first, second, interval)
    for backup in BACKUPS:
        index = by_day(runs[backup])
        for maintenance in MAINTENANCE:
            for interval in runs[maintenance]:
                assert not any(overlaps(interval, o) for o in near(index, interval)), (backup, maintenance, interval)


# --------------------------------------------------------------------------- the property


# Zones that move their clocks in the check year: where a window placed by one offset would break in the other.
DST_ZONES = [
    zone
    for zone in ZONES
    if len({datetime.datetime(YEAR, month, 15, tzinfo=zoneinfo.ZoneInfo(zone)).utcoffset() for month in (1, 7)}) > 1
]


@st.composite
def business_hours(draw: st.DrawFn) -> tuple[int, str, str, str]:
    """Any hours in any zone; often long days in zones with DST, which leave the windows little room and so
    put them next to the business hours, where a missed offset shows."""
    length = draw(st.integers(1, 23 * 60 + 59) | st.integers(14 * 60, 20 * 60))
    start = draw(st.integers(0, 23 * 60 + 59 - length))
    end = start + length
    return (
        draw(st.sampled_from([5, 6, 7])),
        f"{start // 60:02d}:{start % 60:02d}",
        f"{end // 60:02d}:{end % 60:02d}",
        draw(st.sampled_from(ZONES) | st.sampled_from(DST_ZONES)),
    )


DAYS_TEXT = {5: "mon-fri", 6: "mon-sat", 7: "mon-sun"}


@given(hours=business_hours(), broker=st.none() | st.integers(0, windows.WEEK - 1))
def test_no_window_meets_business_hours_or_another_window_on_any_date_of_the_year(
    hours: tuple[int, str, str, str], broker: int | None
) -> None:
    days, start, end, timezone = hours
    parsed = windows.Hours.parse(DAYS_TEXT[days], start, end, timezone)
    if broker is not None:
        # A fixed broker window is planned around only when it misses business hours (derive refuses it otherwise).
        assume(windows.clash(parsed, YEAR, broker, TABLE.windows["broker_maintenance"].min_minutes) is None)
    schedule = windows.plan(parsed, TABLE, broker)
    if isinstance(schedule, windows.NoRoom):
        # Refused only when the hours leave little: every day of the week keeps less than six free hours a day.
        assert parsed.end - parsed.start > 16 * 60 or broker is not None, (hours, schedule)
        assert schedule.longest < schedule.needed
        return
    if broker is not None:
        assert schedule.broker_maintenance.start == broker
    assert_schedule_holds(schedule, days, start, end, timezone)


# --------------------------------------------------------------------------- boundary cases


def test_the_business_week_holds_both_offsets_of_berlin() -> None:
    """mon-sun 06:00-22:00 Europe/Berlin is 05:00-21:00 UTC in winter (CET) and 04:00-20:00 in summer (CEST)."""
    week = windows.business_week(windows.Hours.parse("mon-sun", "06:00", "22:00", "Europe/Berlin"), YEAR)
    for day in range(7):
        base = day * windows.DAY
        assert week[base + 3 * 60 + 59] == 0
        assert week[base + 4 * 60] == 1  # summer start
        assert week[base + 20 * 60 + 59] == 1  # winter end
        assert week[base + 21 * 60] == 0


def test_a_local_start_that_never_occurs_is_read_both_ways() -> None:
    """2027-03-14, New York springs forward at 02:00: a 02:30 start does not exist; EDT reads it 06:30 UTC,
    EST 07:30 UTC. The earlier counts, so a window ending 06:45 UTC that Sunday would meet business hours."""
    zone = zoneinfo.ZoneInfo("America/New_York")
    first, minutes = windows._utc_bounds(datetime.date(2027, 3, 14), 150, 12 * 60, zone)
    assert first == datetime.datetime(2027, 3, 14, 6, 30, tzinfo=UTC)
    assert first + datetime.timedelta(minutes=minutes) == datetime.datetime(2027, 3, 14, 16, 0, tzinfo=UTC)
    hours = windows.Hours.parse("mon-sun", "02:30", "12:00", "America/New_York")
    sunday_0600 = 6 * windows.DAY + 6 * 60
    assert windows.clash(hours, YEAR, sunday_0600, 45) is not None
    assert windows.business_week(hours, YEAR)[sunday_0600 + 30] == 1


def test_a_local_end_that_occurs_twice_is_read_late() -> None:
    """2027-11-07, New York falls back at 02:00: 01:30 happens at 05:30 and 06:30 UTC; business ends at the later."""
    zone = zoneinfo.ZoneInfo("America/New_York")
    first, minutes = windows._utc_bounds(datetime.date(2027, 11, 7), 0, 90, zone)
    assert first == datetime.datetime(2027, 11, 7, 4, 0, tzinfo=UTC)
    assert first + datetime.timedelta(minutes=minutes) == datetime.datetime(2027, 11, 7, 6, 30, tzinfo=UTC)


def test_windows_across_midnight_and_the_end_of_the_week() -> None:
    assert windows.Window("database_backup", 23 * 60 + 30, 60, True).aws() == "23:30-00:30"
    assert windows.Window("database_maintenance", 6 * windows.DAY + 23 * 60 + 30, 60, False).aws() == (
        "sun:23:30-mon:00:30"
    )
    wrap = windows.Window("cache_maintenance", windows.WEEK - 30, 60, False)
    assert list(wrap.intervals()) == [(windows.WEEK - 30, 60)]
    week = bytearray(windows.WEEK)
    windows._mark(week, windows.WEEK - 30, 60)
    assert week[windows.WEEK - 30 :] == b"\x01" * 30 and week[:30] == b"\x01" * 30 and week[30] == 0
    assert windows.Window("broker_maintenance", 6 * windows.DAY + 23 * 60, 120, False).broker_start() == {
        "day_of_week": "SUNDAY",
        "time_of_day": "23:00",
        "time_zone": "UTC",
    }


def test_monday_morning_in_auckland_is_sunday_evening_in_utc() -> None:
    """Business hours Monday 06:00 NZDT (UTC+13) start Sunday 17:00 UTC: the week wraps, and is marked there."""
    week = windows.business_week(windows.Hours.parse("mon-fri", "06:00", "18:00", "Pacific/Auckland"), YEAR)
    assert week[6 * windows.DAY + 17 * 60] == 1  # Sunday 17:00 UTC: Monday 06:00 in summer
    assert week[6 * windows.DAY + 16 * 60 + 59] == 0
    assert week[6 * windows.DAY + 18 * 60] == 1  # Monday 06:00 in winter (NZST, UTC+12)


def test_local_views_show_the_winter_and_the_summer_offset() -> None:
    window = windows.Window("database_maintenance", 6 * windows.DAY + 12 * 60, 30, False)
    assert windows.local_views(window, "Europe/Berlin", YEAR) == ["sun 13:00-13:30 CET", "sun 14:00-14:30 CEST"]
    assert windows.local_views(window, "UTC", YEAR) == ["sun 12:00-12:30 UTC"]
    daily = windows.Window("database_backup", 23 * 60, 30, True)
    assert windows.local_views(daily, "Asia/Kolkata", YEAR) == ["04:30-05:00 IST"]


def test_the_example_windows_are_apart_and_in_the_night_or_on_sunday() -> None:
    plans = derive.plan_platform(_example())
    for plan in plans.values():
        schedule = plan.schedule
        hours = plan.environment.availability.business_hours
        assert_schedule_holds(schedule, windows.BUSINESS_DAYS[hours.days], hours.start, hours.end, hours.timezone)
        taken = [(first, length) for w in schedule.windows() for first, length in w.intervals()]
        for i, (a, la) in enumerate(taken):
            for b, lb in taken[i + 1 :]:
                gap = min((b - (a + la)) % windows.WEEK, (a - (b + lb)) % windows.WEEK)
                assert gap >= windows.GAP, (plan.name, a, b)
    prod = plans["prod"]
    assert prod.database_backup_window.value == prod.schedule.database_backup.aws()
    assert "CET" in prod.database_backup_window.reason and "CEST" in prod.database_backup_window.reason
    assert prod.downtime_budget.value == 5.8  # 0.1% of 96 h = 5.76 min


def test_the_downtime_budget_is_the_target_of_the_business_week() -> None:
    platform = _example()
    env = platform.environments["prod"]
    budget = derive.downtime_budget(env)
    assert budget.value == round(0.001 * 96 * 60, 1)
    assert "96 business hours" in budget.reason
    dev = derive.downtime_budget(platform.environments["dev"])  # 99% of mon-fri 06:00-20:00: 1% of 70 h
    assert dev.value == 42.0


def test_business_hours_round_the_clock_are_refused_with_the_reason_and_a_fix() -> None:
    document = _document()
    document["environments"]["prod"]["availability"]["business_hours"] = {
        "days": "mon-sun",
        "start": "00:00",
        "end": "23:59",
        "timezone": "Europe/Berlin",
    }
    document["services"]["messaging"].update({"maintenance_day": "SUNDAY", "maintenance_time": "02:00"})
    with pytest.raises(Infeasible) as refused:
        plan_environment(Platform.model_validate(document), "prod")
    # Both said: the fixed broker window meets the hours, and the hours leave the backups no room.
    clash, refusal = refused.value.refusals
    assert clash.path == ("services", "messaging", "maintenance_time")
    del document["services"]["messaging"]["maintenance_day"], document["services"]["messaging"]["maintenance_time"]
    assert refusal.path == ("environments", "prod", "availability", "business_hours")
    assert "leave no room" in refusal.message and "60 minutes" in refusal.message
    assert "end business hours earlier" in refusal.hint
    # The fix it offers works.
    end = re.search(r'end: "(\d\d:\d\d)"', refusal.hint)
    assert end is not None
    document["environments"]["prod"]["availability"]["business_hours"]["end"] = end[1]
    plan_environment(Platform.model_validate(document), "prod")


def test_no_room_for_the_broker_once_the_backups_have_the_night() -> None:
    hours = windows.Hours.parse("mon-sun", "01:00", "22:00", "UTC")
    result = windows.plan(hours, TABLE)
    assert isinstance(result, windows.NoRoom)
    assert result.key == "broker_maintenance" and result.needed == 120 and not result.daily


def test_packing_finds_room_centring_would_split() -> None:
    """Three free hours a night (22:00-01:00): centred, the cache snapshot would split them; the planner
    packs instead and still finds the backup, and refuses only the broker's two hours (as above)."""
    hours = windows.Hours.parse("mon-sun", "03:15", "23:00", "UTC")  # 04:15 free a night
    schedule = windows.plan(hours, TABLE)
    assert isinstance(schedule, windows.Schedule)
    assert_schedule_holds(schedule, 7, "03:15", "23:00", "UTC")


def test_the_broker_window_the_spec_fixes_is_kept_and_planned_around() -> None:
    document = _document()
    document["services"]["messaging"].update({"maintenance_day": "SUNDAY", "maintenance_time": "03:00"})
    plans = derive.plan_platform(Platform.model_validate(document))
    for plan in plans.values():
        assert plan.schedule.broker_maintenance.aws() == "SUNDAY 03:00 UTC"
        assert "pinned in the spec" in plan.broker_maintenance_window.reason
        hours = plan.environment.availability.business_hours
        assert_schedule_holds(plan.schedule, windows.BUSINESS_DAYS[hours.days], hours.start, hours.end, hours.timezone)


def test_a_fixed_broker_window_in_business_hours_is_refused_at_its_key() -> None:
    document = _document()
    document["services"]["messaging"].update({"maintenance_day": "MONDAY", "maintenance_time": "10:00"})
    with pytest.raises(Infeasible) as refused:
        derive.plan_platform(Platform.model_validate(document))
    paths = {r.path for r in refused.value.refusals}
    assert paths == {("services", "messaging", "maintenance_time")}
    messages = [r.message for r in refused.value.refusals]
    assert any("dev's business hours mon-fri 06:00-20:00 UTC" in m for m in messages)
    assert any("prod's business hours mon-sat 06:00-22:00 Europe/Berlin" in m for m in messages)
    hint = refused.value.refusals[0].hint
    suggested = re.search(r"maintenance_day: (\w+), maintenance_time: \"(\d\d:\d\d)\"", hint)
    assert suggested is not None
    document["services"]["messaging"].update({"maintenance_day": suggested[1], "maintenance_time": suggested[2]})
    derive.plan_platform(Platform.model_validate(document))  # the fix it offers is accepted everywhere


def test_maintenance_day_needs_its_time() -> None:
    with pytest.raises(ValueError, match="maintenance_day is given without maintenance_time"):
        RabbitMQ.model_validate({"kind": "rabbitmq", "maintenance_day": "SUNDAY"})
    assert RabbitMQ.model_validate({"kind": "rabbitmq"}).maintenance_day is None


def test_the_check_year_comes_from_the_table_not_the_clock() -> None:
    assert TABLE.check_year == TABLE.as_of.year + 1
    for key, rule in TABLE.windows.items():
        assert rule.source.startswith("https://"), key
        assert rule.min_minutes >= 30


def _document() -> dict:
    return yaml.safe_load(SPEC.read_text())


def _example() -> Platform:
    return Platform.model_validate(_document())
