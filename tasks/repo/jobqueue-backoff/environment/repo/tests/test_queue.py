import pytest

from jobqueue import JobQueue, JobState, Worker
from tests.clock import FakeClock


def test_priority_then_due_then_submission():
    clock = FakeClock()
    q = JobQueue(clock)
    low = q.submit("a", priority=0)
    high = q.submit("b", priority=9)
    low2 = q.submit("c", priority=0)
    assert [q.pop_due(), q.pop_due(), q.pop_due()] == [high, low, low2]


def test_delay():
    clock = FakeClock()
    q = JobQueue(clock)
    job = q.submit("later", delay=10)
    assert q.pop_due() is None and q.next_due_at() == 10
    clock.advance(10)
    assert q.pop_due() is job


def test_negative_delay():
    with pytest.raises(ValueError):
        JobQueue(FakeClock()).submit("x", delay=-1)


def test_worker_runs_and_records_results():
    clock = FakeClock()
    q = JobQueue(clock)
    job = q.submit("double", {"n": 21})
    assert Worker(q, {"double": lambda p: p["n"] * 2}).run_pending() == 1
    assert job.state is JobState.DONE and job.result == 42 and job.attempts == 1


def test_unknown_job_goes_to_dead_letters():
    q = JobQueue(FakeClock())
    job = q.submit("mystery")
    Worker(q, {}).run_pending()
    assert q.dead == [job] and job.errors == ["no handler for 'mystery'"]


def test_limit():
    q = JobQueue(FakeClock())
    for _ in range(3):
        q.submit("x")
    assert Worker(q, {"x": lambda p: None}).run_pending(limit=2) == 2 and len(q) == 1
