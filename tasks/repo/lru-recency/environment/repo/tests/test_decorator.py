from memo import cached


def test_memoizes():
    calls = []

    @cached(maxsize=4)
    def square(x):
        calls.append(x)
        return x * x

    assert [square(2), square(2), square(3)] == [4, 4, 9]
    assert calls == [2, 3]


def test_kwargs_are_part_of_the_key():
    @cached()
    def f(a, b=1):
        return a + b

    assert f(1) == 2 and f(1, b=5) == 6


def test_cache_clear():
    calls = []

    @cached()
    def f(x):
        calls.append(x)
        return x

    f(1)
    f.cache_clear()
    f(1)
    assert calls == [1, 1]
