from textkit import slugify, unique_slug


def test_trailing_punctuation():
    assert slugify("Hello, World!") == "hello-world"


def test_custom_separator_not_at_ends():
    assert slugify("...Q&A: tips & tricks?", separator="_") == "q_a_tips_tricks"


def test_unique_slug_of_punctuated_title():
    assert unique_slug("Post!", {"post"}) == "post-2"


def test_inner_punctuation_collapses():
    assert slugify("rock & roll - live") == "rock-roll-live"
