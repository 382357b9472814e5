#!/bin/bash
# The known-good fix: split whole minor units, the remainder one unit each to the first people in the split.
set -euo pipefail
cd /app
python3 - <<'PY'
import pathlib
p = pathlib.Path("ledger/split.py")
src = p.read_text()
old = """    share = round_money(amount / len(people), currency)
    return {person: share for person in people}
"""
new = """    unit = quantum(currency)
    base, left = divmod(int(amount / unit), len(people))
    return {person: (base + (1 if i < left else 0)) * unit for i, person in enumerate(people)}
"""
assert src.count(old) == 1, "ledger/split.py: the body of split_evenly was not found"
src = src.replace(old, new).replace("from ledger.money import quantum, round_money\n", "from ledger.money import quantum\n")
p.write_text(src)
PY
grep -q 'base, left = divmod(int(amount / unit), len(people))' ledger/split.py
