"""The router: (method, pattern) -> handler, and dispatching a request to one."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from microweb.http import Request, Response
from microweb.patterns import Pattern, compile_pattern

log = logging.getLogger("microweb")
Handler = Callable[..., Response]


@dataclass
class Route:
    method: str
    pattern: Pattern
    handler: Handler


class Router:
    def __init__(self) -> None:
        self.routes: list[Route] = []
        self._middleware: list[Callable[[Request, Callable[[Request], Response]], Response]] = []

    def add(self, method: str, pattern: str, handler: Handler) -> None:
        method = method.upper()
        compiled = compile_pattern(pattern)
        if any(r.method == method and r.pattern.text == pattern for r in self.routes):
            raise ValueError(f"{method} {pattern} is already routed")
        self.routes.append(Route(method, compiled, handler))

    def route(self, method: str, pattern: str) -> Callable[[Handler], Handler]:
        def decorate(handler: Handler) -> Handler:
            self.add(method, pattern, handler)
            return handler

        return decorate

    def middleware(self, fn: Callable[[Request, Callable[[Request], Response]], Response]) -> None:
        """fn(request, call_next) -> Response, outermost first in registration order."""
        self._middleware.append(fn)

    def _find(self, method: str, path: str) -> tuple[Route, dict] | None:
        for route in self.routes:
            if route.method != method:
                continue
            params = route.pattern.match(path)
            if params is not None:
                return route, params
        return None

    def _handle(self, request: Request) -> Response:
        path = request.path.rstrip("/") or "/"
        found = self._find(request.method, path)
        if found is None:
            return Response.error(404)
        route, params = found
        try:
            return route.handler(request, **params)
        except ValueError as e:
            return Response.error(400, str(e))
        except Exception:
            log.exception("handler for %s %s failed", request.method, request.path)
            return Response.error(500)

    def dispatch(self, request: Request) -> Response:
        call: Callable[[Request], Response] = self._handle
        for mw in reversed(self._middleware):
            call = (lambda inner, m: (lambda req: m(req, inner)))(call, mw)
        return call(request)
