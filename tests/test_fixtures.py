"""The suite is hermetic: app settings exported in the developer's shell never reach a test app."""

from __future__ import annotations

import pytest

from dashboard import create_app
from dashboard.extensions import db
from tests.conftest import APP_VARIABLES
from tests.conftest import environ_without_app_settings
from tests.conftest import test_settings

#: What the README lets a test take from the shell.
SELECTION = ("DATABASE_URL", "REDIS_URL")
EXPORTED = "exported-by-the-shell"


@pytest.fixture
def exported(monkeypatch) -> dict[str, str]:
    """Export every app variable but the database and Redis selection, and FLASK_DEBUG."""
    values = {name: EXPORTED for name in APP_VARIABLES if name not in SELECTION}
    values["FLASK_DEBUG"] = "1"
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


def test_an_app_built_as_the_fixtures_build_it_takes_no_exported_setting(tmp_path, exported):
    # An exported value that were read would either stop create_app (a ConfigError naming it) or
    # show up in the config.
    app = create_app(test_settings(tmp_path))
    try:
        assert sorted(name for name in exported if app.config.get(name) == EXPORTED) == []
        assert not app.debug
        assert app.instance_path == str((tmp_path / "instance").resolve())
        assert app.config["DISPLAY_TIMEZONE"] == "Asia/Hong_Kong"
        assert "sandbox" not in app.extensions
    finally:
        with app.app_context():
            db.engine.dispose()


def test_a_command_a_test_runs_gets_no_exported_app_or_flask_variable(exported, monkeypatch):
    monkeypatch.setenv("FLASK_APP", "elsewhere")
    environ = environ_without_app_settings(DISPLAY_TIMEZONE="UTC")
    assert [name for name in exported if name in environ] == ["DISPLAY_TIMEZONE"]
    assert environ["DISPLAY_TIMEZONE"] == "UTC"
    assert "FLASK_APP" not in environ
    assert environ["FLASK_SKIP_DOTENV"] == "1"
