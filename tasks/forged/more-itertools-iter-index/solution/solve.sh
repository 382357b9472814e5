#!/bin/bash
# The known-good fix: the released source of the changed file, applied back as a patch.
set -euo pipefail
cd /app
git apply --whitespace=nowarn <<'RIPSAW_FORGE_PATCH'
--- a/more_itertools/recipes.py
+++ b/more_itertools/recipes.py
@@ -901,7 +901,7 @@
     associated with particular values.
 
     """
-    seq_index = getattr('index', iterable, None)
+    seq_index = getattr(iterable, 'index', None)
     if seq_index is None:
         # Slow path for general iterables
         it = islice(iterable, start, stop)
RIPSAW_FORGE_PATCH
