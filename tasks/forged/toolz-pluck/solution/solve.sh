#!/bin/bash
# The known-good fix: the released source of the changed file, applied back as a patch.
set -euo pipefail
cd /app
git apply --whitespace=nowarn <<'RIPSAW_FORGE_PATCH'
--- a/toolz/itertoolz.py
+++ b/toolz/itertoolz.py
@@ -792,7 +792,7 @@
         get = getter(ind)
         return map(get, seqs)
     elif isinstance(ind, list):
-        return (tuple(_get(seq, item, default) for item in ind)
+        return (tuple(_get(item, seq, default) for item in ind)
                 for seq in seqs)
     return (_get(ind, seq, default) for seq in seqs)
 
RIPSAW_FORGE_PATCH
