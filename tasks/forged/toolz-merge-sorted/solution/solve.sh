#!/bin/bash
# The known-good fix: the released source of the changed file, applied back as a patch.
set -euo pipefail
cd /app
git apply --whitespace=nowarn <<'RIPSAW_FORGE_PATCH'
--- a/toolz/itertoolz.py
+++ b/toolz/itertoolz.py
@@ -122,7 +122,7 @@
     """
     if len(seqs) == 0:
         return iter([])
-    elif len(seqs) != 1:
+    elif len(seqs) == 1:
         return iter(seqs[0])
 
     key = kwargs.get('key', None)
RIPSAW_FORGE_PATCH
