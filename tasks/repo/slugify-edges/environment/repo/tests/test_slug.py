from textkit import slugify, unique_slug


def test_simple():
    assert slugify("Hello World") == "hello-world"


def test_accents_are_folded():
    assert slugify("Crème brûlée à Paris") == "creme-brulee-a-paris"


def test_special_letters():
    assert slugify("Straße Øresund") == "strasse-oresund"


def test_leading_punctuation():
    assert slugify("  ...and then") == "and-then"


def test_max_length_cuts_at_a_word():
    assert slugify("one two three four", max_length=10) == "one-two"


def test_custom_separator():
    assert slugify("a b c", separator="_") == "a_b_c"


def test_unique_slug_counts_up():
    assert unique_slug("Post", {"post", "post-2"}) == "post-3"


def test_unique_slug_of_nothing():
    assert unique_slug("!!!", set()) == "item"
