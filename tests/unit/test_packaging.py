"""A fresh install needs only what pyproject.toml declares (issue 6, item 14)."""
from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
OURS = {"ivr", "routing", "workers", "locales", "wsgi", "tests"}


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def _declared(requirements: list[str]) -> set[str]:
    return {_normal(re.split(r"[<>=!~\[; ]", r, maxsplit=1)[0]) for r in requirements}


def test_every_module_the_service_imports_comes_from_a_declared_dependency():
    sources = [p for d in ("ivr", "routing", "workers") for p in (ROOT / d).rglob("*.py")] + [ROOT / "wsgi.py"]
    imported = set().union(*map(_imports, sources)) - OURS - set(sys.stdlib_module_names)
    distributions = packages_distributions()
    needed = {_normal(dist) for name in imported for dist in distributions.get(name, [name])}

    assert needed - _declared(PROJECT["dependencies"]) == set()


def test_every_package_data_pattern_names_files_that_exist():
    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]

    for package, patterns in package_data.items():
        for pattern in patterns:
            assert list((ROOT / package).glob(pattern)), f"{package}: {pattern} matches nothing"
