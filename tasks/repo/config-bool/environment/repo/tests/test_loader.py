import pytest

from confload import ConfigError, Field, Schema, load

SCHEMA = Schema(
    [
        Field("server.port", int, 8000),
        Field("server.debug", bool, False),
        Field("server.workers", int, 2, check=lambda n: n > 0),
        Field("db.url", str, required=True),
        Field("cache.ttl", "duration", 60.0),
        Field("log.level", str, "info", choices=("debug", "info", "warning")),
    ]
)


def test_defaults_and_env(tmp_path):
    s = load(SCHEMA, environ={"APP_DB__URL": "sqlite://", "OTHER": "x"})
    assert s["server.port"] == 8000 and s["db.url"] == "sqlite://"
    assert s.origins["db.url"] == "env APP_DB__URL"


def test_file_then_env(tmp_path):
    ini = tmp_path / "app.ini"
    ini.write_text("[server]\nport = 9000\ndebug = yes\n[db]\nurl = pg://x\n")
    s = load(SCHEMA, files=[str(ini)], environ={"APP_SERVER__PORT": "9100"})
    assert s["server.port"] == 9100 and s["server.debug"] is True
    assert s.explain("server.port") == "server.port = 9100 (from env APP_SERVER__PORT)"


def test_unknown_key_suggests(tmp_path):
    with pytest.raises(ConfigError, match="did you mean 'server.port'"):
        load(SCHEMA, environ={"APP_DB__URL": "x", "APP_SERVER__PROT": "1"})


def test_bad_type_names_origin():
    with pytest.raises(ConfigError, match="env APP_SERVER__PORT: server.port: not an integer"):
        load(SCHEMA, environ={"APP_DB__URL": "x", "APP_SERVER__PORT": "eighty"})


def test_missing_required():
    with pytest.raises(ConfigError, match="missing required settings: db.url"):
        load(SCHEMA, environ={})


def test_choices_and_checks():
    with pytest.raises(ConfigError, match="must be one of"):
        load(SCHEMA, environ={"APP_DB__URL": "x", "APP_LOG__LEVEL": "loud"})
    with pytest.raises(ConfigError, match="not valid"):
        load(SCHEMA, environ={"APP_DB__URL": "x", "APP_SERVER__WORKERS": "0"})


def test_section():
    s = load(SCHEMA, environ={"APP_DB__URL": "x"})
    assert s.section("cache") == {"ttl": 60.0}
