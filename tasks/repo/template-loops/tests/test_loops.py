import pytest

from minitpl import Template, TemplateError


def render(source, **ctx):
    return Template(source).render(ctx)


def test_for_loop_and_its_loop_variables():
    orders = [{"id": "A1", "total": 30}, {"id": "B2", "total": 12}, {"id": "C3", "total": 7}]
    source = (
        "{% for o in orders %}"
        "{% if loop.first %}[{% endif %}"
        "{{ loop.index }}/{{ loop.length }}:{{ o.id }}({{ loop.index0 }})"
        "{% if loop.last %}]{% else %}, {% endif %}"
        "{% endfor %}"
    )
    assert render(source, orders=orders) == "[1/3:A1(0), 2/3:B2(1), 3/3:C3(2)]"
    assert render("{% for c in user.cities %}<{{ c|upper }}>{% endfor %}", user={"cities": ("oslo", "rome")}) == (
        "<OSLO><ROME>"
    )


def test_else_part_and_no_leak():
    t = Template("{% for x in xs %}{{ x }};{% else %}none{% endfor %}|{{ x }}|{{ loop.index }}")
    assert t.render(xs=[1, 2]) == "1;2;||"
    assert t.render(xs=[]) == "none||"
    assert t.render() == "none||"
    assert t.render(xs=["a"], x="outer") == "a;|outer|"


def test_nested_loops_see_the_innermost_loop():
    source = (
        "{% for row in rows %}"
        "{% for cell in row %}{{ loop.index }}{{ cell }}{% if not_there %}?{% endif %}{% endfor %}"
        "|{{ loop.index }}:{{ row|length }}\n"
        "{% endfor %}"
    )
    rows = [["a", "b"], [], ["c"]]
    assert render(source, rows=rows) == "1a2b|1:2\n|2:0\n1c|3:1\n"


def test_join_filter():
    assert render("{{ tags|join }}", tags=["red", "green"]) == "red, green"
    assert render("{{ nums|join(' + ') }} = {{ total }}", nums=[1, 2, 3], total=6) == "1 + 2 + 3 = 6"
    assert render("{{ xs|join('/') }}", xs=["<b>", "&"]) == "&lt;b&gt;/&amp;"
    assert render("[{{ missing|join }}]") == "[]"


def test_loop_errors_name_the_line():
    for source, line in [("a\n{% for x in xs %}{{ x }}", 2), ("{% endfor %}", 1), ("\n{% for x xs %}{% endfor %}", 2)]:
        with pytest.raises(TemplateError) as e:
            Template(source).render(xs=[1])
        assert e.value.line == line, source
