from datetime import datetime

import pytest

from cronlite import Cron, CronError, Scheduler
from cronlite.fields import HOUR, MINUTE, parse_field


def test_step_from_a_single_value():
    assert parse_field("5/10", MINUTE) == {5, 15, 25, 35, 45, 55}
    assert parse_field("1/6", HOUR) == {1, 7, 13, 19}
    assert parse_field("0,50/5", MINUTE) == {0, 50, 55}


def test_next_runs_with_a_step_from_a_value():
    assert Cron("5/20 * * * *").next_n(datetime(2024, 5, 10, 9, 0), 4) == [
        datetime(2024, 5, 10, 9, 5),
        datetime(2024, 5, 10, 9, 25),
        datetime(2024, 5, 10, 9, 45),
        datetime(2024, 5, 10, 10, 5),
    ]
    s = Scheduler(datetime(2024, 5, 10, 0, 30))
    job = s.add("report", "0 1/6 * * *", lambda: None)
    assert job.next_run == datetime(2024, 5, 10, 1, 0)
    s.tick(datetime(2024, 5, 10, 1, 0))
    assert job.next_run == datetime(2024, 5, 10, 7, 0)


def test_seven_is_sunday():
    # 2024-05-09 is a Thursday.
    assert Cron("0 9 * * 7").next_after(datetime(2024, 5, 9, 12, 0)) == datetime(2024, 5, 12, 9, 0)
    assert Cron("0 9 * * 7").matches(datetime(2024, 5, 19, 9, 0))
    assert not Cron("0 9 * * 7").matches(datetime(2024, 5, 18, 9, 0))


def test_weekend_range_ending_at_seven():
    assert Cron("0 10 * * 5-7").next_n(datetime(2024, 5, 9, 12, 0), 4) == [
        datetime(2024, 5, 10, 10, 0),
        datetime(2024, 5, 11, 10, 0),
        datetime(2024, 5, 12, 10, 0),
        datetime(2024, 5, 17, 10, 0),
    ]


def test_other_weekday_forms_unchanged():
    start = datetime(2024, 5, 9, 12, 0)  # a Thursday
    assert Cron("0 9 * * 0").next_after(start) == datetime(2024, 5, 12, 9, 0)
    assert Cron("0 9 * * sun").next_after(start) == datetime(2024, 5, 12, 9, 0)
    assert Cron("0 9 * * */2").next_n(start, 3) == [
        datetime(2024, 5, 11, 9, 0),
        datetime(2024, 5, 12, 9, 0),
        datetime(2024, 5, 14, 9, 0),
    ]
    assert Cron("0 9 * * *").next_n(start, 2) == [datetime(2024, 5, 10, 9, 0), datetime(2024, 5, 11, 9, 0)]
    assert parse_field("7", MINUTE) == {7}
    for text in ("0 9 * * 8", "0 9 * * sun-8", "0 9 * * 6-5", "60 * * * *", "*/0 * * * *", "1,,2 * * * *"):
        with pytest.raises(CronError):
            Cron(text)
