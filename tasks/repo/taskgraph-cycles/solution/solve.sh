#!/bin/bash
# The known-good fix: track the steps being visited; meeting one of them again is a cycle, reported from
# that step around the loop and back to it.
set -euo pipefail
cd /app
git apply <<'PATCH'
--- a/taskgraph/graph.py
+++ b/taskgraph/graph.py
@@ -52,14 +52,19 @@
             raise UnknownStep(target)
         done: list[str] = []
         seen: set[str] = set()
+        path: list[str] = []  # the steps being visited, outermost first: meeting one again closes a loop
 
         def visit(name: str, parent: str | None) -> None:
             if name in seen:
                 return
+            if name in path:
+                raise CycleError(path[path.index(name) :] + [name])
             if name not in self.steps:
                 raise UnknownStep(name, parent)
+            path.append(name)
             for dep in sorted(self.steps[name].deps):
                 visit(dep, name)
+            path.pop()
             seen.add(name)
             done.append(name)
 
PATCH
grep -q 'raise CycleError' taskgraph/graph.py
