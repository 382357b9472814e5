import pytest

from minitpl import Template, TemplateError


def render(source, **ctx):
    return Template(source).render(ctx)


def test_text_and_values():
    assert render("Hi {{ user.name }}!", user={"name": "Ana"}) == "Hi Ana!"


def test_escaping_and_safe():
    assert render("{{ x }} {{ x|safe }}", x="<b>") == "&lt;b&gt; <b>"


def test_filters_chain_with_args():
    assert render("{{ name|default('guest')|upper }}") == "GUEST"
    assert render("{{ name|title }}", name="ada lovelace") == "Ada Lovelace"


def test_index_and_attribute_lookup():
    class User:
        nick = "ace"
        _secret = "no"

    assert render("{{ xs.1 }} {{ u.nick }}[{{ u._secret }}]", xs=[1, 2], u=User()) == "2 ace[]"


def test_if_elif_else():
    t = Template("{% if n %}some{% elif zero %}zero{% else %}none{% endif %}")
    assert [t.render(n=1), t.render(n=0, zero=True), t.render(n=0)] == ["some", "zero", "none"]


def test_unknown_names_are_empty():
    assert render("[{{ nope.deeper }}]") == "[]"


@pytest.mark.parametrize(
    ("source", "line"),
    [("{{ x|nofilter }}", 1), ("a\n{% if x %}", 2), ("{% bogus %}", 1), ("{% endif %}", 1), ("\n\n{{ x", 3)],
)
def test_errors_name_the_line(source, line):
    with pytest.raises(TemplateError) as e:
        Template(source).render(x=1)
    assert e.value.line == line
