from datetime import date, timedelta

import pytest

from listapi.store import Article, Store


@pytest.fixture
def store():
    s = Store()
    start = date(2024, 1, 1)
    for i in range(1, 26):
        tags = ("python",) if i % 2 else ("rust",)
        s.add(Article(i, f"Post {i:02d}", "ana" if i % 3 else "bo", start + timedelta(days=i), tags, views=i * 7 % 10))
    return s
