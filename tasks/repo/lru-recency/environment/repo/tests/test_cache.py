import pytest

from memo import LRUCache


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_get_and_set():
    c = LRUCache(2)
    c.set("a", 1)
    assert c.get("a") == 1 and c.get("b", "none") == "none"


def test_eviction_of_oldest_write():
    c = LRUCache(2)
    c.set("a", 1)
    c.set("b", 2)
    c.set("c", 3)
    assert "a" not in c and list(c.keys()) == ["b", "c"]
    assert c.stats().evictions == 1


def test_rewrite_refreshes_recency():
    c = LRUCache(2)
    c.set("a", 1)
    c.set("b", 2)
    c.set("a", 10)
    c.set("c", 3)
    assert list(c.keys()) == ["a", "c"] and c.get("a") == 10


def test_ttl_expiry():
    clock = Clock()
    c = LRUCache(10, ttl=5, clock=clock)
    c.set("a", 1)
    clock.now = 4.9
    assert c.get("a") == 1
    clock.now = 5.0
    assert c.get("a") is None and c.stats().expirations == 1


def test_per_entry_ttl():
    clock = Clock()
    c = LRUCache(10, ttl=5, clock=clock)
    c.set("forever", 1, ttl=None)
    c.set("short", 2, ttl=1)
    clock.now = 100
    assert c.get("forever") == 1 and c.get("short") is None


def test_stats_hit_rate():
    c = LRUCache(2)
    c.set("a", 1)
    c.get("a")
    c.get("x")
    assert c.stats().hit_rate == 0.5


def test_invalid_sizes():
    with pytest.raises(ValueError):
        LRUCache(0)
    with pytest.raises(ValueError):
        LRUCache(1, ttl=0)
