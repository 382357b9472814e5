from listapi.handlers import list_articles
from listapi.paginate import paginate
from listapi.request import Request


def test_partial_last_page_is_served():
    page = paginate(list(range(45)), 3, 20)
    assert page.items == [40, 41, 42, 43, 44]
    assert page.pages == 3 and not page.has_next and page.has_prev


def test_page_count_rounds_up():
    assert paginate(list(range(41)), 1, 20).pages == 3
    assert paginate(list(range(21)), 1, 20).pages == 2


def test_last_page_over_http(store):
    resp = list_articles(Request.get("/articles?per_page=10&page=3"), store)
    assert resp.status == 200
    data = resp.json()
    assert [a["id"] for a in data["items"]] == [21, 22, 23, 24, 25]
    assert data["meta"] == {"page": 3, "per_page": 10, "total": 25, "pages": 3}
    assert 'rel="prev"' in resp.headers["Link"] and 'rel="next"' not in resp.headers["Link"]


def test_next_link_points_at_partial_page(store):
    resp = list_articles(Request.get("/articles?per_page=10&page=2"), store)
    assert "page=3" in resp.headers["Link"] and 'rel="next"' in resp.headers["Link"]


def test_fewer_items_than_one_page():
    page = paginate(list(range(5)), 1, 20)
    assert page.items == list(range(5)) and page.pages == 1 and not page.has_next


def test_one_past_the_partial_page_is_404(store):
    resp = list_articles(Request.get("/articles?per_page=10&page=4"), store)
    assert resp.status == 404
