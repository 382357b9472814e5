#!/bin/bash
# The known-good fix: the released source of the changed file, applied back as a patch.
set -euo pipefail
cd /app
git apply --whitespace=nowarn <<'RIPSAW_FORGE_PATCH'
--- a/boltons/ioutils.py
+++ b/boltons/ioutils.py
@@ -479,7 +479,14 @@
 
     def rollover(self):
         """Roll the buffer over to a TempFile"""
-        pass
+        if not self._rolled:
+            tmp = EncodedFile(TemporaryFile(dir=self._dir),
+                              data_encoding='utf-8')
+            pos = self.buffer.tell()
+            tmp.write(self.buffer.getvalue())
+            tmp.seek(pos)
+            self.buffer.close()
+            self._buffer = tmp
 
     def tell(self):
         """Return the codepoint position"""
RIPSAW_FORGE_PATCH
