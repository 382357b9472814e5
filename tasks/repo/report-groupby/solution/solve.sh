#!/bin/bash
# The known-good change: a new sales/aggregate.py (aggregate specs, grouping, sorted groups) wired into the CLI
# between --where and --sort, reusing the query module's column checks and sort key; the README documents it.
set -euo pipefail
cd /app
git apply --verbose <<'PATCH'
diff --git a/README.md b/README.md
index 8960325..32c3a5e 100644
--- a/README.md
+++ b/README.md
@@ -3,6 +3,7 @@
 ```
 salesreport orders.csv --where region=EU --where status=paid --sort=-amount --limit 10
 salesreport orders.csv --format json
+salesreport orders.csv --group-by region --agg sum:amount --agg count
 ```
 
 Input: a CSV export with a header row. Columns are typed on load: integers and decimals become numbers
@@ -12,3 +13,7 @@ Input: a CSV export with a header row. Columns are typed on load: integers and d
   keeps the others.
 - `--sort COL` / `--sort=-COL` (descending), `--limit N`.
 - `--format table|csv|json` (table by default).
+- `--group-by COL` (repeatable) with `--agg FUNC[:COL]` (repeatable): one row per group, sorted by the group
+  values, with the group columns then one column per aggregate, `count` or `FUNC_COL` for `sum`, `min`, `max`
+  and `avg` (rounded to 2 decimals) of a numeric column. `--agg` alone aggregates all rows into one row;
+  `--group-by` alone counts. `--where` applies before grouping, `--sort` and `--limit` to the grouped rows.
diff --git a/sales/aggregate.py b/sales/aggregate.py
new file mode 100644
index 0000000..fcc5d0c
--- /dev/null
+++ b/sales/aggregate.py
@@ -0,0 +1,73 @@
+"""Grouping rows and aggregating each group: `--group-by COL` with `--agg FUNC[:COL]`."""
+
+from __future__ import annotations
+
+from dataclasses import dataclass
+from decimal import Decimal
+
+from sales.load import Row
+from sales.query import QueryError, check_columns, sort_key
+
+_NUMERIC = ("sum", "min", "max", "avg")
+
+
+@dataclass(frozen=True)
+class Aggregate:
+    func: str
+    column: str | None  # None for count
+
+    @classmethod
+    def parse(cls, text: str) -> Aggregate:
+        func, _, column = text.partition(":")
+        func, column = func.strip(), column.strip()
+        if func == "count":
+            if column:
+                raise QueryError(f"--agg: count takes no column, got {text!r}")
+            return cls("count", None)
+        if func not in _NUMERIC:
+            raise QueryError(f"--agg: unknown function {func!r} in {text!r} (count, {', '.join(_NUMERIC)})")
+        if not column:
+            raise QueryError(f"--agg: {func} needs a column, as in {func}:COL")
+        return cls(func, column)
+
+    @property
+    def name(self) -> str:
+        return self.func if self.column is None else f"{self.func}_{self.column}"
+
+    def compute(self, rows: list[Row]) -> Decimal | str:
+        if self.column is None:
+            return Decimal(len(rows))
+        values = [r[self.column] for r in rows]
+        if self.func == "sum":
+            return sum(values, Decimal(0))
+        if not values:
+            return ""  # no minimum, maximum or average of nothing
+        if self.func == "min":
+            return min(values)
+        if self.func == "max":
+            return max(values)
+        return (sum(values, Decimal(0)) / len(values)).quantize(Decimal("0.01"))
+
+
+def check_aggregates(header: list[str], rows: list[Row], aggregates: list[Aggregate]) -> None:
+    columns = [a.column for a in aggregates if a.column is not None]
+    check_columns(header, columns, "--agg")
+    for column in columns:
+        if not all(isinstance(r[column], Decimal) for r in rows):
+            raise QueryError(f"--agg: column {column!r} is not numeric")
+
+
+def group_rows(rows: list[Row], by: list[str], aggregates: list[Aggregate]) -> tuple[list[str], list[Row]]:
+    """One row per distinct value of the `by` columns (all rows in one group if there are none), sorted by them."""
+    groups: dict[tuple, list[Row]] = {}
+    for row in rows:
+        groups.setdefault(tuple(row[c] for c in by), []).append(row)
+    if not by and not groups:
+        groups[()] = []
+    header = by + [a.name for a in aggregates]
+    out = []
+    for key in sorted(groups, key=lambda k: [sort_key(v) for v in k]):
+        grouped: Row = dict(zip(by, key))
+        grouped.update({a.name: a.compute(groups[key]) for a in aggregates})
+        out.append(grouped)
+    return header, out
diff --git a/sales/cli.py b/sales/cli.py
index d3add75..7461e04 100644
--- a/sales/cli.py
+++ b/sales/cli.py
@@ -6,6 +6,7 @@ import argparse
 import sys
 from pathlib import Path
 
+from sales.aggregate import Aggregate, check_aggregates, group_rows
 from sales.load import load_rows
 from sales.output import FORMATS
 from sales.query import Condition, QueryError, check_columns, sort_rows, where
@@ -18,6 +19,8 @@ def build_parser() -> argparse.ArgumentParser:
     p.add_argument("--sort", metavar="[-]COL")
     p.add_argument("--limit", type=int)
     p.add_argument("--format", choices=sorted(FORMATS), default="table")
+    p.add_argument("--group-by", action="append", default=[], metavar="COL")
+    p.add_argument("--agg", action="append", default=[], metavar="FUNC[:COL]")
     return p
 
 
@@ -32,6 +35,11 @@ def main(argv: list[str] | None = None) -> int:
         conditions = [Condition.parse(w) for w in args.where]
         check_columns(header, [c.column for c in conditions], "--where")
         rows = where(rows, conditions)
+        if args.group_by or args.agg:
+            aggregates = [Aggregate.parse(a) for a in args.agg] or [Aggregate("count", None)]
+            check_columns(header, args.group_by, "--group-by")
+            check_aggregates(header, rows, aggregates)
+            header, rows = group_rows(rows, args.group_by, aggregates)
         if args.sort:
             check_columns(header, [args.sort.lstrip("-")], "--sort")
             rows = sort_rows(rows, args.sort)
diff --git a/sales/query.py b/sales/query.py
index 4d1ff9a..d766948 100644
--- a/sales/query.py
+++ b/sales/query.py
@@ -43,11 +43,11 @@ def where(rows: list[Row], conditions: list[Condition]) -> list[Row]:
     return [r for r in rows if all(c.holds(r) for c in conditions)]
 
 
-def _key(value: Any) -> tuple[int, Any]:
+def sort_key(value: Any) -> tuple[int, Any]:
     # Numbers before text, so a column mixing both still sorts.
     return (0, value) if isinstance(value, Decimal) else (1, str(value))
 
 
 def sort_rows(rows: list[Row], spec: str) -> list[Row]:
     column = spec.lstrip("-")
-    return sorted(rows, key=lambda r: _key(r[column]), reverse=spec.startswith("-"))
+    return sorted(rows, key=lambda r: sort_key(r[column]), reverse=spec.startswith("-"))
PATCH
