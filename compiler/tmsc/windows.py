"""Backup and maintenance windows derived from business hours, outside them on every date of a year.

RDS and ElastiCache take their windows in UTC and repeat them every day
(backups, snapshots) or every week (maintenance); Amazon MQ takes a weekly
start time. Business hours are local and move against UTC twice a year where
the time zone has daylight saving time. So time is counted here in minutes of
the UTC week (Monday 00:00 UTC is minute 0), and every business day of the
check year (a fixed year from tmsc's data, never the clock's) is converted
with zoneinfo and marked on that week: a UTC window that avoids every marked
minute lies outside business hours on every date of the year, in the winter
and in the summer offset, and on the transition days themselves.

Windows are placed largest first (two hours for the broker, an hour for the
cache, half an hour for the database), each in the middle of the longest
stretch still free, on the half hour when there is room, and GAP minutes
apart: no two data stores are maintained at the same time and no backup
overlaps a maintenance window. When centring leaves no room, the windows are packed from the start
of each stretch instead; when that fails too, there is no room and the caller
refuses the business hours. Pure functions: the same hours give the same
windows on every machine that has the same tz database.
"""

from __future__ import annotations

import datetime
import functools
import math
import zoneinfo
from collections.abc import Iterator, Sequence

import attrs

from tmsc.facts import MaintenanceTable

DAY = 24 * 60
WEEK = 7 * DAY
DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
BROKER_DAY_NAMES = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")
BUSINESS_DAYS = {"mon-fri": 5, "mon-sat": 6, "mon-sun": 7}  # the first N weekdays, Monday first
# Start times on the half hour read best; finer steps are tried only when the hours leave no aligned room.
STEPS = (30, 15, 5, 1)
# Minutes kept free between any two windows: RDS refuses a backup window that touches the maintenance window
# ("must not conflict"; the emulator refuses touching windows as overlapping), and a backup that runs past its
# window's end (RDS lets it) then still does not run into another store's maintenance.
GAP = 15
# Largest first, so that a long window is not left without a stretch long enough for it.
WEEKLY_ORDER = ("broker_maintenance", "cache_maintenance", "database_maintenance")
DAILY_ORDER = ("cache_snapshot", "database_backup")


@attrs.frozen
class Hours:
    """Business hours as the rules read them: the first `days` weekdays, [start, end) local minutes of the day."""

    days: int
    start: int
    end: int
    timezone: str
    text: str  # as the spec writes them, for messages

    @classmethod
    def parse(cls, days: str, start: str, end: str, timezone: str) -> Hours:
        return cls(
            BUSINESS_DAYS[days], clock_minutes(start), clock_minutes(end), timezone, f"{days} {start}-{end} {timezone}"
        )

    @property
    def minutes_per_week(self) -> int:
        return self.days * (self.end - self.start)


