import random

import pytest

from jobqueue import JobQueue, JobState, Worker
from tests.clock import FakeClock


def _failing(calls):
    def handler(payload):
        calls.append(payload)
        raise ConnectionError("webhook endpoint down")

    return handler


def test_failed_job_waits_with_exponential_backoff():
    from jobqueue import RetryPolicy

    clock = FakeClock()
    q = JobQueue(clock)
    calls = []
    worker = Worker(q, {"hook": _failing(calls)}, retry=RetryPolicy(max_attempts=4, base_delay=2, factor=3, max_delay=10))
    job = q.submit("hook", {"n": 1})

    assert worker.run_pending() == 1 and len(calls) == 1
    assert job.state is JobState.QUEUED and q.next_due_at() == 2
    clock.advance(1.9)
    assert worker.run_pending() == 0 and len(calls) == 1
    clock.advance(0.1)
    assert worker.run_pending() == 1 and len(calls) == 2
    assert q.next_due_at() == pytest.approx(2 + 6)
    clock.now = 8
    assert worker.run_pending() == 1
    assert q.next_due_at() == pytest.approx(8 + 10)  # 2 * 3 ** 2 = 18, capped at 10
    clock.now = 18
    assert worker.run_pending() == 1
    assert q.dead == [job] and job.state is JobState.DEAD and len(q) == 0
    assert job.attempts == 4 and job.errors == ["ConnectionError: webhook endpoint down"] * 4
    clock.advance(1000)
    assert worker.run_pending() == 0 and len(calls) == 4


def test_job_that_recovers_is_done():
    from jobqueue import RetryPolicy

    clock = FakeClock()
    q = JobQueue(clock)
    outcomes = [TimeoutError("slow"), TimeoutError("slow"), "sent"]

    def send(payload):
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    worker = Worker(q, {"send_email": send, "noop": lambda p: "ok"}, retry=RetryPolicy(max_attempts=5, base_delay=5))
    job = q.submit("send_email", {"to": "ana@example.com"})
    other = q.submit("noop")

    assert worker.run_pending() == 2 and other.state is JobState.DONE
    clock.advance(5)
    assert worker.run_pending() == 1 and job.state is JobState.QUEUED
    clock.advance(9.99)
    assert worker.run_pending() == 0
    clock.advance(0.01)
    assert worker.run_pending() == 1
    assert job.state is JobState.DONE and job.result == "sent" and job.attempts == 3
    assert len(job.errors) == 2 and q.dead == []


def test_no_retry_and_single_attempt():
    from jobqueue import RetryPolicy

    clock = FakeClock()
    q = JobQueue(clock)

    def handler(payload):
        raise payload["error"]("boom")

    worker = Worker(q, {"x": handler}, retry=RetryPolicy(max_attempts=5, base_delay=1, no_retry=(KeyError,)))
    fatal = q.submit("x", {"error": KeyError})
    transient = q.submit("x", {"error": ValueError})
    assert worker.run_pending() == 2
    assert q.dead == [fatal] and fatal.attempts == 1
    assert transient.state is JobState.QUEUED

    q2 = JobQueue(clock)
    once = Worker(q2, {"x": handler}, retry=RetryPolicy(max_attempts=1))
    job = q2.submit("x", {"error": ValueError})
    assert once.run_pending() == 1
    assert q2.dead == [job] and job.attempts == 1 and len(q2) == 0


def test_policy_delays_jitter_and_validation():
    from jobqueue import RetryPolicy

    plain = RetryPolicy(base_delay=1, factor=2, max_delay=5)
    assert [plain.delay(n) for n in range(1, 6)] == [1, 2, 4, 5, 5]

    first = RetryPolicy(base_delay=10, factor=1, max_delay=10, jitter=0.5, seed=7)
    a = [first.delay(1) for _ in range(20)]
    random.seed(0)
    random.random()
    second = RetryPolicy(base_delay=10, factor=1, max_delay=10, jitter=0.5, seed=7)
    b = []
    for _ in range(20):
        random.random()
        b.append(second.delay(1))
    assert a == b
    assert all(5 <= d <= 15 for d in a) and len(set(a)) > 1
    other_seed = RetryPolicy(base_delay=10, factor=1, max_delay=10, jitter=0.5, seed=8)
    assert [other_seed.delay(1) for _ in range(20)] != a

    for bad in ({"max_attempts": 0}, {"jitter": 1.5}, {"jitter": -0.1}, {"base_delay": -1}):
        with pytest.raises(ValueError):
            RetryPolicy(**bad)
