#!/bin/bash
# The known-good change: a PATCH route whose handler merges the patch into the item (RFC 7396), validates the result
# as a whole, checks If-Match and stores it with the next version.
set -euo pipefail
cd /app
git apply <<'PATCH'
--- a/inventory/app.py
+++ b/inventory/app.py
@@ -19,6 +19,7 @@ COLLECTION_ROUTES: dict[str, Callable[..., Response]] = {
 ITEM_ROUTES: dict[str, Callable[..., Response]] = {
     "GET": handlers.get_item,
     "DELETE": handlers.delete_item,
+    "PATCH": handlers.patch_item,
 }
 
 
--- a/inventory/handlers.py
+++ b/inventory/handlers.py
@@ -6,7 +6,7 @@ from typing import Any
 
 from inventory.http import BodyError, Request, Response, errors, parse_json
 from inventory.storage import Conflict, NotFound, Store
-from inventory.validation import validate_item
+from inventory.validation import merge_patch, validate_item
 
 
 def etag(item: dict[str, Any]) -> str:
@@ -43,6 +43,31 @@ def get_item(request: Request, store: Store, item_id: int) -> Response:
         return errors(404, (None, f"no item {item_id}"))
 
 
+def patch_item(request: Request, store: Store, item_id: int) -> Response:
+    try:
+        current = store.get(item_id)
+    except NotFound:
+        return errors(404, (None, f"no item {item_id}"))
+    try:
+        patch = parse_json(request)
+    except BodyError as e:
+        return errors(415, (None, str(e)))
+    expected = request.header("if-match")
+    if expected is not None and expected != etag(current):
+        return errors(412, (None, f"If-Match {expected} is not the current ETag {etag(current)}"))
+    merged, problems = merge_patch(current, patch)
+    if problems:
+        return errors(400, *problems)
+    problems = validate_item(merged)
+    if problems:
+        return errors(400, *problems)
+    try:
+        item = store.replace(item_id, merged)
+    except Conflict as e:
+        return errors(409, (e.field, str(e)))
+    return _with_etag(200, item)
+
+
 def delete_item(request: Request, store: Store, item_id: int) -> Response:
     try:
         store.delete(item_id)
--- a/inventory/storage.py
+++ b/inventory/storage.py
@@ -47,6 +47,16 @@ class Store:
         found = [i for i in self.items.values() if tag is None or tag in i.get("tags", [])]
         return [copy.deepcopy(i) for i in sorted(found, key=lambda i: i["id"])]
 
+    def replace(self, item_id: int, data: dict[str, Any]) -> dict[str, Any]:
+        """Give the item exactly the writable fields in `data`; its version goes up by one."""
+        current = self.items.get(item_id)
+        if current is None:
+            raise NotFound(item_id)
+        self._check_sku(data["sku"], exclude=item_id)
+        item = {"id": item_id, "version": current["version"] + 1, **copy.deepcopy(data)}
+        self.items[item_id] = item
+        return copy.deepcopy(item)
+
     def delete(self, item_id: int) -> None:
         if self.items.pop(item_id, None) is None:
             raise NotFound(item_id)
--- a/inventory/validation.py
+++ b/inventory/validation.py
@@ -44,6 +44,30 @@ def _check_field(name: str, value: Any) -> str | None:
     return None
 
 
+def merge_patch(item: dict[str, Any], patch: Any) -> tuple[dict[str, Any], list[Problem]]:
+    """The item's writable fields with a JSON Merge Patch (RFC 7396) applied, and the problems with the patch itself.
+
+    The merged item still has to pass validate_item: a null on a required field shows up there as "is required".
+    """
+    if not isinstance(patch, dict):
+        return {}, [(None, "a patch is a JSON object")]  # type: ignore[list-item]
+    problems: list[Problem] = []
+    for key in patch:
+        if key in ("id", "version"):
+            problems.append((key, "is set by the service and cannot be changed"))
+        elif key not in WRITABLE:
+            problems.append((key, "is not a field of an item"))
+    merged = {key: value for key, value in item.items() if key in WRITABLE}
+    for key, value in patch.items():
+        if key not in WRITABLE:
+            continue
+        if value is None:
+            merged.pop(key, None)
+        else:
+            merged[key] = value
+    return merged, problems
+
+
 def validate_item(data: Any) -> list[Problem]:
     """Problems with a complete item (as created, or after a change); empty when it is valid."""
     if not isinstance(data, dict):
PATCH
