#!/bin/bash
# The known-good fix: a unit's own short name wins before the first-letter fallback ("ms" is not "m").
set -euo pipefail
cd /app
python3 - <<'PY'
import pathlib

path = pathlib.Path("timeparse/units.py")
text = path.read_text()
old = "    unit = unit.lower()\n    return ALIASES.get(unit, unit[:1])\n"
new = "    unit = unit.lower()\n    if unit in UNITS:\n        return unit\n    return ALIASES.get(unit, unit[:1])\n"
assert text.count(old) == 1, "canonical() was not found"
path.write_text(text.replace(old, new))
PY
