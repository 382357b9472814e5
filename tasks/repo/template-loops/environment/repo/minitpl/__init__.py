from minitpl.errors import TemplateError
from minitpl.template import Template

__all__ = ["Template", "TemplateError"]
