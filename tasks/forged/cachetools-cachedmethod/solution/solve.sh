#!/bin/bash
# The known-good fix: the released source of the changed file, applied back as a patch.
set -euo pipefail
cd /app
git apply --whitespace=nowarn <<'RIPSAW_FORGE_PATCH'
--- a/src/cachetools/__init__.py
+++ b/src/cachetools/__init__.py
@@ -845,7 +845,7 @@
 
             def clear(self):
                 c = cache(self)
-                if c is None:
+                if c is not None:
                     with lock(self):
                         c.clear()
 
RIPSAW_FORGE_PATCH
