"""An in-memory article store (the production one is a database with the same interface)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date


@dataclass(frozen=True)
class Article:
    id: int
    title: str
    author: str
    published: date
    tags: tuple[str, ...] = ()
    views: int = 0

    def to_json(self) -> dict:
        data = asdict(self)
        data["published"] = self.published.isoformat()
        data["tags"] = list(self.tags)
        return data


@dataclass
class Store:
    articles: list[Article] = field(default_factory=list)

    def add(self, article: Article) -> None:
        if any(a.id == article.id for a in self.articles):
            raise ValueError(f"duplicate id {article.id}")
        self.articles.append(article)

    def query(self, tag: str | None = None, author: str | None = None, text: str | None = None) -> list[Article]:
        found = self.articles
        if tag is not None:
            found = [a for a in found if tag in a.tags]
        if author is not None:
            found = [a for a in found if a.author == author]
        if text is not None:
            needle = text.lower()
            found = [a for a in found if needle in a.title.lower()]
        return list(found)
