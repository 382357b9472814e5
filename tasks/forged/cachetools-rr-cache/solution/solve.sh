#!/bin/bash
# The known-good fix: the released source of the changed file, applied back as a patch.
set -euo pipefail
cd /app
git apply --whitespace=nowarn <<'RIPSAW_FORGE_PATCH'
--- a/src/cachetools/func.py
+++ b/src/cachetools/func.py
@@ -100,7 +100,7 @@
     algorithm.
 
     """
-    if maxsize is not None:
+    if maxsize is None:
         return _cache({}, None, typed)
     elif callable(maxsize):
         return _cache(RRCache(128, choice), 128, typed)(maxsize)
RIPSAW_FORGE_PATCH
