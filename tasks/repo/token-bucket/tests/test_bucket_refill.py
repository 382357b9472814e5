import pytest

from tests.clock import FakeClock
from throttle import KeyedLimiter, TokenBucket


def test_refill_is_continuous():
    clock = FakeClock()
    b = TokenBucket(rate=5, capacity=10, clock=clock, initial=0)
    clock.advance(0.2)
    assert b.tokens == pytest.approx(1.0)
    assert b.try_acquire()
    clock.advance(0.1)
    assert not b.try_acquire()
    clock.advance(0.1)
    assert b.try_acquire()


def test_never_more_than_capacity():
    clock = FakeClock()
    b = TokenBucket(rate=2, capacity=3, clock=clock)
    clock.advance(60)
    assert b.tokens == pytest.approx(3)
    assert [b.try_acquire() for _ in range(4)] == [True, True, True, False]
    k = KeyedLimiter(lambda: TokenBucket(rate=1, capacity=2, clock=clock), clock=clock)
    k.try_acquire("a")
    clock.advance(30)
    assert [k.try_acquire("a") for _ in range(3)] == [True, True, False]


def test_acquire_waits_a_fraction_of_a_second():
    clock = FakeClock()
    b = TokenBucket(rate=4, capacity=4, clock=clock, initial=0)
    assert b.acquire(sleep=clock.sleep, timeout=1.0)
    assert clock.now == pytest.approx(1000.25)


def test_no_refill_without_time():
    clock = FakeClock()
    b = TokenBucket(rate=100, capacity=1, clock=clock)
    assert b.try_acquire() and not b.try_acquire()
    assert b.retry_after() == pytest.approx(0.01)
