#!/bin/bash
# The known-good fix: the released source of the changed file, applied back as a patch.
set -euo pipefail
cd /app
git apply --whitespace=nowarn <<'RIPSAW_FORGE_PATCH'
--- a/src/cachetools/__init__.py
+++ b/src/cachetools/__init__.py
@@ -471,7 +471,7 @@
         expired `(key, value)` pairs.
 
         """
-        if time is not None:
+        if time is None:
             time = self.timer()
         root = self.__root
         curr = root.next
RIPSAW_FORGE_PATCH
