from datetime import date

from todo.cli import main

TODAY = date(2024, 5, 10)


def run(capsys, *argv):
    code = main(list(argv), today=TODAY)
    out = capsys.readouterr()
    return code, out.out, out.err


def listing(capsys, *flags):
    code, out, err = run(capsys, "list", *flags)
    assert code == 0, err
    return out.splitlines()


def test_done_marks_the_listed_item(todo_file, capsys):
    run(capsys, "add", "buy milk")
    run(capsys, "add", "file taxes", "--due", "2024-05-09", "--priority", "high")
    assert run(capsys, "done", "1")[0] == 0
    assert listing(capsys) == ["  1. [ ] buy milk", "  2. [x] file taxes (high)"]


def test_rm_the_last_item(todo_file, capsys):
    run(capsys, "add", "first", "--due", "2024-05-11")
    run(capsys, "add", "second", "--due", "2024-05-12")
    code, _, err = run(capsys, "rm", "2")
    assert code == 0, err
    assert listing(capsys) == ["  1. [ ] first - due tomorrow"]


def test_edit_and_undo_use_the_listed_number(todo_file, capsys):
    run(capsys, "add", "a", "--due", "2024-05-20")
    run(capsys, "add", "b", "--due", "2024-05-21")
    run(capsys, "add", "c", "--due", "2024-05-22")
    assert run(capsys, "edit", "2", "--title", "b2")[0] == 0
    assert listing(capsys) == [
        "  1. [ ] a - due 2024-05-20",
        "  2. [ ] b2 - due 2024-05-21",
        "  3. [ ] c - due 2024-05-22",
    ]
    run(capsys, "done", "2")
    assert listing(capsys)[2] == "  3. [x] b2"
    assert run(capsys, "undo", "3")[0] == 0
    assert listing(capsys)[1] == "  2. [ ] b2 - due 2024-05-21"


def test_pending_filter_keeps_numbers(todo_file, capsys):
    run(capsys, "add", "a", "--due", "2024-05-11")
    run(capsys, "add", "b", "--due", "2024-05-12")
    run(capsys, "add", "c")
    run(capsys, "done", "2")
    assert listing(capsys, "--pending") == ["  1. [ ] a - due tomorrow", "  2. [ ] c"]
    assert listing(capsys, "--done") == ["  3. [x] b"]


def test_tag_filter_keeps_numbers(todo_file, capsys):
    run(capsys, "add", "a")
    run(capsys, "add", "b", "--tag", "work")
    assert listing(capsys, "--tag", "work") == ["  2. [ ] b #work"]
