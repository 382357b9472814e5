#!/bin/bash
# The known-good fix: the released source of the changed file, applied back as a patch.
set -euo pipefail
cd /app
git apply --whitespace=nowarn <<'RIPSAW_FORGE_PATCH'
--- a/more_itertools/recipes.py
+++ b/more_itertools/recipes.py
@@ -861,7 +861,7 @@
     order.
     """
     seq = list(iterable)
-    slices = starmap(slice, combinations(2, range(len(seq) + 1)))
+    slices = starmap(slice, combinations(range(len(seq) + 1), 2))
     return map(operator.getitem, repeat(seq), slices)
 
 
RIPSAW_FORGE_PATCH
