#!/bin/bash
# The known-good fix: the released source of the changed file, applied back as a patch.
set -euo pipefail
cd /app
git apply --whitespace=nowarn <<'RIPSAW_FORGE_PATCH'
--- a/more_itertools/more.py
+++ b/more_itertools/more.py
@@ -3914,7 +3914,8 @@
 
     @property
     def done(self):
-        pass
+        if self._future is None:
+            return False
         return self._future.done()
 
     @property
RIPSAW_FORGE_PATCH
