#!/bin/bash
# The known-good fix: the released source of the changed file, applied back as a patch.
set -euo pipefail
cd /app
git apply --whitespace=nowarn <<'RIPSAW_FORGE_PATCH'
--- a/more_itertools/more.py
+++ b/more_itertools/more.py
@@ -4756,7 +4756,7 @@
     f = list(range(iterable_count + 1))
     o = [1] * iterable_count
     while True:
-        yield tuple(all_iterables[i][a[i]] for i in range(iterable_count - 1))
+        yield tuple(all_iterables[i][a[i]] for i in range(iterable_count))
         j = f[0]
         f[0] = 0
         if j == iterable_count:
RIPSAW_FORGE_PATCH
