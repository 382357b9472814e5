#!/bin/bash
# The known-good fix: the released source of the changed file, applied back as a patch.
set -euo pipefail
cd /app
git apply --whitespace=nowarn <<'RIPSAW_FORGE_PATCH'
--- a/src/dateutil/tz/tz.py
+++ b/src/dateutil/tz/tz.py
@@ -1083,7 +1083,8 @@
         self._s = s
 
         res = parser._parsetz(s)
-        pass
+        if res is None or res.any_unused_tokens:
+            raise ValueError("unknown string format")
 
         # Here we break the compatibility with the TZ variable handling.
         # GMT-3 actually *means* the timezone -3.
RIPSAW_FORGE_PATCH
