from datetime import date

from todo.cli import main

TODAY = date(2024, 5, 10)


def run(capsys, *argv):
    code = main(list(argv), today=TODAY)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_add_and_list(todo_file, capsys):
    assert run(capsys, "add", "buy milk")[0] == 0
    assert run(capsys, "add", "file taxes", "--due", "2024-05-09", "--priority", "high")[0] == 0
    code, out, _ = run(capsys, "list")
    assert code == 0
    assert out.splitlines() == ["  1. [ ] file taxes (high) - overdue 1d", "  2. [ ] buy milk"]


def test_bad_number(todo_file, capsys):
    run(capsys, "add", "one")
    code, _, err = run(capsys, "rm", "5")
    assert code == 1 and "no item 5" in err


def test_corrupt_file(todo_file, capsys):
    todo_file.write_text("{nope")
    code, _, err = run(capsys, "list")
    assert code == 1 and "not valid JSON" in err


def test_list_done_filter(todo_file, capsys):
    run(capsys, "add", "a")
    code, out, _ = run(capsys, "list", "--done")
    assert code == 0 and out == ""
