import pytest

from microweb import Request, Response, Router


@pytest.fixture
def app():
    app = Router()

    @app.route("GET", "/users/<int:user_id>")
    def get_user(request, user_id):
        if user_id == 0:
            raise ValueError("user ids start at 1")
        return Response.json({"id": user_id})

    @app.route("PUT", "/users/<int:user_id>")
    def put_user(request, user_id):
        return Response.json({"id": user_id, **request.json()})

    @app.route("GET", "/boom")
    def boom(request):
        raise RuntimeError("kaput")

    @app.route("POST", "/items")
    def create_item(request):
        return Response.json(request.json(), status=201)

    return app


def test_get(app):
    resp = app.dispatch(Request("GET", "/users/7"))
    assert resp.status == 200 and resp.data() == {"id": 7}


def test_trailing_slash(app):
    assert app.dispatch(Request("GET", "/users/7/")).status == 200


def test_unknown_path_is_404(app):
    assert app.dispatch(Request("GET", "/nope")).status == 404


def test_value_error_is_400(app):
    resp = app.dispatch(Request("GET", "/users/0"))
    assert resp.status == 400 and resp.data() == {"error": "user ids start at 1"}


def test_crash_is_500(app):
    assert app.dispatch(Request("GET", "/boom")).status == 500


def test_json_body(app):
    resp = app.dispatch(Request("PUT", "/users/3", {"Content-Type": "application/json"}, b'{"name": "ana"}'))
    assert resp.data() == {"id": 3, "name": "ana"}


def test_middleware_order(app):
    seen = []

    def outer(req, call_next):
        seen.append("outer")
        resp = call_next(req)
        resp.headers["X-Outer"] = "1"
        return resp

    def inner(req, call_next):
        seen.append("inner")
        return call_next(req)

    app.middleware(outer)
    app.middleware(inner)
    resp = app.dispatch(Request("GET", "/users/1"))
    assert seen == ["outer", "inner"] and resp.headers["X-Outer"] == "1"


def test_duplicate_route(app):
    with pytest.raises(ValueError):
        app.add("GET", "/users/<int:user_id>", lambda r, user_id: Response())
