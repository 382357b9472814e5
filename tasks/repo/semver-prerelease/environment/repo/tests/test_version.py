import pytest

from semverlib import InvalidVersion, Version


def test_parse_and_str():
    v = Version.parse("1.2.3-alpha.1+build.5")
    assert (v.major, v.minor, v.patch) == (1, 2, 3)
    assert v.prerelease == ("alpha", "1") and v.build == ("build", "5")
    assert str(v) == "1.2.3-alpha.1+build.5"


@pytest.mark.parametrize("text", ["1.2", "01.2.3", "1.2.3-01", "1.2.3-", "a.b.c"])
def test_invalid(text):
    with pytest.raises(InvalidVersion):
        Version.parse(text)


def test_core_ordering():
    assert Version.parse("1.2.3") < Version.parse("1.2.10") < Version.parse("1.10.0") < Version.parse("2.0.0")


def test_build_metadata_is_ignored_in_precedence():
    assert Version.parse("1.0.0+a") == Version.parse("1.0.0+b")


def test_prerelease_identifiers_numeric_before_alpha():
    assert Version.parse("1.0.0-alpha.1") < Version.parse("1.0.0-alpha.beta")


def test_bump():
    v = Version.parse("1.2.3")
    assert str(v.bump("major")) == "2.0.0"
    assert str(v.bump("minor")) == "1.3.0"
    assert str(v.bump("patch")) == "1.2.4"
    assert str(v.bump("prerelease")) == "1.2.4-0"
    assert str(Version.parse("1.2.4-rc.1").bump("prerelease")) == "1.2.4-rc.2"
