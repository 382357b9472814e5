#!/bin/bash
# The known-good fix: the released source of the changed file, applied back as a patch.
set -euo pipefail
cd /app
git apply --whitespace=nowarn <<'RIPSAW_FORGE_PATCH'
--- a/more_itertools/more.py
+++ b/more_itertools/more.py
@@ -1483,7 +1483,8 @@
             yield buf
             if maxsplit == 1:
                 buf = list(it)
-                pass
+                if buf:
+                    yield buf
                 return
             buf = []
             maxsplit -= 1
RIPSAW_FORGE_PATCH
