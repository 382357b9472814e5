from shorty.app import App
from shorty.http import Request
from tests.helpers import Clock

T0 = 1_700_000_000.0


def create(app, **data):
    return app.handle(Request.post_json("/links", {"url": "https://example.com/sale", **data}))


def visit(app, code):
    return app.handle(Request("GET", "/" + code))


def stats(app, code):
    resp = app.handle(Request("GET", f"/links/{code}/stats"))
    assert resp.status == 200
    return resp.data


def test_created_link_reports_when_it_expires():
    app = App(clock=Clock(T0), seed=3)
    resp = create(app, ttl_seconds=3600)
    assert resp.status == 201 and resp.data["expires_at"] == T0 + 3600
    assert stats(app, resp.data["code"])["expires_at"] == T0 + 3600
    forever = create(app, code="forever")
    assert forever.status == 201 and forever.data["expires_at"] is None
    assert stats(app, "forever")["expires_at"] is None


def test_expired_link_is_gone_and_not_counted():
    clock = Clock(T0)
    app = App(clock=clock)
    assert create(app, code="flash", ttl_seconds=60).status == 201
    clock.now = T0 + 59
    hop = visit(app, "flash")
    assert hop.status == 302 and hop.headers["Location"] == "https://example.com/sale"
    assert stats(app, "flash")["expired"] is False
    for later in (60, 61, 86_400):
        clock.now = T0 + later
        assert visit(app, "flash").status == 410
    data = stats(app, "flash")
    assert data["visits"] == 1 and data["expired"] is True
    assert visit(app, "nosuch").status == 404


def test_last_visit_is_tracked():
    clock = Clock(T0)
    app = App(clock=clock)
    create(app, code="promo")
    data = stats(app, "promo")
    assert data["last_visit_at"] is None and data["expired"] is False
    clock.now = T0 + 10
    visit(app, "promo")
    clock.now = T0 + 25
    visit(app, "promo")
    data = stats(app, "promo")
    assert data["last_visit_at"] == T0 + 25 and data["visits"] == 2


def test_bad_ttl_is_rejected():
    app = App(clock=Clock(T0))
    for ttl in (0, -5, "60", 1.5, True, [60]):
        resp = create(app, code="bad", ttl_seconds=ttl)
        assert resp.status == 400 and "ttl_seconds" in resp.data["error"], ttl
        assert visit(app, "bad").status == 404


def test_links_without_ttl_keep_working():
    clock = Clock(T0)
    app = App(clock=clock)
    assert create(app, code="always").status == 201
    clock.now = T0 + 10 * 365 * 86_400
    assert visit(app, "always").status == 302
    assert stats(app, "always")["visits"] == 1
