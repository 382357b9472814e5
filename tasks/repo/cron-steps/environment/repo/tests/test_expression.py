from datetime import datetime

import pytest

from cronlite import Cron, CronError, Scheduler


def test_next_simple():
    assert Cron("30 9 * * *").next_after(datetime(2024, 5, 10, 9, 30)) == datetime(2024, 5, 11, 9, 30)


def test_weekdays_skip_the_weekend():
    assert Cron("0 9 * * mon-fri").next_after(datetime(2024, 5, 10, 10, 0)) == datetime(2024, 5, 13, 9, 0)


def test_day_or_weekday():
    # The 13th, or any Friday.
    c = Cron("0 0 13 * fri")
    assert c.next_n(datetime(2024, 9, 1), 3) == [datetime(2024, 9, 6), datetime(2024, 9, 13), datetime(2024, 9, 20)]


def test_macros():
    assert Cron("@monthly").next_after(datetime(2024, 1, 31, 12)) == datetime(2024, 2, 1)


def test_never():
    with pytest.raises(CronError, match="never fires"):
        Cron("0 0 31 2 *").next_after(datetime(2024, 1, 1))


def test_field_count():
    with pytest.raises(CronError, match="expected 5 fields"):
        Cron("* * *")


def test_scheduler_runs_due_jobs_once():
    ran = []
    s = Scheduler(datetime(2024, 1, 1, 0, 0))
    s.add("hourly", "0 * * * *", lambda: ran.append("h"))
    s.add("broken", "0 * * * *", lambda: 1 / 0)
    assert s.tick(datetime(2024, 1, 1, 3, 30)) == ["broken", "hourly"]
    assert ran == ["h"] and s.jobs["broken"].errors
    assert s.jobs["hourly"].next_run == datetime(2024, 1, 1, 4, 0)
