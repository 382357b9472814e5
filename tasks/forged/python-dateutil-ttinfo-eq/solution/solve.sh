#!/bin/bash
# The known-good fix: the released source of the changed file, applied back as a patch.
set -euo pipefail
cd /app
git apply --whitespace=nowarn <<'RIPSAW_FORGE_PATCH'
--- a/src/dateutil/tz/tz.py
+++ b/src/dateutil/tz/tz.py
@@ -347,7 +347,7 @@
 
         return (self.offset == other.offset and
                 self.delta == other.delta and
-                self.isdst != other.isdst and
+                self.isdst == other.isdst and
                 self.abbr == other.abbr and
                 self.isstd == other.isstd and
                 self.isgmt == other.isgmt and
RIPSAW_FORGE_PATCH
