#!/bin/bash
# The known-good fix: the released source of the changed file, applied back as a patch.
set -euo pipefail
cd /app
git apply --whitespace=nowarn <<'RIPSAW_FORGE_PATCH'
--- a/boltons/formatutils.py
+++ b/boltons/formatutils.py
@@ -310,7 +310,6 @@
     def __init__(self, func, cache_value=True):
         self.func = func
         self.cache_value = cache_value
-        return
         self._value = _UNSET
 
     def get_value(self):
RIPSAW_FORGE_PATCH
