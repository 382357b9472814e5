from shorty.app import App
from shorty.http import Request
from tests.helpers import Clock


def create(app, **data):
    return app.handle(Request.post_json("/links", {"url": "https://example.com/a", **data}))


def test_create_and_redirect():
    app = App(clock=Clock(), seed=1)
    resp = create(app)
    assert resp.status == 201 and len(resp.data["code"]) == 6
    assert resp.data["short_url"] == "https://sho.rt/" + resp.data["code"]
    hop = app.handle(Request("GET", "/" + resp.data["code"]))
    assert hop.status == 302 and hop.headers["Location"] == "https://example.com/a"


def test_custom_code_and_conflict():
    app = App(clock=Clock())
    assert create(app, code="spring").status == 201
    assert create(app, code="spring").status == 409
    assert create(app, code="a!").status == 400
    assert create(app, code="links").status == 400


def test_bad_urls():
    app = App(clock=Clock())
    for url in ["ftp://x", "example.com", 42]:
        assert app.handle(Request.post_json("/links", {"url": url})).status == 400


def test_visits_are_counted():
    app = App(clock=Clock())
    create(app, code="abc")
    for _ in range(3):
        app.handle(Request("GET", "/abc"))
    stats = app.handle(Request("GET", "/links/abc/stats")).data
    assert stats["visits"] == 3 and stats["url"] == "https://example.com/a"


def test_delete_and_unknown():
    app = App(clock=Clock())
    create(app, code="gone")
    assert app.handle(Request("DELETE", "/links/gone")).status == 204
    assert app.handle(Request("GET", "/gone")).status == 404
    assert app.handle(Request("GET", "/links/gone/stats")).status == 404
