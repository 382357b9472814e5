from __future__ import annotations

import os

import pytest

# Variables a test must never inherit from the developer's shell: keys, proxies, Ripsaw settings.
_SCRUB_PREFIXES = ("OPENAI_", "ANTHROPIC_", "RIPSAW_", "HF_", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.upper().startswith(_SCRUB_PREFIXES):
            monkeypatch.delenv(name, raising=False)


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")
