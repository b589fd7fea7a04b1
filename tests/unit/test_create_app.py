"""Building the app."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from dashboard import YOUNG_OBJECTS_BEFORE_COLLECTING
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

#: What a list page does to the collector, in a process of its own: about 1,500 objects alive at
#: its peak (50 rows, the form, the template's context), all freed by the end.
PAGES_AFTER_THE_APP = """
import gc, json, sys
from tests.conftest import test_settings
from pathlib import Path
from dashboard import create_app

before = gc.get_threshold()
create_app(test_settings(Path(sys.argv[1])))
after = gc.get_threshold()
gc.collect()
started = []
gc.callbacks.append(lambda phase, info: phase == "start" and started.append(info["generation"]))
for _page in range(50):
    alive = [{} for _ in range(1500)]
    del alive
print(json.dumps([before, after, started]))
"""


def _run(script: str, tmp_path: Path):
    result = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)],
        env=environ_without_app_settings(),
        cwd=Path(__file__).parents[2],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(result.stdout)


def test_the_first_app_of_a_process_is_left_out_of_later_garbage_collections(tmp_path):
    # Else every full collection walks it all again: about one page in a thousand waited 150 ms.
    # A later app (tests build many) stays with the collector, so it is freed once dropped.
    first, its_routes, second, collector_on = _run(BUILD_TWO_APPS, tmp_path)
    assert not first and not its_routes
    assert second and collector_on


def test_a_page_whose_objects_are_freed_by_its_end_starts_no_collection(tmp_path):
    # At the 700 of Python 3.11 and 3.12, each of these pages would start two, and every tenth a
    # collection of the next generation with the objects the page still held.
    before, after, started = _run(PAGES_AFTER_THE_APP, tmp_path)
    assert after == [YOUNG_OBJECTS_BEFORE_COLLECTING, *before[1:]]
    assert started == []
