#!/bin/bash
# The known-good change: links carry an optional expiry and their last visit (store), and the handlers accept
# ttl_seconds, answer 410 once a link has expired, and report both in the stats (app); the README documents it.
set -euo pipefail
cd /app
git apply <<'PATCH'
--- a/README.md
+++ b/README.md
@@ -5,11 +5,16 @@
 
 | request | answer |
 |---|---|
-| `POST /links` `{"url": "https://...", "code": "spring"?}` | 201 `{"code", "short_url"}` |
-| `GET /{code}` | 302 to the URL (`Location`), counting the visit; 404 unknown |
-| `GET /links/{code}/stats` | 200 `{"code", "url", "visits", "created_at"}` |
+| `POST /links` `{"url": "https://...", "code": "spring"?, "ttl_seconds": 3600?}` | 201 `{"code", "short_url", "expires_at"}` |
+| `GET /{code}` | 302 to the URL (`Location`), counting the visit; 404 unknown; **410 Gone** once expired |
+| `GET /links/{code}/stats` | 200 `{"code", "url", "visits", "created_at", "expires_at", "expired", "last_visit_at"}` |
 | `DELETE /links/{code}` | 204 |
 
 Codes are 6 characters from `[a-z0-9]` unless one is given (3-32 characters of `[A-Za-z0-9_-]`, unique,
 409 when taken). URLs must be `http` or `https` with a host. Times are seconds on the app's clock
 (`App(clock=...)`), so tests can move time.
+
+`ttl_seconds` (optional, a positive integer) makes a link expire `ttl_seconds` after it was created:
+from then on `GET /{code}` answers 410 and does not count a visit, and its stats say `"expired": true`.
+`expires_at` is `created_at + ttl_seconds`, or `null` for links that never expire. `visits` counts the
+redirects served; `last_visit_at` is the time of the last one (`null` before any).
--- a/shorty/app.py
+++ b/shorty/app.py
@@ -51,26 +51,45 @@
             problem = check_custom(code) if isinstance(code, str) else "code must be a string"
             if problem:
                 return error(400, problem)
-        else:
+        ttl = data.get("ttl_seconds")
+        if ttl is not None and (not isinstance(ttl, int) or isinstance(ttl, bool) or ttl <= 0):
+            return error(400, "ttl_seconds must be a positive integer")
+        if code is None:
             code = random_code(self.rng)
             while code in self.store:
                 code = random_code(self.rng)
-        link = Link(code, data["url"], self.clock())
+        now = self.clock()
+        link = Link(code, data["url"], now, expires_at=None if ttl is None else now + ttl)
         try:
             self.store.add(link)
         except Taken:
             return error(409, f"the code {code!r} is taken")
-        return Response(201, {"code": code, "short_url": BASE_URL + code})
+        return Response(201, {"code": code, "short_url": BASE_URL + code, "expires_at": link.expires_at})
 
     def redirect(self, code: str) -> Response:
         link = self.store.get(code)
         if link is None:
             return error(404, "no such link")
+        now = self.clock()
+        if link.expired(now):
+            return error(410, "this link has expired")
         link.visits += 1
+        link.last_visit_at = now
         return Response(302, None, {"Location": link.url})
 
     def stats(self, code: str) -> Response:
         link = self.store.get(code)
         if link is None:
             return error(404, "no such link")
-        return Response(200, {"code": link.code, "url": link.url, "visits": link.visits, "created_at": link.created_at})
+        return Response(
+            200,
+            {
+                "code": link.code,
+                "url": link.url,
+                "visits": link.visits,
+                "created_at": link.created_at,
+                "expires_at": link.expires_at,
+                "expired": link.expired(self.clock()),
+                "last_visit_at": link.last_visit_at,
+            },
+        )
--- a/shorty/store.py
+++ b/shorty/store.py
@@ -11,6 +11,11 @@
     url: str
     created_at: float
     visits: int = 0
+    expires_at: float | None = None  # None: the link never expires
+    last_visit_at: float | None = None
+
+    def expired(self, now: float) -> bool:
+        return self.expires_at is not None and now >= self.expires_at
 
 
 class Taken(ValueError):
PATCH
grep -q 'ttl_seconds' shorty/app.py
