"""When the care team's line is open, from CARE_TEAM_HOURS and CARE_TEAM_TIMEZONE.

CARE_TEAM_HOURS is one or more `<days> <opens>-<closes>` parts separated by ";",
e.g. "Mon-Fri 08:00-17:00; Sat 09:00-12:00". Days are Mon..Sun, ranges ("Mon-Fri")
or lists ("Mon,Wed"); times are 24-hour, and "24:00" means midnight at the end of
the day. The hand-off then says "call now" inside those hours and, outside them,
when the line opens, the 24-hour number for urgent problems and the emergency
number (bot/messages.py). Every function takes `now`, so tests fix the clock.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.settings import Settings

DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_PART = re.compile(r"^\s*(?P<days>[A-Za-z,\- ]+?)\s+(?P<opens>\d{1,2}:\d{2})\s*-\s*(?P<closes>\d{1,2}:\d{2})\s*$")
EXAMPLE = "Mon-Fri 08:00-17:00; Sat 09:00-12:00"


@dataclass(frozen=True)
class Opening:
    days: frozenset[int]  # 0 = Monday
    opens: time
    closes: time | None  # None: midnight at the end of the day


@dataclass(frozen=True)
class Hours:
    openings: tuple[Opening, ...]
    zone: ZoneInfo

    def is_open(self, now: datetime) -> bool:
        local = now.astimezone(self.zone)
        return any(
            local.weekday() in o.days and o.opens <= local.time() and (o.closes is None or local.time() < o.closes)
            for o in self.openings
        )

    def next_opening(self, now: datetime) -> datetime:
        """When the line next opens after `now` (in the care team's time zone)."""
        local = now.astimezone(self.zone)
        for ahead in range(8):
            day = (local + timedelta(days=ahead)).date()
            starts = sorted(
                datetime.combine(day, o.opens, tzinfo=self.zone) for o in self.openings if day.weekday() in o.days
            )
            for start in starts:
                if start > local:
                    return start
        raise ValueError("no opening in the coming week")

    def describe(self) -> str:
        """The hours in words: "Monday to Friday, 8 AM to 5 PM"."""
        return "; ".join(f"{_days(o.days)}, {_clock(o.opens)} to {_clock(o.closes)}" for o in self.openings)


@cache  # every reply's care-team contact asks; the settings do not change while a server runs
def parse(text: str, zone: str) -> Hours | None:
    """The hours in `text` (None if empty); ValueError with an example if malformed."""
    if not text.strip():
        return None
    try:
        tz = ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"CARE_TEAM_TIMEZONE {zone!r} is not a time zone like America/New_York.") from None
    openings = []
    for part in text.split(";"):
        match = _PART.match(part)
        if not match:
            raise ValueError(f"CARE_TEAM_HOURS part {part.strip()!r} is not like {EXAMPLE!r}.")
        opens, closes = _time(match.group("opens")), _time(match.group("closes"))
        if closes is not None and (opens is None or closes <= opens):
            raise ValueError(f"CARE_TEAM_HOURS part {part.strip()!r} closes before it opens.")
        openings.append(Opening(_day_set(match.group("days")), opens or time(0), closes))
    return Hours(tuple(openings), tz)


def from_settings(settings: Settings) -> Hours | None:
    return parse(settings.care_team_hours, settings.care_team_timezone)


def _day_set(text: str) -> frozenset[int]:
    days: set[int] = set()
    for item in text.replace(" ", "").split(","):
        first, _, last = item.partition("-")
        start, end = _day(first), _day(last or first)
        days.update(range(start, end + 1) if start <= end else [*range(start, 7), *range(0, end + 1)])
    return frozenset(days)


def _day(text: str) -> int:
    key = text[:3].capitalize()
    if key not in DAYS:
        raise ValueError(f"{text!r} is not a day like Mon, Tue ... Sun (CARE_TEAM_HOURS, e.g. {EXAMPLE!r}).")
    return DAYS.index(key)


def _time(text: str) -> time | None:
    hours, minutes = (int(n) for n in text.split(":"))
    if (hours, minutes) == (24, 0):
        return None
    if not (0 <= hours < 24 and 0 <= minutes < 60):
        raise ValueError(f"{text!r} is not a time like 08:00 (CARE_TEAM_HOURS).")
    return time(hours, minutes)


def _clock(value: time | None) -> str:
    if value is None:
        return "midnight"
    hour = value.hour % 12 or 12
    minutes = f":{value.minute:02d}" if value.minute else ""
    return f"{hour}{minutes} {'AM' if value.hour < 12 else 'PM'}"


def _days(days: frozenset[int]) -> str:
    ordered = sorted(days)
    if len(ordered) == 7:
        return "every day"
    if len(ordered) > 2 and ordered == list(range(ordered[0], ordered[-1] + 1)):
        return f"{DAY_NAMES[ordered[0]]} to {DAY_NAMES[ordered[-1]]}"
    return ", ".join(DAY_NAMES[d] for d in ordered)


def when(moment: datetime, now: datetime) -> str:
    """ "today at 8 AM", "tomorrow at 8 AM" or "Monday at 8 AM", as the patient would say it."""
    local_now = now.astimezone(moment.tzinfo)
    days = (moment.date() - local_now.date()).days
    day = "today" if days == 0 else "tomorrow" if days == 1 else DAY_NAMES[moment.weekday()]
    return f"{day} at {_clock(moment.timetz().replace(tzinfo=None))}"
