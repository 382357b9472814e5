#!/bin/bash
# The known-good fix: the released source of the changed file, applied back as a patch.
set -euo pipefail
cd /app
git apply --whitespace=nowarn <<'RIPSAW_FORGE_PATCH'
--- a/src/dateutil/rrule.py
+++ b/src/dateutil/rrule.py
@@ -223,7 +223,8 @@
                     return i
         else:
             for i in gen:
-                pass
+                if i > dt:
+                    return i
         return None
 
     def xafter(self, dt, count=None, inc=False):
RIPSAW_FORGE_PATCH
