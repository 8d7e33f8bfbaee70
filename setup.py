"""Packages of the wheel; everything else is declared in pyproject.toml.

``migrate`` and its subpackages are found; ``migrate_packs`` (the folder mappings/) and
``migrate_sample`` (the folder sample_data/) are data packages mapped in pyproject.toml.
The sample's generator (sample_data/generate.py) stays out of the wheel.
"""

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

DATA_PACKAGES = ["migrate_packs", "migrate_sample"]


class BuildPy(build_py):
    """build_py that ships no module of the data packages but their ``__init__``."""

    def find_package_modules(self, package: str, package_dir: str) -> list[tuple[str, str, str]]:
        """The package's modules, only ``__init__`` for a data package."""
        found = super().find_package_modules(package, package_dir)
        if package in DATA_PACKAGES:
            found = [m for m in found if m[1] == "__init__"]
        return found


setup(packages=[*find_packages(include=["migrate", "migrate.*"]), *DATA_PACKAGES],
      cmdclass={"build_py": BuildPy})
