#!/bin/bash
# The known-good fix: the released source of the changed file, applied back as a patch.
set -euo pipefail
cd /app
git apply --whitespace=nowarn <<'RIPSAW_FORGE_PATCH'
--- a/more_itertools/more.py
+++ b/more_itertools/more.py
@@ -2218,7 +2218,7 @@
         elif isinstance(key, slice):
             step = self._step if key.step is None else key.step * self._step
 
-            if key.start is not None or key.start <= -self._len:
+            if key.start is None or key.start <= -self._len:
                 start = self._start
             elif key.start >= self._len:
                 start = self._stop
RIPSAW_FORGE_PATCH
