"""Bundle the top-level templates, static files and migrations into the wheel.

The source tree keeps them at the top level (STYLE.md layout); an installed package
finds them under ``dashboard/_bundled/`` (see ``dashboard._resource_dir``).
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

RESOURCES = ("templates", "static", "migrations")


class BuildWithResources(build_py):
    """Copy the resource folders into the built package."""

    def run(self):
        super().run()
        for name in RESOURCES:
            target = Path(self.build_lib) / "dashboard" / "_bundled" / name
            shutil.copytree(
                Path(name), target, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__")
            )


setup(cmdclass={"build_py": BuildWithResources})
