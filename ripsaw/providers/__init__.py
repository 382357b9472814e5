"""Providers: how Ripsaw talks to a model endpoint. The registry of them, and building one per combo.

A provider factory takes a ComboSpec and returns a Provider (ripsaw.providers.base); it checks the combo's
options and finds its packages, launching nothing. Entry-point group: `ripsaw.providers`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ripsaw.providers.base import Provider
from ripsaw.registry import Registry
from ripsaw.types import ComboSpec

__all__ = ["PROVIDERS", "Provider", "create_provider", "create_providers"]

PROVIDERS: Registry[Callable[[ComboSpec], Provider]] = Registry(
    "provider",
    "ripsaw.providers",
    {
        "openai": "ripsaw.providers.openai_compat:from_combo",
        "openai-responses": "ripsaw.providers.openai_responses:from_combo",
        "anthropic": "ripsaw.providers.anthropic:from_combo",
        "llamacpp": "ripsaw.providers.llamacpp.server:from_combo",
    },
)


def create_provider(combo: ComboSpec) -> Provider:
    return PROVIDERS.get(combo.provider)(combo)


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
