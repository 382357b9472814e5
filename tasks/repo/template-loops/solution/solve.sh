#!/bin/bash
# The known-good change: a For node that renders its body per item in its own scope with a `loop` variable
# (nodes), the {% for %}/{% else %}/{% endfor %} tags (parser), the join filter (filters), and the README.
set -euo pipefail
cd /app
git apply <<'PATCH'
--- a/README.md
+++ b/README.md
@@ -12,6 +12,11 @@
 - Expressions: names with dotted lookups (`user.address.city`, dict keys or attributes; `items.0` indexes a
   list), string and integer literals, and filters `expr|name` or `expr|name(arg, ...)`.
 - `{% if expr %}...{% elif expr %}...{% else %}...{% endif %}`.
-- Filters: `upper`, `lower`, `title`, `length`, `default(value)`, `safe`.
+- `{% for x in expr %}...{% else %}...{% endfor %}`: the body once per item, the optional `else` part when
+  there are none. Inside the body `loop.index` (from 1), `loop.index0`, `loop.first`, `loop.last` and
+  `loop.length`; loops nest, and `loop` always means the innermost loop. The loop variable does not leak
+  out of the loop.
+- Filters: `upper`, `lower`, `title`, `length`, `default(value)`, `safe`, `join(separator)` (items
+  converted with `str`, separator `", "` when not given).
 - Unknown names render as the empty string; unknown filters and malformed tags are `TemplateError`s that
   name the line.
--- a/minitpl/filters.py
+++ b/minitpl/filters.py
@@ -21,4 +21,5 @@
     "length": lambda v: len(v) if v is not None else 0,
     "default": _default,
     "safe": lambda v: Markup("" if v is None else str(v)),
+    "join": lambda v, separator=", ": "" if v is None else str(separator).join(str(x) for x in v),
 }
--- a/minitpl/nodes.py
+++ b/minitpl/nodes.py
@@ -65,6 +65,34 @@
         render_all(self.otherwise, context, out)
 
 
+@dataclass
+class For(Node):
+    name: str
+    iterable: Expression
+    body: list[Node] = field(default_factory=list)
+    otherwise: list[Node] = field(default_factory=list)
+    line: int = 0
+
+    def render(self, context: dict[str, Any], out: list[str]) -> None:
+        value = evaluate(self.iterable, context, self.line)
+        items = list(value) if value is not None else []
+        if not items:
+            render_all(self.otherwise, context, out)
+            return
+        for i, item in enumerate(items):
+            # A copy per iteration: the loop variable and `loop` never leak into (or clobber) the outer scope.
+            scope = dict(context)
+            scope[self.name] = item
+            scope["loop"] = {
+                "index": i + 1,
+                "index0": i,
+                "first": i == 0,
+                "last": i == len(items) - 1,
+                "length": len(items),
+            }
+            render_all(self.body, scope, out)
+
+
 def render_all(nodes: list[Node], context: dict[str, Any], out: list[str]) -> None:
     for node in nodes:
         node.render(context, out)
--- a/minitpl/parser.py
+++ b/minitpl/parser.py
@@ -2,10 +2,14 @@
 
 from __future__ import annotations
 
+import re
+
 from minitpl.errors import TemplateError
 from minitpl.expressions import parse_expression
 from minitpl.lexer import Token
-from minitpl.nodes import If, Node, Output, Text
+from minitpl.nodes import For, If, Node, Output, Text
+
+_FOR = re.compile(r"^for\s+([A-Za-z_][A-Za-z0-9_]*)\s+in\s+(.+)$", re.DOTALL)
 
 
 class Parser:
@@ -35,6 +39,8 @@
                     return nodes, token
                 if word == "if":
                     nodes.append(self._if(token))
+                elif word == "for":
+                    nodes.append(self._for(token))
                 else:
                     raise TemplateError(f"unknown tag {word!r}", token.line)
         return nodes, None
@@ -56,3 +62,15 @@
                 if end is None:
                     raise TemplateError("{% if %} without {% endif %}", start.line)
             return node
+
+    def _for(self, start: Token) -> For:
+        m = _FOR.match(start.value)
+        if m is None:
+            raise TemplateError("expected {% for name in expression %}", start.line)
+        node = For(m.group(1), parse_expression(m.group(2), start.line), line=start.line)
+        node.body, end = self._block(("else", "endfor"))
+        if end is not None and end.value.split(None, 1)[0] == "else":
+            node.otherwise, end = self._block(("endfor",))
+        if end is None:
+            raise TemplateError("{% for %} without {% endfor %}", start.line)
+        return node
PATCH
grep -q 'def _for' minitpl/parser.py
