#!/bin/bash
# The known-good fix: "off" is a false word, as "on" is a true one.
set -euo pipefail
cd /app
sed -i 's/^_FALSE = {"0", "false", "no", "n"}$/_FALSE = {"0", "false", "no", "n", "off"}/' confload/coerce.py
grep -q '^_FALSE = {"0", "false", "no", "n", "off"}$' confload/coerce.py
