#!/bin/bash
# The known-good fix: lines inside fenced code blocks are skipped (a block closes only with a run of its own
# character at least as long as the opening one), and a repeated anchor is numbered -1, -2, ... as GitHub does.
set -euo pipefail
cd /app
git apply --verbose <<'PATCH'
diff --git a/mdtoc/headings.py b/mdtoc/headings.py
index 99d8736..d77553c 100644
--- a/mdtoc/headings.py
+++ b/mdtoc/headings.py
@@ -26,19 +26,39 @@ class Heading:
 
 def headings(markdown: str) -> list[Heading]:
     found: list[Heading] = []
+    seen: dict[str, int] = {}
+
+    def add(level: int, text: str, line: int) -> None:
+        base = slug = anchor(text)
+        while slug in seen:
+            seen[base] += 1
+            slug = f"{base}-{seen[base]}"
+        seen[slug] = 0
+        found.append(Heading(level, text, slug, line))
+
     lines = markdown.splitlines()
     previous = ""
+    fence = ""  # the opening marker of the code block we are in, "" outside one
     for number, line in enumerate(lines, start=1):
+        m = _FENCE.match(line)
+        if fence:
+            # A block closes with a run of its own character at least as long as the opening one.
+            run = m.group(1) if m else ""
+            if run[:1] == fence[0] and len(run) >= len(fence) and not line.strip()[len(run) :]:
+                fence = ""
+            continue
+        if m:
+            fence = m.group(1)
+            previous = ""
+            continue
         m = _ATX.match(line)
         if m:
-            text = (m.group(2) or "").strip()
-            found.append(Heading(len(m.group(1)), text, anchor(text), number))
+            add(len(m.group(1)), (m.group(2) or "").strip(), number)
             previous = ""
             continue
         m = _SETEXT.match(line)
-        if m and previous.strip() and not _FENCE.match(previous):
-            level = 1 if m.group(1).startswith("=") else 2
-            found.append(Heading(level, previous.strip(), anchor(previous.strip()), number - 1))
+        if m and previous.strip():
+            add(1 if m.group(1).startswith("=") else 2, previous.strip(), number - 1)
             previous = ""
             continue
         previous = line
PATCH
