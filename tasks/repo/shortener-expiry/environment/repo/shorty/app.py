"""The handlers and their routing."""

from __future__ import annotations

import json
import random
import re
import time
from collections.abc import Callable

from shorty.codes import check_custom, check_url, random_code
from shorty.http import Request, Response, error
from shorty.store import Link, LinkStore, Taken

BASE_URL = "https://sho.rt/"
_STATS = re.compile(r"^/links/([^/]+)/stats$")
_LINK = re.compile(r"^/links/([^/]+)$")
_CODE = re.compile(r"^/([^/]+)$")


class App:
    def __init__(self, clock: Callable[[], float] = time.time, seed: int | None = None) -> None:
        self.clock = clock
        self.store = LinkStore()
        self.rng = random.Random(seed)

    def handle(self, request: Request) -> Response:
        method, path = request.method.upper(), request.path
        if path == "/links" and method == "POST":
            return self.create(request)
        if (m := _STATS.match(path)) and method == "GET":
            return self.stats(m.group(1))
        if (m := _LINK.match(path)) and method == "DELETE":
            return Response(204) if self.store.delete(m.group(1)) else error(404, "no such link")
        if (m := _CODE.match(path)) and method == "GET":
            return self.redirect(m.group(1))
        return error(404, "not found")

    def create(self, request: Request) -> Response:
        try:
            data = request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            return error(400, "the body must be JSON")
        if not isinstance(data, dict):
            return error(400, "the body must be a JSON object")
        problem = check_url(data.get("url"))
        if problem:
            return error(400, problem)
        code = data.get("code")
        if code is not None:
            problem = check_custom(code) if isinstance(code, str) else "code must be a string"
            if problem:
                return error(400, problem)
        else:
            code = random_code(self.rng)
            while code in self.store:
                code = random_code(self.rng)
        link = Link(code, data["url"], self.clock())
        try:
            self.store.add(link)
        except Taken:
            return error(409, f"the code {code!r} is taken")
        return Response(201, {"code": code, "short_url": BASE_URL + code})

    def redirect(self, code: str) -> Response:
        link = self.store.get(code)
        if link is None:
            return error(404, "no such link")
        link.visits += 1
        return Response(302, None, {"Location": link.url})

    def stats(self, code: str) -> Response:
        link = self.store.get(code)
        if link is None:
            return error(404, "no such link")
        return Response(200, {"code": link.code, "url": link.url, "visits": link.visits, "created_at": link.created_at})
