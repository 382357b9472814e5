"""The handlers, one per route."""

from __future__ import annotations

from typing import Any

from inventory.http import BodyError, Request, Response, errors, parse_json
from inventory.storage import Conflict, NotFound, Store
from inventory.validation import validate_item


def etag(item: dict[str, Any]) -> str:
    return f'"{item["id"]}-{item["version"]}"'


def _with_etag(status: int, item: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    return Response(status, item, {"ETag": etag(item), **(headers or {})})


def list_items(request: Request, store: Store) -> Response:
    return Response(200, {"items": store.list(tag=request.query.get("tag"))})


def create_item(request: Request, store: Store) -> Response:
    try:
        data = parse_json(request)
    except BodyError as e:
        return errors(415, (None, str(e)))
    problems = validate_item(data)
    if problems:
        return errors(400, *problems)
    try:
        item = store.create(data)
    except Conflict as e:
        return errors(409, (e.field, str(e)))
    return _with_etag(201, item, {"Location": f"/items/{item['id']}"})


def get_item(request: Request, store: Store, item_id: int) -> Response:
    try:
        return _with_etag(200, store.get(item_id))
    except NotFound:
        return errors(404, (None, f"no item {item_id}"))


def delete_item(request: Request, store: Store, item_id: int) -> Response:
    try:
        store.delete(item_id)
    except NotFound:
        return errors(404, (None, f"no item {item_id}"))
    return Response(204)
