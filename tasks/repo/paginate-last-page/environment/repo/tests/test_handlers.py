from listapi.handlers import list_articles
from listapi.request import Request


def test_filter_and_sort(store):
    resp = list_articles(Request.get("/articles?tag=python&sort=-id"), store)
    assert resp.status == 200
    data = resp.json()
    assert [a["id"] for a in data["items"]][:5] == [25, 23, 21, 19, 17]
    assert data["meta"] == {"page": 1, "per_page": 20, "total": 13, "pages": 1}


def test_link_header(store):
    resp = list_articles(Request.get("/articles?per_page=5&page=2"), store)
    assert 'rel="next"' in resp.headers["Link"] and 'rel="prev"' in resp.headers["Link"]


def test_bad_sort_field(store):
    resp = list_articles(Request.get("/articles?sort=author"), store)
    assert resp.status == 400 and "cannot sort" in resp.json()["error"]


def test_text_search(store):
    resp = list_articles(Request.get("/articles?q=post%2007"), store)
    assert [a["id"] for a in resp.json()["items"]] == [7]
