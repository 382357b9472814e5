#!/bin/bash
# The known-good fix: list numbers start at 1, and --pending hides the items that are done.
set -euo pipefail
cd /app
sed -i 's/return items\[number\]$/return items[number - 1]/' todo/cli.py
sed -i 's/if args.pending and not item.done:/if args.pending and item.done:/' todo/cli.py
grep -q 'return items\[number - 1\]' todo/cli.py
grep -q 'if args.pending and item.done:' todo/cli.py
