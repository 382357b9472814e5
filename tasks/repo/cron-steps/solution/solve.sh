#!/bin/bash
# The known-good fix: "a/n" runs from a to the field's maximum; day of week accepts 7 and folds it onto Sunday (0).
set -euo pipefail
cd /app
git apply <<'PATCH'
--- a/cronlite/fields.py
+++ b/cronlite/fields.py
@@ -21,7 +21,8 @@ MINUTE = FieldSpec("minute", 0, 59)
 HOUR = FieldSpec("hour", 0, 23)
 DAY = FieldSpec("day of month", 1, 31)
 MONTH = FieldSpec("month", 1, 12, ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"))
-WEEKDAY = FieldSpec("day of week", 0, 6, ("sun", "mon", "tue", "wed", "thu", "fri", "sat"))
+# 0 and 7 are both Sunday; parse_field folds 7 onto 0.
+WEEKDAY = FieldSpec("day of week", 0, 7, ("sun", "mon", "tue", "wed", "thu", "fri", "sat"))
 FIELDS = (MINUTE, HOUR, DAY, MONTH, WEEKDAY)
 
 
@@ -57,6 +58,10 @@ def parse_field(text: str, spec: FieldSpec) -> frozenset[int]:
             if start > end:
                 raise CronError(f"{spec.name}: range {base!r} goes backwards")
         else:
-            start = end = _number(base, spec)
+            start = _number(base, spec)
+            # "a/n" steps from a up to the field's maximum.
+            end = spec.high if slash else start
         values.update(range(start, end + 1, step))
+    if spec == WEEKDAY:
+        values = {v % 7 for v in values}
     return frozenset(values)
PATCH
