"""Reading and writing the list: one JSON file, replaced atomically."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from todo.model import Item, ordered

DEFAULT_FILE = "~/.todo.json"


def path_from_env() -> Path:
    return Path(os.environ.get("TODO_FILE", DEFAULT_FILE)).expanduser()


class Store:
    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> list[Item]:
        """The items in display order (the order `todo list` numbers them in)."""
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return []
        except json.JSONDecodeError as e:
            raise ValueError(f"{self.path} is not valid JSON: {e}") from None
        return ordered([Item.from_json(d) for d in raw.get("items", [])])

    def save(self, items: list[Item]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = {"version": 1, "items": [i.to_json() for i in ordered(items)]}
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".todo-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(data, f, indent=2)
                f.write("\n")
            os.replace(tmp, self.path)
        except BaseException:
            os.unlink(tmp)
            raise
