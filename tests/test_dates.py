"""Filing dates as examiners type them (core.dates): the formats read, and the refusals."""
from datetime import date

import pytest

from core.dates import parse_typed_date


@pytest.mark.parametrize("text, expected", [
    ("2019-07-31", date(2019, 7, 31)), (" 2019/7/3 ", date(2019, 7, 3)),
    ("2019.07.31", date(2019, 7, 31)), ("20190731", date(2019, 7, 31)),
    ("07/31/2019", date(2019, 7, 31)),          # slashes, year last: month first (US)
    ("7/4/2019", date(2019, 7, 4)),
    ("31.07.2019", date(2019, 7, 31)),          # dots, year last: day first
    ("4.7.2019", date(2019, 7, 4)),
    ("31-07-2019", date(2019, 7, 31)), ("07-31-2019", date(2019, 7, 31)),   # one reading
    ("07-07-2019", date(2019, 7, 7)),
    ("Jul 31, 2019", date(2019, 7, 31)), ("july 4th 2019", date(2019, 7, 4)),
    ("Sept 3 2019", date(2019, 9, 3)), ("31 JULY 2019", date(2019, 7, 31)),
    ("3 Dec. 2019", date(2019, 12, 3)),
])
def test_typed_dates_are_read_as_examiners_write_them(text, expected):
    assert parse_typed_date(text) == expected


@pytest.mark.parametrize("text, why", [
    ("07-08-2019", "could be 8 July 2019 or 7 August 2019"),   # dashes, year last: either
    ("2019-02-30", "not a calendar date"), ("02/30/2019", "not a calendar date"),
    ("13-14-2019", "no month 13 or 14"), ("7/31/19", "year in full"),
    ("00-05-2015", "not a calendar date"), ("05-00-2015", "not a calendar date"),
    ("04-31-2015", "not a calendar date"), ("02-30-2016", "not a calendar date"),
    ("Mai 3 2019", "not a date"), ("ju 3 2019", "not a date"), ("2019-07", "not a date"),
    ("", "no date typed"), ("banana", "2019-07-31"),
])
def test_what_is_not_one_date_is_refused_with_the_reason(text, why):
    with pytest.raises(ValueError, match=why):
        parse_typed_date(text)


def test_the_two_readings_are_named_in_english_whatever_the_locale(monkeypatch):
    """The window sets the user's locale, under which strftime's %B gave '4 3月 2015' inside
    the English question; the month names are the sentence's own."""
    import core.dates

    class Localised(date):                  # what strftime does under ja_JP
        def strftime(self, fmt):
            return date.strftime(self, fmt.replace("%B", f"{self.month}月"))

    monkeypatch.setattr(core.dates, "date", Localised)
    with pytest.raises(ValueError, match="could be 4 March 2015 or 3 April 2015"):
        parse_typed_date("03-04-2015")


def test_a_logged_time_is_shown_on_this_computers_clock(monkeypatch):
    import time

    from core.dates import local_time

    monkeypatch.setenv("TZ", "Pacific/Kiritimati")         # UTC+14, no daylight saving
    time.tzset()
    try:
        assert local_time("2026-12-06T11:19:05+00:00") == "2026-12-07 01:19:05"
        assert local_time("2026-12-06T11:19:05") == "2026-12-07 01:19:05"    # read as UTC
        assert local_time("not a time") == "not a time" and local_time(None) == ""
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
