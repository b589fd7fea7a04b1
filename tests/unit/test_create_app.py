"""Building the app."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import environ_without_app_settings

#: Run in a process of its own: the test session has built its first app long before.
BUILD_TWO_APPS = """
import gc, json, sys
from tests.conftest import test_settings
from pathlib import Path
from dashboard import create_app

def collected(obj):
    return any(tracked is obj for tracked in gc.get_objects())

first = create_app(test_settings(Path(sys.argv[1]) / "first"))
second = create_app(test_settings(Path(sys.argv[1]) / "second"))
print(json.dumps([collected(first), collected(first.url_map), collected(second), gc.isenabled()]))
"""


def test_the_first_app_of_a_process_is_left_out_of_later_garbage_collections(tmp_path):
    # Else every full collection walks it all again: about one page in a thousand waited 150 ms.
    # A later app (tests build many) stays with the collector, so it is freed once dropped.
    result = subprocess.run(
        [sys.executable, "-c", BUILD_TWO_APPS, str(tmp_path)],
        env=environ_without_app_settings(),
        cwd=Path(__file__).parents[2],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    first, its_routes, second, collector_on = json.loads(result.stdout)
    assert not first and not its_routes
    assert second and collector_on
