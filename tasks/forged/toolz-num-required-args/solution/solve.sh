#!/bin/bash
# The known-good fix: the released source of the changed file, applied back as a patch.
set -euo pipefail
cd /app
git apply --whitespace=nowarn <<'RIPSAW_FORGE_PATCH'
--- a/toolz/functoolz.py
+++ b/toolz/functoolz.py
@@ -870,7 +870,7 @@
         return rv
     return sum(1 for p in sigspec.parameters.values()
                if p.default is p.empty
-               and p.kind not in (p.POSITIONAL_OR_KEYWORD, p.POSITIONAL_ONLY))
+               and p.kind in (p.POSITIONAL_OR_KEYWORD, p.POSITIONAL_ONLY))
 
 
 def has_varargs(func, sigspec=None):
RIPSAW_FORGE_PATCH
