#!/bin/bash
# The known-good fix: a path routed for other methods answers 405 with an Allow header (HEAD counted with GET),
# and HEAD is served by the GET handler with the body removed.
set -euo pipefail
cd /app
git apply --verbose <<'PATCH'
diff --git a/microweb/router.py b/microweb/router.py
index 8715221..054c9c4 100644
--- a/microweb/router.py
+++ b/microweb/router.py
@@ -52,11 +52,30 @@ class Router:
                 return route, params
         return None
 
+    def _allowed(self, path: str) -> list[str]:
+        methods = {route.method for route in self.routes if route.pattern.match(path) is not None}
+        if "GET" in methods:
+            methods.add("HEAD")
+        return sorted(methods)
+
     def _handle(self, request: Request) -> Response:
+        response = self._respond(request)
+        if request.method == "HEAD":
+            response.body = b""
+        return response
+
+    def _respond(self, request: Request) -> Response:
         path = request.path.rstrip("/") or "/"
         found = self._find(request.method, path)
+        if found is None and request.method == "HEAD":
+            found = self._find("GET", path)
         if found is None:
-            return Response.error(404)
+            allowed = self._allowed(path)
+            if not allowed:
+                return Response.error(404)
+            response = Response.error(405)
+            response.headers["Allow"] = ", ".join(allowed)
+            return response
         route, params = found
         try:
             return route.handler(request, **params)
PATCH
