from inventory.app import App
from inventory.http import Request
from tests.helpers import WIDGET, create


def test_create_and_get():
    app = App()
    resp = create(app)
    assert resp.status == 201 and resp.headers["Location"] == "/items/1" and resp.headers["ETag"] == '"1-1"'
    got = app.handle(Request("GET", "/items/1"))
    assert got.status == 200 and got.data == {"id": 1, "version": 1, **WIDGET}


def test_validation_errors_are_listed():
    resp = create(App(), sku="bad", quantity=-1, price="9.9")
    assert resp.status == 400
    fields = sorted(e["field"] for e in resp.data["errors"])
    assert fields == ["price", "quantity", "sku"]


def test_unknown_field_on_create():
    resp = create(App(), colour="red")
    assert resp.status == 400 and resp.data["errors"][0]["field"] == "colour"


def test_duplicate_sku():
    app = App()
    create(app)
    assert create(app, name="Other").status == 409


def test_not_json():
    resp = App().handle(Request("POST", "/items", b"name=x", {"Content-Type": "application/x-www-form-urlencoded"}))
    assert resp.status == 415


def test_list_filter_and_delete():
    app = App()
    create(app)
    create(app, sku="GAD-0002", tags=["toys"])
    assert [i["sku"] for i in app.handle(Request("GET", "/items", query={"tag": "toys"})).data["items"]] == ["GAD-0002"]
    assert app.handle(Request("DELETE", "/items/1")).status == 204
    assert app.handle(Request("GET", "/items/1")).status == 404


def test_method_not_allowed_lists_methods():
    resp = App().handle(Request("PUT", "/items"))
    assert resp.status == 405 and resp.headers["Allow"] == "GET, POST"
