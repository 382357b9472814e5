"""Routing requests to handlers."""

from __future__ import annotations

import re
from collections.abc import Callable

from inventory import handlers
from inventory.http import Request, Response, errors
from inventory.storage import Store

_ITEM = re.compile(r"^/items/(\d+)/?$")
_COLLECTION = re.compile(r"^/items/?$")

COLLECTION_ROUTES: dict[str, Callable[..., Response]] = {
    "GET": handlers.list_items,
    "POST": handlers.create_item,
}
ITEM_ROUTES: dict[str, Callable[..., Response]] = {
    "GET": handlers.get_item,
    "DELETE": handlers.delete_item,
}


class App:
    def __init__(self, store: Store | None = None) -> None:
        self.store = store or Store()

    def handle(self, request: Request) -> Response:
        if _COLLECTION.match(request.path):
            routes, args = COLLECTION_ROUTES, ()
        elif m := _ITEM.match(request.path):
            routes, args = ITEM_ROUTES, (int(m.group(1)),)
        else:
            return errors(404, (None, f"no route for {request.path}"))
        handler = routes.get(request.method)
        if handler is None:
            response = errors(405, (None, f"{request.method} is not allowed here"))
            response.headers["Allow"] = ", ".join(sorted(routes))
            return response
        return handler(request, self.store, *args)
