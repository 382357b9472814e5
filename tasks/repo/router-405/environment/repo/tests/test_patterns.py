import pytest

from microweb.patterns import compile_pattern


def test_literal():
    assert compile_pattern("/health").match("/health") == {}
    assert compile_pattern("/health").match("/healthz") is None


def test_params_and_converters():
    p = compile_pattern("/users/<int:user_id>/posts/<slug>")
    assert p.match("/users/42/posts/hello-world") == {"user_id": 42, "slug": "hello-world"}
    assert p.match("/users/x/posts/a") is None


def test_path_param():
    assert compile_pattern("/files/<path:rest>").match("/files/a/b/c.txt") == {"rest": "a/b/c.txt"}


def test_bad_patterns():
    with pytest.raises(ValueError):
        compile_pattern("users")
    with pytest.raises(ValueError):
        compile_pattern("/<a>/<a>")
