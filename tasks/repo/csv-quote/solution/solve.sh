#!/bin/bash
# The known-good fix: after a doubled quote the parser is still inside the quoted field.
set -euo pipefail
cd /app
python3 - <<'PY'
import pathlib

path = pathlib.Path("csvlite/reader.py")
text = path.read_text()
old = "                field.append(q)\n                state = IN_FIELD\n"
new = "                field.append(q)\n                state = IN_QUOTED\n"
assert text.count(old) == 1, "the doubled-quote branch was not found"
path.write_text(text.replace(old, new))
PY
