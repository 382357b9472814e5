#!/bin/bash
# The known-good fix: the released source of the changed file, applied back as a patch.
set -euo pipefail
cd /app
git apply --whitespace=nowarn <<'RIPSAW_FORGE_PATCH'
--- a/src/dateutil/rrule.py
+++ b/src/dateutil/rrule.py
@@ -1224,7 +1224,7 @@
                 else:
                     ranges = [(0, self.yearlen)]
             elif rr._freq == MONTHLY:
-                ranges = [self.mrange[month-1:month + 1 + 1]]
+                ranges = [self.mrange[month-1:month+1]]
             if ranges:
                 # Weekly frequency won't get here, so we may not
                 # care about cross-year weekly periods.
RIPSAW_FORGE_PATCH
