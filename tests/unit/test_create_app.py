"""Building the app."""

from __future__ import annotations

import gc

from dashboard import create_app
from dashboard.extensions import db
from tests.conftest import test_settings


def test_what_building_the_app_made_is_left_out_of_later_garbage_collections(tmp_path):
    # Else every full collection walks it all again: about one page in a thousand waited 150 ms.
    app = create_app(test_settings(tmp_path))
    try:
        collected = {id(obj) for obj in gc.get_objects()}
        assert id(app) not in collected and id(app.url_map) not in collected
        assert gc.isenabled()
    finally:
        with app.app_context():
            db.engine.dispose()
