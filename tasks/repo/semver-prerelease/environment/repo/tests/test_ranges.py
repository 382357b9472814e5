from semverlib import Range, Version


def v(text):
    return Version.parse(text)


def test_caret():
    r = Range("^1.2.3")
    assert r.contains(v("1.2.3")) and r.contains(v("1.9.0"))
    assert not r.contains(v("2.0.0")) and not r.contains(v("1.2.2"))


def test_caret_zero_major():
    r = Range("^0.2.3")
    assert r.contains(v("0.2.9")) and not r.contains(v("0.3.0"))


def test_tilde():
    r = Range("~1.2")
    assert r.contains(v("1.2.0")) and r.contains(v("1.2.99")) and not r.contains(v("1.3.0"))


def test_union_and_comparators():
    r = Range(">=1.0.0 <1.5.0 || >=3.0.0")
    assert r.contains(v("1.4.9")) and r.contains(v("3.1.0")) and not r.contains(v("2.0.0"))


def test_hyphen_range():
    r = Range("1.2 - 1.4.5")
    assert r.contains(v("1.3.0")) and r.contains(v("1.4.5")) and not r.contains(v("1.4.6"))


def test_x_range():
    assert Range("1.x").contains(v("1.99.0")) and not Range("1.x").contains(v("2.0.0"))
