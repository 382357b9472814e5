#!/bin/bash
# The known-good fix: the released source of the changed file, applied back as a patch.
set -euo pipefail
cd /app
git apply --whitespace=nowarn <<'RIPSAW_FORGE_PATCH'
--- a/src/dateutil/tz/tz.py
+++ b/src/dateutil/tz/tz.py
@@ -230,6 +230,8 @@
 
         if self._isdst(dt):
             return self._dst_offset - self._std_offset
+        else:
+            return ZERO
 
     @tzname_in_python2
     def tzname(self, dt):
RIPSAW_FORGE_PATCH
