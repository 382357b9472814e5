"""Provider registry. Built-in backends register the same way a plugin would: a name and a lazy factory."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from ripsaw.errors import ConfigError
from ripsaw.providers.base import Message, Prompt, Provider, RequestParams

if TYPE_CHECKING:
    from ripsaw.spec import ComboSpec

__all__ = [
    "Message",
    "Prompt",
    "Provider",
    "RequestParams",
    "create_provider",
    "create_providers",
    "provider_names",
    "register",
]

# name -> "module:factory"; the factory takes a ComboSpec and returns a Provider.
_REGISTRY: dict[str, str | Callable[[ComboSpec], Provider]] = {
    "openai": "ripsaw.providers.openai_compat:from_combo",
    "llamacpp": "ripsaw.providers.llamacpp:from_combo",
}


def register(name: str, factory: str | Callable[[ComboSpec], Provider]) -> None:
    _REGISTRY[name] = factory


def provider_names() -> list[str]:
    return sorted(_REGISTRY)


def create_provider(combo: ComboSpec) -> Provider:
    try:
        factory = _REGISTRY[combo.provider]
    except KeyError:
        raise ConfigError(f"unknown provider {combo.provider!r} (known: {', '.join(provider_names())})") from None
    if isinstance(factory, str):
        module, _, attr = factory.partition(":")
        factory = getattr(importlib.import_module(module), attr)
    return factory(combo)


async def create_providers(combos: Sequence[ComboSpec]) -> list[Provider]:
    """Build every combo's provider up front (options checked, packages found, nothing launched yet), so a
    mistake in the last combo is reported before the first one spends an hour; on failure, close the rest."""
    providers: list[Provider] = []
    try:
        for combo in combos:
            providers.append(create_provider(combo))
    except BaseException:
        for built in providers:
            await built.aclose()
        raise
    return providers
