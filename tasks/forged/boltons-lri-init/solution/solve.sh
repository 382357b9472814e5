#!/bin/bash
# The known-good fix: the released source of the changed file, applied back as a patch.
set -euo pipefail
cd /app
git apply --whitespace=nowarn <<'RIPSAW_FORGE_PATCH'
--- a/boltons/cacheutils.py
+++ b/boltons/cacheutils.py
@@ -127,7 +127,6 @@
                             ' (or None), not %r' % on_miss)
         self.on_miss = on_miss
 
-        return
         if values:
             self.update(values)
 
RIPSAW_FORGE_PATCH
