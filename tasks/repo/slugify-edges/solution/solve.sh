#!/bin/bash
# The known-good fix: strip the separator from both ends, not just the start.
set -euo pipefail
cd /app
sed -i 's/slug = slug.lstrip(separator)/slug = slug.strip(separator)/' textkit/slug.py
grep -q 'slug = slug.strip(separator)' textkit/slug.py
