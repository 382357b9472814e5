from timeparse import format_duration
from timeparse.cli import main


def test_format():
    assert format_duration(5400) == "1h30m"
    assert format_duration(0) == "0ms"
    assert format_duration(-90) == "-1m30s"
    assert format_duration(86400 * 3 + 1, largest="h") == "72h1s"


def test_cli(capsys):
    assert main(["1h", "nonsense"]) == 1
    out = capsys.readouterr()
    assert out.out == "3600\n" and "nonsense" in out.err
