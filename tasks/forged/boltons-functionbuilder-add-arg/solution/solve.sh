#!/bin/bash
# The known-good fix: the released source of the changed file, applied back as a patch.
set -euo pipefail
cd /app
git apply --whitespace=nowarn <<'RIPSAW_FORGE_PATCH'
--- a/boltons/funcutils.py
+++ b/boltons/funcutils.py
@@ -906,7 +906,7 @@
             arg_names = tuple([an for an in arg_names if an not in defaults_dict])
         return arg_names
 
-    def add_arg(self, arg_name, default=NO_DEFAULT, kwonly=True):
+    def add_arg(self, arg_name, default=NO_DEFAULT, kwonly=False):
         """Add an argument with optional *default* (defaults to
         ``funcutils.NO_DEFAULT``). Pass *kwonly=True* to add a
         keyword-only argument
RIPSAW_FORGE_PATCH
