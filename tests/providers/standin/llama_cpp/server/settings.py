from typing import ClassVar


class ModelSettings:
    model_fields: ClassVar[dict[str, object]] = {"model": None, "n_threads": None}


class ServerSettings:
    model_fields: ClassVar[dict[str, object]] = {"host": None, "port": None}
