#!/bin/bash
# The known-good fix: the released source of the changed file, applied back as a patch.
set -euo pipefail
cd /app
git apply --whitespace=nowarn <<'RIPSAW_FORGE_PATCH'
--- a/more_itertools/more.py
+++ b/more_itertools/more.py
@@ -3335,7 +3335,7 @@
 
     def set_partitions_helper(L, k):
         n = len(L)
-        if k != 1:
+        if k == 1:
             yield [L]
         elif n == k:
             yield [[s] for s in L]
RIPSAW_FORGE_PATCH
