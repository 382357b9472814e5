#!/bin/bash
# The known-good fix: the released source of the changed file, applied back as a patch.
set -euo pipefail
cd /app
git apply --whitespace=nowarn <<'RIPSAW_FORGE_PATCH'
--- a/boltons/setutils.py
+++ b/boltons/setutils.py
@@ -212,7 +212,7 @@
 
     def __reversed__(self):
         item_list = self.item_list
-        return (item for item in reversed(item_list) if item is _MISSING)
+        return (item for item in reversed(item_list) if item is not _MISSING)
 
     def __repr__(self):
         return f'{self.__class__.__name__}({list(self)!r})'
RIPSAW_FORGE_PATCH
