from confload.loader import Settings, load
from confload.schema import ConfigError, Field, Schema

__all__ = ["ConfigError", "Field", "Schema", "Settings", "load"]
