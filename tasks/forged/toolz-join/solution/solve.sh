#!/bin/bash
# The known-good fix: the released source of the changed file, applied back as a patch.
set -euo pipefail
cd /app
git apply --whitespace=nowarn <<'RIPSAW_FORGE_PATCH'
--- a/toolz/itertoolz.py
+++ b/toolz/itertoolz.py
@@ -917,7 +917,7 @@
                     yield (left_default, item)
 
         for key, matches in d.items():
-            if key in seen_keys:
+            if key not in seen_keys:
                 for match in matches:
                     yield (match, right_default)
 
RIPSAW_FORGE_PATCH
