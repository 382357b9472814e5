#!/bin/bash
# The known-good fix: the released source of the changed file, applied back as a patch.
set -euo pipefail
cd /app
git apply --whitespace=nowarn <<'RIPSAW_FORGE_PATCH'
--- a/src/cachetools/__init__.py
+++ b/src/cachetools/__init__.py
@@ -535,7 +535,7 @@
         except KeyError:
             return False
         else:
-            return self.timer() <= item.expires
+            return self.timer() < item.expires
 
     def __getitem__(self, key, cache_getitem=Cache.__getitem__):
         try:
RIPSAW_FORGE_PATCH
