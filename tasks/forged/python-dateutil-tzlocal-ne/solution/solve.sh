#!/bin/bash
# The known-good fix: the released source of the changed file, applied back as a patch.
set -euo pipefail
cd /app
git apply --whitespace=nowarn <<'RIPSAW_FORGE_PATCH'
--- a/src/dateutil/tz/tz.py
+++ b/src/dateutil/tz/tz.py
@@ -317,7 +317,7 @@
     __hash__ = None
 
     def __ne__(self, other):
-        return not (self != other)
+        return not (self == other)
 
     def __repr__(self):
         return "%s()" % self.__class__.__name__
RIPSAW_FORGE_PATCH
