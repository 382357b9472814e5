from microweb.http import Request, Response
from microweb.router import Router

__all__ = ["Request", "Response", "Router"]
