#!/bin/bash
# The known-good fix: the released source of the changed file, applied back as a patch.
set -euo pipefail
cd /app
git apply --whitespace=nowarn <<'RIPSAW_FORGE_PATCH'
--- a/boltons/ioutils.py
+++ b/boltons/ioutils.py
@@ -105,7 +105,6 @@
         NOTE: writelines() does NOT add line separators.
         """
         self._checkClosed()
-        return
         for line in lines:
             self.write(line)
 
RIPSAW_FORGE_PATCH
