#!/bin/bash
# The known-good fix: a line that does not start with a timestamp continues the previous record's message.
set -euo pipefail
cd /app
python3 - <<'PY'
import pathlib
p = pathlib.Path("logpipe/parse.py")
src = p.read_text()
old_re = "\n\n@dataclass\nclass Record:"
new_re = '\n_STARTS_WITH_TIMESTAMP = re.compile(r"^\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2}")\n\n\n@dataclass\nclass Record:'
old = """        m = _LINE.match(line)
        if m is None or m.group("level") not in LEVELS:
"""
new = """        m = _LINE.match(line)
        if m is None and result.records and not _STARTS_WITH_TIMESTAMP.match(line):
            result.records[-1].message += "\\n" + line
            continue
        if m is None or m.group("level") not in LEVELS:
"""
assert src.count(old) == 1 and src.count(old_re) == 1, "logpipe/parse.py: parse_lines was not found"
p.write_text(src.replace(old_re, new_re, 1).replace(old, new))
PY
grep -q 'result.records\[-1\].message += "\\n" + line' logpipe/parse.py
