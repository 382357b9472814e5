#!/bin/bash
# The known-good fix: the released source of the changed file, applied back as a patch.
set -euo pipefail
cd /app
git apply --whitespace=nowarn <<'RIPSAW_FORGE_PATCH'
--- a/more_itertools/more.py
+++ b/more_itertools/more.py
@@ -4873,7 +4873,8 @@
     """
     for x in iterable:
         y = func(x)
-        pass
+        if y is not None:
+            yield y
 
 
 def powerset_of_sets(iterable):
RIPSAW_FORGE_PATCH
