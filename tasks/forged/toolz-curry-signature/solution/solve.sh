#!/bin/bash
# The known-good fix: the released source of the changed file, applied back as a patch.
set -euo pipefail
cd /app
git apply --whitespace=nowarn <<'RIPSAW_FORGE_PATCH'
--- a/toolz/functoolz.py
+++ b/toolz/functoolz.py
@@ -242,7 +242,7 @@
         params = list(sig.parameters.values())
         skip = 0
         for param in params[:len(args)]:
-            if param.kind != param.VAR_POSITIONAL:
+            if param.kind == param.VAR_POSITIONAL:
                 break
             skip += 1
 
RIPSAW_FORGE_PATCH
