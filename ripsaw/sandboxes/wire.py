"""The host side of the sandbox wire format: job bytes in, nonce-framed records out.

The value encoding itself lives in the in-sandbox driver (ripsaw/sandboxes/driver.py, stdlib only, see
its docstring for the tags); this module imports the same functions so host and sandbox cannot drift.
Decoding is strict and bounded: a record is accepted only when its line carries the run's nonce,
a valid index and a JSON object; anything else for an index (missing, repeated, malformed) yields None,
which the verdict never scores as a pass.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

from ripsaw.sandboxes import driver
from ripsaw.sandboxes.base import SandboxJob

__all__ = [
    "DRIVER_PATH",
    "MEMORY_EXIT_CODE",
    "WireFormatError",
    "decode_records",
    "decode_value",
    "encode_job",
    "encode_value",
    "new_nonce",
    "record_cap",
    "stdout_cap",
]

DRIVER_PATH = Path(driver.__file__).resolve()
# The driver exits with this code when it runs out of memory outside a candidate call.
MEMORY_EXIT_CODE = driver.MEMORY_EXIT_CODE
WireFormatError = driver.WireFormatError

_MIN_RECORD_BYTES = 16 * 1024
_HEADER_BYTES = 64  # nonce, index, separators


def new_nonce() -> str:
    return secrets.token_hex(16)


def encode_value(value: Any, budget: int = 1 << 20) -> Any:
    """Strict tagged-JSON form of `value`; raises driver.Unencodable for non-builtin or oversized values."""
    return driver.encode_value(value, budget)


def decode_value(obj: Any) -> Any:
    """Inverse of encode_value on JSON-parsed data; raises WireFormatError when malformed."""
    try:
        return driver.decode_value(obj)
    except RecursionError:
        raise WireFormatError("nested too deeply") from None


def record_cap(job: SandboxJob) -> int:
    """Largest record (one JSON line body) the driver may emit for this job."""
    return max(_MIN_RECORD_BYTES, job.limits.output_bytes // max(1, len(job.inputs)))


def stdout_cap(job: SandboxJob) -> int:
    """Bytes of driver stdout a sandbox must accept before calling the output a resource_limit."""
    return len(job.inputs) * (record_cap(job) + _HEADER_BYTES) + _MIN_RECORD_BYTES


def encode_job(job: SandboxJob, nonce: str, rlimits: dict[str, tuple[int, int]] | None = None) -> bytes:
    """The driver's stdin. `rlimits` (resource.RLIMIT_* name -> (soft, hard)) are applied by the driver
    before any candidate code runs; backends with their own limits (cgroups) leave them out."""
    body: dict[str, Any] = {
        "nonce": nonce,
        "mode": job.mode,
        "code": job.code,
        "entry_point": job.entry_point,
        "inputs": job.inputs,
        "max_record_bytes": record_cap(job),
    }
    if rlimits:
        body["rlimits"] = {name: list(pair) for name, pair in rlimits.items()}
    return json.dumps(body, ensure_ascii=True, allow_nan=False).encode("ascii")


def decode_records(stdout: bytes, nonce: str, n: int) -> list[dict[str, Any] | None]:
    """One entry per input index: the parsed record object, or None when there is not exactly one valid record."""
    prefix = nonce.encode("ascii") + b" "
    found: dict[int, dict[str, Any] | None] = {}
    seen: set[int] = set()
    # Only newline-terminated lines count: a record cut by a kill is not a record.
    for line in stdout.split(b"\n")[:-1]:
        if not line.startswith(prefix):
            continue
        index_text, sep, payload = line[len(prefix) :].partition(b" ")
        if not sep or not index_text.isdigit() or len(index_text) > 9:
            continue
        index = int(index_text)
        if index >= n:
            continue
        if index in seen:
            found[index] = None
            continue
        seen.add(index)
        found[index] = _parse_record(payload)
    return [found.get(i) for i in range(n)]


def _parse_record(payload: bytes) -> dict[str, Any] | None:
    try:
        record = json.loads(payload, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        return None
    return record if isinstance(record, dict) else None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"non-standard JSON constant {name}")
