#!/bin/bash
# The known-good fix: the released source of the changed file, applied back as a patch.
set -euo pipefail
cd /app
git apply --whitespace=nowarn <<'RIPSAW_FORGE_PATCH'
--- a/src/cachetools/func.py
+++ b/src/cachetools/func.py
@@ -116,6 +116,6 @@
     if maxsize is None:
         return _cache(_UnboundTTLCache(ttl, timer), None, typed)
     elif callable(maxsize):
-        return _cache(128, TTLCache(128, ttl, timer), typed)(maxsize)
+        return _cache(TTLCache(128, ttl, timer), 128, typed)(maxsize)
     else:
         return _cache(TTLCache(maxsize, ttl, timer), maxsize, typed)
RIPSAW_FORGE_PATCH
