import pytest

from microweb import Request, Response, Router


@pytest.fixture
def app():
    app = Router()

    @app.route("GET", "/users/<int:user_id>")
    def get_user(request, user_id):
        return Response.json({"id": user_id})

    @app.route("put", "/users/<int:user_id>")
    def put_user(request, user_id):
        return Response.json({"id": user_id})

    @app.route("POST", "/items")
    def create_item(request):
        return Response.json({}, status=201)

    @app.route("GET", "/files/<path:rest>")
    def get_file(request, rest):
        return Response.text(rest)

    return app


def test_wrong_method_is_405_with_allow(app):
    resp = app.dispatch(Request("DELETE", "/users/7"))
    assert resp.status == 405
    assert resp.headers["Allow"] == "GET, HEAD, PUT"
    assert resp.data() == {"error": "Method Not Allowed"}


def test_405_for_a_post_only_path(app):
    for method, path in [("GET", "/items"), ("GET", "/items/"), ("HEAD", "/items"), ("DELETE", "/files/a/b")]:
        resp = app.dispatch(Request(method, path))
        assert resp.status == 405, (method, path)
    assert app.dispatch(Request("GET", "/items")).headers["Allow"] == "POST"
    assert app.dispatch(Request("DELETE", "/files/a/b")).headers["Allow"] == "GET, HEAD"


def test_head_is_answered_by_get_without_body(app):
    resp = app.dispatch(Request("HEAD", "/users/7/"))
    assert resp.status == 200
    assert resp.body == b""
    assert resp.headers["Content-Type"] == "application/json"
    assert app.dispatch(Request("GET", "/users/7")).data() == {"id": 7}


def test_unknown_paths_stay_404(app):
    for method in ("GET", "HEAD", "DELETE", "POST"):
        assert app.dispatch(Request(method, "/nope")).status == 404
    # the path must match a route's pattern, converters included, to exist
    assert app.dispatch(Request("DELETE", "/users/abc")).status == 404


def test_routed_methods_still_dispatch(app):
    assert app.dispatch(Request("PUT", "/users/3")).status == 200
    assert app.dispatch(Request("POST", "/items")).status == 201
