#!/bin/bash
# The known-good fix: the released source of the changed file, applied back as a patch.
set -euo pipefail
cd /app
git apply --whitespace=nowarn <<'RIPSAW_FORGE_PATCH'
--- a/toolz/_signatures.py
+++ b/toolz/_signatures.py
@@ -673,7 +673,10 @@
     num_pos_only, func, keyword_exclude, sigspec = sig
     if len(args) < num_pos_only:
         return False
-    pass
+    if keyword_exclude:
+        kwargs = dict(kwargs)
+        for item in keyword_exclude:
+            kwargs.pop(item, None)
     try:
         func(*args, **kwargs)
         return True
RIPSAW_FORGE_PATCH
