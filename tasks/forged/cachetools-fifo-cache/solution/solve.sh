#!/bin/bash
# The known-good fix: the released source of the changed file, applied back as a patch.
set -euo pipefail
cd /app
git apply --whitespace=nowarn <<'RIPSAW_FORGE_PATCH'
--- a/src/cachetools/func.py
+++ b/src/cachetools/func.py
@@ -44,7 +44,7 @@
     if maxsize is None:
         return _cache({}, None, typed)
     elif callable(maxsize):
-        return _cache(128, FIFOCache(128), typed)(maxsize)
+        return _cache(FIFOCache(128), 128, typed)(maxsize)
     else:
         return _cache(FIFOCache(maxsize), maxsize, typed)
 
RIPSAW_FORGE_PATCH
