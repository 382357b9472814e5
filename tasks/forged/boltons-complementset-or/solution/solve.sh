#!/bin/bash
# The known-good fix: the released source of the changed file, applied back as a patch.
set -euo pipefail
cd /app
git apply --whitespace=nowarn <<'RIPSAW_FORGE_PATCH'
--- a/boltons/setutils.py
+++ b/boltons/setutils.py
@@ -690,7 +690,7 @@
             else:  # - -
                 return _ComplementSet(excluded=self._excluded.intersection(exc))
         else:
-            if inc is not None:  # + -
+            if inc is None:  # + -
                 return _ComplementSet(excluded=exc - self._included)
             else:  # + +
                 return _ComplementSet(included=self._included.union(inc))
RIPSAW_FORGE_PATCH
