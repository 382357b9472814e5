import pytest

from confload import ConfigError, Field, Schema, load
from confload.coerce import to_bool

SCHEMA = Schema([Field("server.debug", bool, True), Field("server.port", int, 8000)])


def test_off_is_false():
    for text in ("off", "OFF", " Off "):
        assert to_bool(text) is False, text


def test_off_in_an_ini_file(tmp_path):
    ini = tmp_path / "app.ini"
    ini.write_text("[server]\ndebug = off\n")
    settings = load(SCHEMA, files=[str(ini)], environ={})
    assert settings["server.debug"] is False
    assert settings.origins["server.debug"] == f"file {ini}"


def test_off_from_the_environment():
    settings = load(SCHEMA, environ={"APP_SERVER__DEBUG": "off"})
    assert settings["server.debug"] is False
    with pytest.raises(ConfigError, match=r"not a boolean: 'offf' \(use one of .*\boff\b"):
        load(SCHEMA, environ={"APP_SERVER__DEBUG": "offf"})


def test_other_words_still_rejected():
    for text in ("maybe", "of", "2"):
        with pytest.raises(ValueError, match="not a boolean"):
            to_bool(text)
    assert to_bool("on") is True


def test_known_words_unchanged():
    for text in ("1", "true", "TRUE", "yes", "y", "on", " On "):
        assert to_bool(text) is True, text
    for text in ("0", "false", "No", "n", ""):
        assert to_bool(text) is False, text
