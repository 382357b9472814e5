"""GET /articles: filter (tag, author, q), sort (sort=field or -field), paginate (page, per_page)."""

from __future__ import annotations

from listapi.paginate import PageError, paginate, parse_paging
from listapi.request import Request, Response
from listapi.store import Store

SORTABLE = ("id", "title", "published", "views")


def _sort_key(field: str):
    return lambda article: getattr(article, field)


def list_articles(request: Request, store: Store) -> Response:
    if request.method != "GET":
        return Response.error(405, "method not allowed")
    found = store.query(tag=request.arg("tag"), author=request.arg("author"), text=request.arg("q"))
    sort = request.arg("sort", "id") or "id"
    field = sort.lstrip("-")
    if field not in SORTABLE:
        return Response.error(400, f"cannot sort by {field!r} (use one of {', '.join(SORTABLE)})")
    found.sort(key=_sort_key(field), reverse=sort.startswith("-"))
    try:
        page_no, per_page = parse_paging(request.arg("page"), request.arg("per_page"))
        page = paginate(found, page_no, per_page)
    except PageError as e:
        return Response.error(e.status, str(e))
    links = []
    if page.has_next:
        links.append(f'<{request.url_with(page=page.page + 1, per_page=per_page)}>; rel="next"')
    if page.has_prev:
        links.append(f'<{request.url_with(page=page.page - 1, per_page=per_page)}>; rel="prev"')
    headers = {"Link": ", ".join(links)} if links else {}
    body = {"items": [a.to_json() for a in page.items], "meta": page.meta()}
    return Response.json_body(body, headers=headers)
