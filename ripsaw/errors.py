"""Exceptions Ripsaw raises on purpose.

    RipsawError
    ├── ConfigError          bad spec, bad flag, unreadable input: the user must fix something (exit 2)
    │   ├── InvalidKey       one value of a spec is wrong; names the key and the problem (the loader adds the file)
    │   └── SpecError        a spec file is malformed; names the file, the key and the problem
    ├── PrerequisiteError    something Ripsaw needs is missing (Docker engine, image, package) (exit 2)
    └── InfraError           an endpoint, daemon or host failed; never scored as a model failure
        ├── ProviderError    the model endpoint failed after bounded retries
        └── SandboxInfraError the sandbox engine failed (daemon gone, container create failed)

The CLI prints a RipsawError as one line without a traceback; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class RipsawError(Exception):
    exit_code = 1


class ConfigError(RipsawError):
    exit_code = 2


class InvalidKey(ConfigError):
    def __init__(self, key: str, problem: str) -> None:
        self.key, self.problem = key, problem
        super().__init__(f"{key}: {problem}")


class SpecError(ConfigError):
    def __init__(self, file: str, key: str, problem: str) -> None:
        self.file, self.key, self.problem = file, key, problem
        where = f"{file}: {key}" if key else file
        super().__init__(f"{where}: {problem}")


class PrerequisiteError(RipsawError):
    exit_code = 2


class ComboFailed(RipsawError):
    """A combo cannot go on (its managed server died on its first generation, or again after a restart). The
    runner stops that combo with this one message, scores none of its unfinished attempts (a re-run retries
    them), goes on with the next combo and says so at the end."""

    exit_code = 1


class InfraError(RipsawError):
    exit_code = 1


class ProviderError(InfraError):
    pass


class RequestRejected(ProviderError):
    """The endpoint refused the request itself (a 4xx other than throttling): no retry can help. `status` lets a
    caller tell a request that outgrew the endpoint (400, 413, 422) from a wrong key or model (401, 403, 404)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class SandboxInfraError(InfraError):
    pass
