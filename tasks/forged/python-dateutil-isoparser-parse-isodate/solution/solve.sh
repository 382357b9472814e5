#!/bin/bash
# The known-good fix: the released source of the changed file, applied back as a patch.
set -euo pipefail
cd /app
git apply --whitespace=nowarn <<'RIPSAW_FORGE_PATCH'
--- a/src/dateutil/parser/isoparser.py
+++ b/src/dateutil/parser/isoparser.py
@@ -157,7 +157,9 @@
             Returns a :class:`datetime.date` object
         """
         components, pos = self._parse_isodate(datestr)
-        pass
+        if pos < len(datestr):
+            raise ValueError('String contains unknown ISO ' +
+                             'components: {!r}'.format(datestr.decode('ascii')))
         return date(*components)
 
     @_takes_ascii
RIPSAW_FORGE_PATCH
