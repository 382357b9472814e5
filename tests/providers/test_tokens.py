"""The tokenizer-free estimate used when an endpoint reports no usage."""

from __future__ import annotations

import pytest

from ripsaw.tokens import estimate_tokens

CODE = """def has_close_elements(numbers: List[float], threshold: float) -> bool:
    for idx, elem in enumerate(numbers):
        for idx2, elem2 in enumerate(numbers):
            if idx != idx2:
                distance = abs(elem - elem2)
                if distance < threshold:
                    return True

    return False
"""


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("", 0),
        ("hello world", 2),  # a word takes its leading space
        (" don't", 2),  # " don", "'t"
        ("    return x", 3),  # indentation is one piece, the last space goes with the word
        ("12345678", 3),  # digits in groups of three
        ("internationalization", 4),  # a long word splits: one token per started 6 letters
        ("_close_elements", 3),  # "_close" (5 letters: 1), "_elements" (8 letters: 2)
        ("!==>", 2),  # symbol runs: one token per started 3
        ("日本語", 3),  # non-ASCII letters cost one each
        ("\n\n\n", 1),
    ],
)
def test_pieces(text: str, tokens: int) -> None:
    assert estimate_tokens(text) == tokens


def test_code_lands_in_the_usual_chars_per_token_range() -> None:
    # GPT-style tokenizers give roughly 3-4.5 characters per token on Python source.
    assert 3.0 <= len(CODE) / estimate_tokens(CODE) <= 4.5
