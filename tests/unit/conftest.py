"""Fixtures for unit tests."""

from tests.web.rollback_tier import db_session  # noqa: F401
