#!/bin/bash
# The known-good fix: the released source of the changed file, applied back as a patch.
set -euo pipefail
cd /app
git apply --whitespace=nowarn <<'RIPSAW_FORGE_PATCH'
--- a/src/cachetools/__init__.py
+++ b/src/cachetools/__init__.py
@@ -602,7 +602,7 @@
         expired = []
         cache_delitem = Cache.__delitem__
         cache_getitem = Cache.__getitem__
-        while order and (order[0].removed or not (time <= order[0].expires)):
+        while order and (order[0].removed or not (time < order[0].expires)):
             item = heapq.heappop(order)
             if not item.removed:
                 expired.append((item.key, cache_getitem(self, item.key)))
RIPSAW_FORGE_PATCH
