from memo import LRUCache, cached


def test_read_protects_from_eviction():
    c = LRUCache(2)
    c.set("a", 1)
    c.set("b", 2)
    assert c.get("a") == 1
    c.set("c", 3)
    assert "a" in c and "b" not in c
    assert c.get("a") == 1 and c.get("c") == 3
    assert c.stats().evictions == 1


def test_keys_follow_reads():
    c = LRUCache(3)
    for k in "xyz":
        c.set(k, k.upper())
    c.get("x")
    c.get("y")
    assert list(c.keys()) == ["z", "x", "y"]


def test_hot_key_of_cached_function_stays():
    calls = []

    @cached(maxsize=2)
    def load(key):
        calls.append(key)
        return key * 2

    load("hot")
    load("a")
    load("hot")
    load("b")
    load("hot")
    assert calls == ["hot", "a", "b"]


def test_membership_does_not_refresh():
    c = LRUCache(2)
    c.set("a", 1)
    c.set("b", 2)
    assert "a" in c
    c.set("c", 3)
    assert list(c.keys()) == ["b", "c"]


def test_missed_read_changes_nothing():
    c = LRUCache(2)
    c.set("a", 1)
    c.set("b", 2)
    assert c.get("zzz") is None
    c.set("c", 3)
    assert list(c.keys()) == ["b", "c"]
