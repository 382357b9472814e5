#!/bin/bash
# The known-good fix: the released source of the changed file, applied back as a patch.
set -euo pipefail
cd /app
git apply --whitespace=nowarn <<'RIPSAW_FORGE_PATCH'
--- a/src/cachetools/__init__.py
+++ b/src/cachetools/__init__.py
@@ -655,7 +655,7 @@
 
                 def getinfo():
                     nonlocal hits, misses
-                    return _CacheInfo(misses, hits, None, len(cache))
+                    return _CacheInfo(hits, misses, None, len(cache))
 
             else:
 
RIPSAW_FORGE_PATCH
