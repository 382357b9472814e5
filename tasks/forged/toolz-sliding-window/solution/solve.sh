#!/bin/bash
# The known-good fix: the released source of the changed file, applied back as a patch.
set -euo pipefail
cd /app
git apply --whitespace=nowarn <<'RIPSAW_FORGE_PATCH'
--- a/toolz/itertoolz.py
+++ b/toolz/itertoolz.py
@@ -673,7 +673,7 @@
     >>> list(map(mean, sliding_window(2, [1, 2, 3, 4])))
     [1.5, 2.5, 3.5]
     """
-    return zip(*(collections.deque(itertools.islice(i, it), 0) or it
+    return zip(*(collections.deque(itertools.islice(it, i), 0) or it
                for i, it in enumerate(itertools.tee(seq, n))))
 
 
RIPSAW_FORGE_PATCH
