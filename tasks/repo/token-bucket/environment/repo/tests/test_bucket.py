import pytest

from tests.clock import FakeClock
from throttle import TokenBucket


def test_burst_then_empty():
    clock = FakeClock()
    b = TokenBucket(rate=1, capacity=3, clock=clock)
    assert [b.try_acquire() for _ in range(4)] == [True, True, True, False]


def test_whole_second_refill():
    clock = FakeClock()
    b = TokenBucket(rate=2, capacity=2, clock=clock, initial=0)
    clock.advance(1)
    assert b.try_acquire() and b.try_acquire() and not b.try_acquire()


def test_retry_after_when_empty():
    clock = FakeClock()
    b = TokenBucket(rate=4, capacity=4, clock=clock, initial=0)
    assert b.retry_after() == pytest.approx(0.25)


def test_too_many_at_once():
    with pytest.raises(ValueError):
        TokenBucket(rate=1, capacity=2).try_acquire(3)


def test_invalid():
    with pytest.raises(ValueError):
        TokenBucket(rate=0, capacity=1)
