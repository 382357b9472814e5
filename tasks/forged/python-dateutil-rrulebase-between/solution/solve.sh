#!/bin/bash
# The known-good fix: the released source of the changed file, applied back as a patch.
set -euo pipefail
cd /app
git apply --whitespace=nowarn <<'RIPSAW_FORGE_PATCH'
--- a/src/dateutil/rrule.py
+++ b/src/dateutil/rrule.py
@@ -284,7 +284,9 @@
                 if i > before:
                     break
                 elif not started:
-                    pass
+                    if i >= after:
+                        started = True
+                        l.append(i)
                 else:
                     l.append(i)
         else:
RIPSAW_FORGE_PATCH
