from tests.clock import FakeClock
from throttle import KeyedLimiter, SlidingWindow, TokenBucket


def test_window_limit_and_slide():
    clock = FakeClock()
    w = SlidingWindow(limit=2, period=10, clock=clock)
    assert w.try_acquire() and w.try_acquire() and not w.try_acquire()
    assert w.retry_after() == 10
    clock.advance(10)
    assert w.try_acquire() and w.used == 1


def test_keyed_limiters_are_independent():
    clock = FakeClock()
    k = KeyedLimiter(lambda: TokenBucket(rate=1, capacity=1, clock=clock), clock=clock)
    assert k.try_acquire("a") and not k.try_acquire("a") and k.try_acquire("b")
    assert len(k) == 2


def test_keyed_sweep():
    clock = FakeClock()
    k = KeyedLimiter(lambda: SlidingWindow(1, 1, clock=clock), idle_after=60, clock=clock)
    k.try_acquire("a")
    clock.advance(61)
    k.try_acquire("b")
    assert k.sweep() == 1 and len(k) == 1
