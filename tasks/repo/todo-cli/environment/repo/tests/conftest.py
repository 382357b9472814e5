import pytest


@pytest.fixture
def todo_file(tmp_path, monkeypatch):
    path = tmp_path / "todo.json"
    monkeypatch.setenv("TODO_FILE", str(path))
    return path
