#!/bin/bash
# The known-good fix: decode ~1 before ~0 (RFC 6901), and let "add" append at "-" (RFC 6902).
set -euo pipefail
cd /app
git apply <<'PATCH'
--- a/jptr/pointer.py
+++ b/jptr/pointer.py
@@ -17,7 +17,7 @@ def escape(token: str) -> str:
 def unescape(token: str) -> str:
     if "~" in token.replace("~0", "").replace("~1", ""):
         raise PointerError(f"bad escape in {token!r} (only ~0 and ~1 are defined)")
-    return token.replace("~0", "~").replace("~1", "/")
+    return token.replace("~1", "/").replace("~0", "~")
 
 
 def parse(pointer: str) -> list[str]:
--- a/jptr/patch.py
+++ b/jptr/patch.py
@@ -30,7 +30,8 @@ def _add(document: Any, tokens: list[str], value: Any) -> Any:
     if isinstance(parent, dict):
         parent[last] = value
     elif isinstance(parent, list):
-        parent.insert(array_index(last, len(parent) + 1), value)  # inserting at len(parent) appends
+        index = len(parent) if last == "-" else array_index(last, len(parent) + 1)
+        parent.insert(index, value)  # inserting at len(parent) appends
     else:
         raise PointerError(f"cannot add to a {type(parent).__name__}")
     return document
PATCH
