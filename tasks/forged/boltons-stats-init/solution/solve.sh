#!/bin/bash
# The known-good fix: the released source of the changed file, applied back as a patch.
set -euo pipefail
cd /app
git apply --whitespace=nowarn <<'RIPSAW_FORGE_PATCH'
--- a/boltons/statsutils.py
+++ b/boltons/statsutils.py
@@ -182,7 +182,7 @@
         self.default = default
         cls = self.__class__
         self._prop_attr_names = [a for a in dir(self)
-                                 if isinstance(getattr(a, cls, None),
+                                 if isinstance(getattr(cls, a, None),
                                                _StatsProperty)]
         self._pearson_precision = 0
 
RIPSAW_FORGE_PATCH
