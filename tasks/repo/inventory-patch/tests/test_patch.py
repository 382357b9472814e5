from inventory.app import App
from inventory.http import Request
from tests.helpers import WIDGET, create


def patch(app, item_id, data, headers=None):
    return app.handle(Request.json_body("PATCH", f"/items/{item_id}", data, headers))


def get(app, item_id):
    return app.handle(Request("GET", f"/items/{item_id}"))


def error_fields(response):
    return sorted(e["field"] for e in response.data["errors"])


def test_patch_updates_given_fields_and_the_version():
    app = App()
    create(app)
    resp = patch(app, 1, {"quantity": 7, "notes": "back room"})
    assert resp.status == 200
    assert resp.data == {"id": 1, "version": 2, **WIDGET, "quantity": 7, "notes": "back room"}
    assert resp.headers["ETag"] == '"1-2"'
    got = get(app, 1)
    assert got.data == resp.data and got.headers["ETag"] == '"1-2"'
    again = patch(app, 1, {"tags": ["tools", "sale"], "price": "8.50", "sku": "WID-0001"})
    assert again.status == 200 and again.headers["ETag"] == '"1-3"'
    assert again.data["tags"] == ["tools", "sale"] and again.data["price"] == "8.50" and again.data["quantity"] == 7
    listed = app.handle(Request("GET", "/items", query={"tag": "sale"})).data["items"]
    assert [i["id"] for i in listed] == [1]
    allow = app.handle(Request("PUT", "/items/1")).headers["Allow"]
    assert sorted(m.strip() for m in allow.split(",")) == ["DELETE", "GET", "PATCH"]


def test_null_removes_optional_fields_only():
    app = App()
    create(app, notes="fragile")
    resp = patch(app, 1, {"tags": None, "notes": None})
    assert resp.status == 200 and resp.data["version"] == 2
    assert "tags" not in resp.data and "notes" not in resp.data
    assert "tags" not in get(app, 1).data
    for required in ("name", "sku", "quantity", "price"):
        bad = patch(app, 1, {required: None})
        assert bad.status == 400 and required in error_fields(bad)
    assert get(app, 1).data == {"id": 1, "version": 2, "name": "Widget", "sku": "WID-0001", "quantity": 5, "price": "9.99"}


def test_rejected_patches_change_nothing():
    app = App()
    create(app)
    create(app, sku="GAD-0002", name="Gadget")
    before = get(app, 1).data
    invalid = patch(app, 1, {"name": "Widget XL", "quantity": -1, "price": "9.9"})
    assert invalid.status == 400 and error_fields(invalid) == ["price", "quantity"]
    for field in ("id", "version", "colour"):
        resp = patch(app, 1, {field: 3, "quantity": 1})
        assert resp.status == 400 and field in error_fields(resp)
    assert patch(app, 1, ["quantity", 1]).status == 400
    assert patch(app, 1, {"sku": "GAD-0002", "quantity": 1}).status == 409
    not_json = Request("PATCH", "/items/1", b"quantity=1", {"Content-Type": "application/x-www-form-urlencoded"})
    assert app.handle(not_json).status == 415
    assert patch(app, 99, {"quantity": 1}).status == 404
    after = get(app, 1)
    assert after.data == before and after.headers["ETag"] == '"1-1"'


def test_if_match_guards_against_lost_updates():
    app = App()
    create(app)
    first = patch(app, 1, {"quantity": 4}, {"If-Match": '"1-1"'})
    assert first.status == 200 and first.headers["ETag"] == '"1-2"'
    stale = patch(app, 1, {"quantity": 3}, {"If-Match": '"1-1"'})
    assert stale.status == 412
    assert get(app, 1).data["quantity"] == 4 and get(app, 1).data["version"] == 2
    fresh = patch(app, 1, {"quantity": 3}, {"If-Match": first.headers["ETag"]})
    assert fresh.status == 200 and fresh.data["quantity"] == 3 and fresh.data["version"] == 3


def test_patch_is_not_a_collection_method():
    resp = App().handle(Request.json_body("PATCH", "/items", {"quantity": 1}))
    assert resp.status == 405 and resp.headers["Allow"] == "GET, POST"
