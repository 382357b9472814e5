import pytest

ORDERS = """id,region,product,status,amount,qty
1,EU,widget,paid,120.50,3
2,US,gadget,paid,80,1
3,EU,gadget,refunded,40.00,2
4,EU,widget,paid,99.50,1
5,APAC,widget,paid,300,10
6,US,widget,pending,15.25,1
"""


@pytest.fixture
def orders(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text(ORDERS)
    return path
