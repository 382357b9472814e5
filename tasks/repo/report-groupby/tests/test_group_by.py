import json

import pytest

from sales.cli import main


def run(capsys, *argv):
    # The exit status of the command, whether main returns it or exits with it.
    try:
        code = main([str(a) for a in argv])
    except SystemExit as e:
        code = e.code
    out = capsys.readouterr()
    return code, out.out, out.err


def test_group_by_region_json(orders, capsys):
    code, out, _ = run(
        capsys, orders, "--group-by", "region", "--agg", "sum:amount", "--agg", "count", "--agg", "avg:amount",
        "--format", "json",
    )
    assert code == 0
    rows = json.loads(out)
    us_avg = rows[2].pop("avg_amount")
    assert rows == [
        {"region": "APAC", "sum_amount": 300, "count": 1, "avg_amount": 300},
        {"region": "EU", "sum_amount": 260, "count": 3, "avg_amount": 86.67},
        {"region": "US", "sum_amount": 95.25, "count": 2},
    ]
    assert us_avg == pytest.approx(47.625, abs=0.0051)  # 47.62 or 47.63: either rounding of the half is fine


def test_two_group_columns_after_where_then_sort_and_limit(orders, capsys):
    code, out, _ = run(
        capsys, orders, "--where", "status=paid", "--group-by", "region", "--group-by", "product",
        "--agg", "max:amount", "--agg", "count", "--sort=-max_amount", "--limit", "2", "--format", "csv",
    )
    assert code == 0
    assert out.splitlines() == ["region,product,max_amount,count", "APAC,widget,300,1", "EU,widget,120.50,2"]


def test_agg_without_group_by_is_one_row(orders, capsys):
    code, out, _ = run(
        capsys, orders, "--agg", "count", "--agg", "sum:qty", "--agg", "min:amount", "--agg", "max:qty",
        "--format", "json",
    )
    assert code == 0
    assert json.loads(out) == [{"count": 6, "sum_qty": 18, "min_amount": 15.25, "max_qty": 10}]


def test_bad_group_or_aggregate_is_exit_2_naming_it(orders, capsys):
    code, _, _ = run(capsys, orders, "--group-by", "region", "--agg", "sum:qty", "--sort", "sum_qty")
    assert code == 0
    code, out, err = run(capsys, orders, "--group-by", "region", "--agg", "sum:product")
    assert code == 2 and "product" in err and out == ""
    code, out, err = run(capsys, orders, "--group-by", "colour", "--agg", "count")
    assert code == 2 and "colour" in err and out == ""
    code, out, err = run(capsys, orders, "--group-by", "region", "--agg", "avg:weight")
    assert code == 2 and "weight" in err and out == ""
    code, out, err = run(capsys, orders, "--group-by", "region", "--agg", "sum:amount", "--sort", "amount")
    assert code == 2 and "amount" in err and out == ""


def test_sort_on_an_unknown_column_is_still_exit_2(orders, capsys):
    code, _, err = run(capsys, orders, "--sort", "weight")
    assert code == 2 and "weight" in err
