from inventory.app import App
from inventory.http import Request

WIDGET = {"name": "Widget", "sku": "WID-0001", "quantity": 5, "price": "9.99", "tags": ["tools"]}


def create(app: App, **overrides):
    return app.handle(Request.json_body("POST", "/items", {**WIDGET, **overrides}))
