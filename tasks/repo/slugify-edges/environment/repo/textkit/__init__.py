from textkit.slug import slugify, unique_slug
from textkit.titles import titlecase
from textkit.wrap import truncate, wrap

__all__ = ["slugify", "titlecase", "truncate", "unique_slug", "wrap"]
