#!/bin/bash
# The known-good fix: a successful read moves the entry to the most recently used end.
set -euo pipefail
cd /app
python3 - <<'PY'
import pathlib
p = pathlib.Path("memo/cache.py")
src = p.read_text()
old = "            self._stats.hits += 1\n            return value\n"
new = "            self._data.move_to_end(key)\n            self._stats.hits += 1\n            return value\n"
assert src.count(old) == 1, "memo/cache.py: the hit branch of get() was not found"
p.write_text(src.replace(old, new))
PY
grep -q 'self._data.move_to_end(key)' memo/cache.py
