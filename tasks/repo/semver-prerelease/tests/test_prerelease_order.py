from semverlib import Range, Version
from semverlib.cli import main


def v(text):
    return Version.parse(text)


def test_prerelease_sorts_before_its_release():
    assert v("1.4.0-rc.1") < v("1.4.0")
    assert v("1.4.0") > v("1.4.0-rc.1")
    assert max(v("2.0.0"), v("2.0.0-beta")) == v("2.0.0")


def test_spec_precedence_chain():
    chain = [
        "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta",
        "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "1.0.1-0", "1.0.1",
    ]
    shuffled = [chain[i] for i in (7, 2, 9, 0, 5, 8, 3, 6, 1, 4)]
    assert [str(x) for x in sorted(v(t) for t in shuffled)] == chain


def test_cli_sort_puts_prerelease_first(capsys):
    assert main(["sort", "1.0.0", "0.9.1", "1.0.0-beta"]) == 0
    assert capsys.readouterr().out.split() == ["0.9.1", "1.0.0-beta", "1.0.0"]


def test_prerelease_lower_bound_includes_the_release():
    r = Range(">=1.2.3-beta.2")
    assert r.contains(v("1.2.3")) and r.contains(v("1.2.3-beta.3"))
    assert r.max_satisfying([v("1.2.3-beta.2"), v("1.2.3"), v("1.2.3-beta.9")]) == v("1.2.3")


def test_prereleases_compare_among_themselves():
    assert v("1.0.0-alpha") < v("1.0.0-alpha.1") < v("1.0.0-beta") < v("1.0.0-rc.1")


def test_other_versions_prereleases_stay_out_of_ranges():
    assert not Range("^1.2.3").contains(v("1.3.0-rc.1"))
