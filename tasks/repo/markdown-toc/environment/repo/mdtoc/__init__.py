from mdtoc.headings import Heading, headings
from mdtoc.toc import render_toc, update_toc

__all__ = ["Heading", "headings", "render_toc", "update_toc"]
