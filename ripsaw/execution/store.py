"""The results store: one run directory = `manifest.json` + `attempts.jsonl`.

Each finished attempt is appended as one JSON line with a single write() on an O_APPEND descriptor, so it
reaches the kernel before the runner moves on: Ctrl-C or `kill -9` loses no finished attempt (power loss is
what `fsync` on close guards against). A line cut short by a crash is ignored on reading; a later line with
the same attempt_id supersedes an earlier infra error, which is how resumed infra errors get their second chance.
A scored result is final: a later record of an attempt already scored (an executor that ran it twice, two
resumes at once) never replaces it; it is kept in the file as a duplicate and counted. Appending again after a
crash first cuts the torn line off.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ripsaw.errors import ConfigError
from ripsaw.records import Attempt, Outcome, RecordError

MANIFEST = "manifest.json"
ATTEMPTS = "attempts.jsonl"
MANIFEST_SCHEMA_VERSION = 1


class RunStore:
    def __init__(self, run_dir: str | os.PathLike[str]) -> None:
        self.dir = Path(run_dir)
        self._fd: int | None = None

    @staticmethod
    def is_run_dir(path: str | os.PathLike[str]) -> bool:
        return (Path(path) / MANIFEST).is_file()

    # -- manifest -------------------------------------------------------------------------------------

    def manifest(self) -> dict[str, Any]:
        path = self.dir / MANIFEST
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"{self.dir}: not a run directory (no {MANIFEST})") from None
        except (OSError, json.JSONDecodeError) as e:
            raise ConfigError(f"{path}: unreadable manifest: {e}") from None
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: manifest is not a JSON object")
        return data

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        """Atomic replace, so a crash never leaves half a manifest."""
        self.dir.mkdir(parents=True, exist_ok=True)
        tmp = self.dir / f".{MANIFEST}.tmp"
        tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8")
        os.replace(tmp, self.dir / MANIFEST)

    # -- attempts -------------------------------------------------------------------------------------

    def append(self, attempt: Attempt) -> None:
        line = (json.dumps(attempt.to_dict(), separators=(",", ":"), default=str) + "\n").encode("utf-8")
        if self._fd is None:
            self.dir.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.dir / ATTEMPTS, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
            self._heal_torn_tail()
        view = memoryview(line)
        while view:  # a regular-file write is complete in practice; loop for the letter of POSIX
            view = view[os.write(self._fd, view) :]

    def _heal_torn_tail(self) -> None:
        """A crash mid-write can leave a last line without its newline: an attempt that never finished. Cut it
        off, so the next record starts on a fresh line and the file stays readable end to end."""
        assert self._fd is not None
        end = os.fstat(self._fd).st_size
        pos = end
        while pos > 0:
            start = max(0, pos - 65536)
            block = os.pread(self._fd, pos - start, start)
            newline = block.rfind(b"\n")
            if newline >= 0:
                pos = start + newline + 1
                break
            pos = start
        if pos != end:
            os.ftruncate(self._fd, pos)

    def close(self) -> None:
        if self._fd is not None:
            os.fsync(self._fd)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _raw_lines(self) -> Iterator[tuple[int, bytes]]:
        path = self.dir / ATTEMPTS
        try:
            f = path.open("rb")
        except FileNotFoundError:
            return
        with f:
            for number, raw in enumerate(f, 1):
                if not raw.endswith(b"\n"):
                    return  # torn by a crash mid-write: that attempt never finished
                if raw.strip():
                    yield number, raw

    def _parse(self, number: int, raw: bytes) -> dict[str, Any]:
        try:
            record: dict[str, Any] = json.loads(raw)
            return record
        except json.JSONDecodeError:
            raise ConfigError(f"{self.dir / ATTEMPTS}:{number}: corrupt attempt record") from None

    def _lines(self) -> Iterator[tuple[int, dict[str, Any]]]:
        for number, raw in self._raw_lines():
            yield number, self._parse(number, raw)

    def attempts(self) -> list[Attempt]:
        """All attempts, one per attempt_id, in first-seen order: the first scored record of each, else its
        latest infra error."""
        return self.read()[0]

    def read(self) -> tuple[list[Attempt], int]:
        """(attempts as `attempts()` gives them, the number of duplicate records: records of an attempt that
        came after it was scored, which never replace the scored one)."""
        kept: dict[str, tuple[int, dict[str, Any]]] = {}
        duplicates = 0
        for number, record in self._lines():
            earlier = kept.get(record["attempt_id"])
            if earlier is not None and earlier[1]["outcome"] != Outcome.INFRA_ERROR.value:
                duplicates += 1
                continue
            kept[record["attempt_id"]] = number, record
        return [self._attempt(number, r) for number, r in kept.values()], duplicates

    def _attempt(self, number: int, record: dict[str, Any]) -> Attempt:
        try:
            return Attempt.from_dict(record)
        except RecordError as e:
            raise ConfigError(f"{self.dir / ATTEMPTS}:{number}: {e}") from None

    def finished_ids(self) -> set[str]:
        """Attempt ids that need no re-run: everything except infra errors (those are retried on resume)."""
        done: dict[str, bool] = {}
        for number, raw in self._raw_lines():
            fast = _id_and_outcome(raw)
            if fast is None:
                record = self._parse(number, raw)
                fast = record["attempt_id"], record["outcome"]
            done[fast[0]] = done.get(fast[0], False) or fast[1] != Outcome.INFRA_ERROR.value
        return {key for key, ok in done.items() if ok}


# Resuming reads only two fields of every record, and parsing whole lines (mostly chunk offsets, several KB
# each) made the scan of 100k attempts take ~3 s (bench/overhead.py). `append` writes both as top-level keys,
# compact: `"outcome":"..."` among the first keys, `"attempt_id":"..."` as the very last. Neither pattern can
# occur unescaped inside a JSON string, and no nested record has a key named `outcome` or `attempt_id`, so the
# first `"outcome":"` and the last `"attempt_id":` are those keys.
_OUTCOME_KEY = b'"outcome":"'
_ID_KEY = b'"attempt_id":'
_OUTCOMES = frozenset(o.value for o in Outcome)


def _id_and_outcome(raw: bytes) -> tuple[str, str] | None:
    """(attempt_id, outcome) read off a record line without parsing it whole; None when the line is not laid out
    as `append` writes it (another writer, a hand edit), so the caller parses it whole."""
    start = raw.find(_OUTCOME_KEY)
    key = raw.rfind(_ID_KEY)
    if start < 0 or key < 0:
        return None
    start += len(_OUTCOME_KEY)
    outcome = raw[start : raw.find(b'"', start)].decode("ascii", "replace")
    tail = raw[key + len(_ID_KEY) :].rstrip()
    if outcome not in _OUTCOMES or not tail.endswith(b"}"):
        return None
    try:
        attempt_id = json.loads(tail[:-1])
    except ValueError:
        return None
    return (attempt_id, outcome) if isinstance(attempt_id, str) else None