@attrs.frozen
class Window:
    """One window: `key` is its row of maintenance.json; start is a minute of the UTC week (of the day, if daily)."""

    key: str
    start: int
    minutes: int
    daily: bool

    def intervals(self) -> Iterator[tuple[int, int]]:
        """(start, minutes) on the UTC week: seven of them for a daily window."""
        if self.daily:
            for day in range(7):
                yield day * DAY + self.start, self.minutes
        else:
            yield self.start, self.minutes

    def aws(self) -> str:
        """The value the AWS argument takes: hh24:mi-hh24:mi (daily), ddd:hh24:mi-ddd:hh24:mi (weekly), or
        Amazon MQ's start (DAY HH:MM UTC)."""
        end = (self.start + self.minutes) % (DAY if self.daily else WEEK)
        if self.daily:
            return f"{clock_text(self.start)}-{clock_text(end)}"
        if self.key == "broker_maintenance":
            return f"{BROKER_DAY_NAMES[self.start // DAY]} {clock_text(self.start)} UTC"
        return f"{DAY_NAMES[self.start // DAY]}:{clock_text(self.start)}-{DAY_NAMES[end // DAY]}:{clock_text(end)}"

    def broker_start(self) -> dict[str, str]:
        """aws_mq_broker.maintenance_window_start_time."""
        return {
            "day_of_week": BROKER_DAY_NAMES[self.start // DAY],
            "time_of_day": clock_text(self.start),
            "time_zone": "UTC",
        }

    def utc_text(self) -> str:
        """The window in words, in UTC: 'daily 23:30-00:00 UTC', 'sun 12:00-14:00 UTC'."""
        if self.daily:
            return f"daily {self.aws()} UTC"
        end = (self.start + self.minutes) % WEEK
        return f"{_day_clock(self.start)}-{_day_clock(end) if end // DAY != self.start // DAY else clock_text(end)} UTC"


@attrs.frozen
class Schedule:
    """The five windows of one environment."""

    database_backup: Window
    database_maintenance: Window
    cache_snapshot: Window
    cache_maintenance: Window
    broker_maintenance: Window

    def windows(self) -> tuple[Window, ...]:
        return (
            self.database_backup,
            self.database_maintenance,
            self.cache_snapshot,
            self.cache_maintenance,
            self.broker_maintenance,
        )


@attrs.frozen
class NoRoom:
    """A window that fits nowhere: it needs `needed` minutes in one stretch; the longest left was `longest`."""

    key: str
    needed: int
    longest: int
    daily: bool


@attrs.frozen
class Clash:
    """A fixed window that meets business hours: on `date` (local), business hours ran `local` there."""

    date: datetime.date
    local: str


# --------------------------------------------------------------------------- clock arithmetic


def clock_minutes(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def clock_text(minute: int) -> str:
    minute %= DAY
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _day_clock(minute: int) -> str:
    return f"{DAY_NAMES[(minute % WEEK) // DAY]} {clock_text(minute)}"


def _week_minute(moment: datetime.datetime) -> int:
    utc = moment.astimezone(datetime.UTC)
    return utc.weekday() * DAY + utc.hour * 60 + utc.minute


def _utc_bounds(day: datetime.date, start: int, end: int, zone: zoneinfo.ZoneInfo) -> tuple[datetime.datetime, int]:
    """The UTC instant business starts on a local date and how many minutes it lasts. A local time that occurs
    twice (autumn) or never (spring) is read both ways (fold 0 and 1) and the longer reading kept."""
    midnight = datetime.datetime.combine(day, datetime.time(), tzinfo=zone)
    first = min((midnight + datetime.timedelta(minutes=start)).replace(fold=f).astimezone(datetime.UTC) for f in (0, 1))
    local_end = midnight + datetime.timedelta(minutes=end)
    last = max(local_end.replace(fold=f).astimezone(datetime.UTC) for f in (0, 1))
    return first, math.ceil((last - first).total_seconds() / 60)


def business_days(hours: Hours, year: int) -> Iterator[datetime.date]:
    day = datetime.date(year, 1, 1)
    while day.year == year:
        if day.weekday() < hours.days:
            yield day
        day += datetime.timedelta(days=1)


# --------------------------------------------------------------------------- the UTC week


def _mark(week: bytearray, start: int, minutes: int) -> None:
    start %= WEEK
    if minutes >= WEEK:
        week[:] = b"\x01" * WEEK
        return
    end = start + minutes
    if end <= WEEK:
        week[start:end] = b"\x01" * minutes
    else:
        week[start:] = b"\x01" * (WEEK - start)
        week[: end - WEEK] = b"\x01" * (end - WEEK)


def _any_marked(week: Sequence[int], start: int, minutes: int, period: int = WEEK) -> bool:
    start %= period
    end = start + minutes
    if end <= period:
        return any(week[start:end])
    return any(week[start:]) or any(week[: end - period])


@functools.cache
def business_week(hours: Hours, year: int) -> bytes:
    """Minutes of the UTC week that some business day of the year covers (1) or none does (0)."""
    zone = zoneinfo.ZoneInfo(hours.timezone)
    week = bytearray(WEEK)
    for day in business_days(hours, year):
        first, minutes = _utc_bounds(day, hours.start, hours.end, zone)
        _mark(week, _week_minute(first), minutes)
    return bytes(week)


def _daily(week: bytes | bytearray) -> bytes:
    """Minutes of the UTC day that are marked on any day of the week: a daily window must avoid all of them."""
    merged = 0
    for day in range(7):
        merged |= int.from_bytes(week[day * DAY : (day + 1) * DAY], "big")  # bytes of 0 and 1: OR is per minute
    return merged.to_bytes(DAY, "big")


def _free_runs(marked: bytes | bytearray, period: int) -> list[tuple[int, int]]:
    """Stretches of unmarked minutes, (start, length), on a cyclic day or week; longest first, then earliest."""
    first_marked = marked.find(1)
    if first_marked < 0:
        return [(0, period)]
    doubled = bytes(marked[first_marked:]) + bytes(marked[:first_marked])  # starts marked: no run wraps
    runs: list[tuple[int, int]] = []
    i = doubled.find(0)
    while 0 <= i < period:
        j = doubled.find(1, i)
        j = period if j < 0 else j
        runs.append(((i + first_marked) % period, j - i))
        i = doubled.find(0, j)
    return sorted(runs, key=lambda run: (-run[1], run[0]))


def longest_free(marked: bytes | bytearray, period: int) -> int:
    runs = _free_runs(marked, period)
    return runs[0][1] if runs else 0


def _place(marked: bytes | bytearray, period: int, minutes: int, centre: bool) -> int | None:
    """A start for a window of `minutes` in the free stretches: centred in the longest, or the earliest that fits."""
    runs = _free_runs(marked, period)
    for step in STEPS:
        for run_start, run_length in runs if centre else sorted(runs, key=lambda run: run[0]):
            if run_length < minutes:
                continue
            low, high = run_start, run_start + run_length - minutes
            if centre:
                ideal = (low + high) / 2
                candidates = sorted(
                    {math.floor(ideal / step) * step, math.ceil(ideal / step) * step},
                    key=lambda s: (abs(s - ideal), s),
                )
            else:
                candidates = [math.ceil(low / step) * step]
            for start in candidates:
                if low <= start <= high:
                    return start % period
    return None


# --------------------------------------------------------------------------- the plan


def plan(
    hours: Hours, table: MaintenanceTable, broker_start: int | None = None, centre: bool = True
) -> Schedule | NoRoom:
    """The five windows for these business hours; broker_start (a minute of the UTC week) fixes the broker's."""
    rules = table.windows
    taken = bytearray(business_week(hours, table.check_year))
    placed: dict[str, Window] = {}
    if broker_start is not None:
        placed["broker_maintenance"] = Window(
            "broker_maintenance", broker_start, rules["broker_maintenance"].min_minutes, False
        )
        _mark(taken, broker_start - GAP, rules["broker_maintenance"].min_minutes + 2 * GAP)
    for key in DAILY_ORDER:
        minutes = rules[key].min_minutes
        daily = _daily(taken)
        start = _place(daily, DAY, minutes, centre)
        if start is None:
            return _retry_packed(hours, table, broker_start, centre) or NoRoom(
                key, minutes, longest_free(daily, DAY), True
            )
        placed[key] = Window(key, start, minutes, True)
        for first, length in placed[key].intervals():
            _mark(taken, first - GAP, length + 2 * GAP)
    for key in WEEKLY_ORDER:
        if key in placed:
            continue
        minutes = rules[key].min_minutes
        start = _place(taken, WEEK, minutes, centre)
        if start is None:
            return _retry_packed(hours, table, broker_start, centre) or NoRoom(
                key, minutes, longest_free(taken, WEEK), False
            )
        placed[key] = Window(key, start, minutes, False)
        _mark(taken, start - GAP, minutes + 2 * GAP)
    return Schedule(**placed)


def _retry_packed(
    hours: Hours, table: MaintenanceTable, broker_start: int | None, centre: bool
) -> Schedule | NoRoom | None:
    """Centring can split a stretch that packing would fill: pack before saying there is no room (and then name
    the window packing could not place: it got further)."""
    return plan(hours, table, broker_start, centre=False) if centre else None


def clash(hours: Hours, year: int, start: int, minutes: int) -> Clash | None:
    """The first business day of the year a weekly UTC window [start, start+minutes) meets, or None."""
    zone = zoneinfo.ZoneInfo(hours.timezone)
    for day in business_days(hours, year):
        first, length = _utc_bounds(day, hours.start, hours.end, zone)
        week = bytearray(WEEK)
        _mark(week, _week_minute(first), length)
        if _any_marked(week, start, minutes):
            local = first.astimezone(zone)
            end = (first + datetime.timedelta(minutes=length)).astimezone(zone)
            return Clash(day, f"{local:%H:%M}-{end:%H:%M} {local.tzname()}")
    return None


def local_views(window: Window, timezone: str, year: int) -> list[str]:
    """The window in local time, once for each UTC offset the zone has at the window's start during the year
    (winter first): ['sun 13:00-15:00 CET', 'sun 14:00-16:00 CEST']."""
    zone = zoneinfo.ZoneInfo(timezone)
    monday = datetime.datetime(year, 1, 1, tzinfo=datetime.UTC)
    monday -= datetime.timedelta(days=monday.weekday())
    seen: dict[datetime.timedelta, str] = {}
    for week in range(54):
        for start, minutes in window.intervals():
            utc = monday + datetime.timedelta(weeks=week, minutes=start)
            if utc.year != year:
                continue
            local = utc.astimezone(zone)
            offset = local.utcoffset()
            assert offset is not None
            if offset in seen:
                continue
            end = utc + datetime.timedelta(minutes=minutes) + offset
            begin = utc + offset
            day = "" if window.daily else f"{DAY_NAMES[begin.weekday()]} "
            seen[offset] = f"{day}{begin:%H:%M}-{end:%H:%M} {local.tzname()}"
    return [seen[offset] for offset in sorted(seen)]


def common_start(hours: Sequence[Hours], year: int, minutes: int) -> int | None:
    """A weekly UTC start whose window of `minutes` is outside every one of these business hours (a window the
    spec fixes for all environments at once), centred in the longest stretch they leave; None if there is none."""
    merged = 0
    for each in hours:
        merged |= int.from_bytes(business_week(each, year), "big")
    return _place(merged.to_bytes(WEEK, "big"), WEEK, minutes, centre=True)
