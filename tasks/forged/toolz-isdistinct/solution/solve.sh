#!/bin/bash
# The known-good fix: the released source of the changed file, applied back as a patch.
set -euo pipefail
cd /app
git apply --whitespace=nowarn <<'RIPSAW_FORGE_PATCH'
--- a/toolz/itertoolz.py
+++ b/toolz/itertoolz.py
@@ -312,7 +312,7 @@
             seen_add(item)
         return True
     else:
-        return len(seq) != len(set(seq))
+        return len(seq) == len(set(seq))
 
 
 def take(n, seq):
RIPSAW_FORGE_PATCH
