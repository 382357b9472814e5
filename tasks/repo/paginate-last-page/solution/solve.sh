#!/bin/bash
# The known-good fix: a partly filled last page is still a page, so the page count rounds up.
set -euo pipefail
cd /app
sed -i 's|return max(1, total // per_page)|return max(1, -(-total // per_page))|' listapi/paginate.py
grep -q 'return max(1, -(-total // per_page))' listapi/paginate.py
