import json

from sales.cli import main


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_where_sort_limit_json(orders, capsys):
    code, out, _ = run(capsys, orders, "--where", "status=paid", "--sort=-amount", "--limit", "2", "--format", "json")
    assert code == 0
    assert [r["id"] for r in json.loads(out)] == [5, 1]


def test_not_equal(orders, capsys):
    code, out, _ = run(capsys, orders, "--where", "region!=EU", "--format", "csv")
    assert out.splitlines()[1:] == ["2,US,gadget,paid,80,1", "5,APAC,widget,paid,300,10", "6,US,widget,pending,15.25,1"]


def test_table(orders, capsys):
    code, out, _ = run(capsys, orders, "--where", "id=2")
    assert out.splitlines() == [
        "id  region  product  status  amount  qty",
        "--  ------  -------  ------  ------  ---",
        " 2  US      gadget   paid        80    1",
    ]


def test_unknown_column(orders, capsys):
    code, _, err = run(capsys, orders, "--where", "colour=red")
    assert code == 2 and "no column 'colour'" in err


def test_bad_file(tmp_path, capsys):
    (tmp_path / "bad.csv").write_text("a,b\n1\n")
    code, _, err = run(capsys, tmp_path / "bad.csv")
    assert code == 1 and "bad.csv:2" in err
