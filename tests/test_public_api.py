"""The package's public namespace, version and typing marker."""

from __future__ import annotations

import ast
import importlib
import importlib.resources
import inspect
import re
import tomllib
from pathlib import Path

import pytest

import toplist_async

ROOT = Path(__file__).resolve().parent.parent
PACKAGE_DIR = Path(toplist_async.__file__).resolve().parent
# PEP 440 public version, e.g. 0.1.0, 1.2.3rc1, 2.0.0.post1
PEP_440 = re.compile(r"\d+(\.\d+)*((a|b|rc)\d+)?(\.post\d+)?(\.dev\d+)?")


def _public_names() -> list[str]:
    """Public names bound in the package (modules such as `testing` excluded)."""
    return [
        name
        for name, value in vars(toplist_async).items()
        if (not name.startswith("_") or name == "__version__")
        and not inspect.ismodule(value)
    ]


def test_all_names_every_public_name() -> None:
    """`__all__` names exactly the package's public names, `__version__` included."""
    assert set(toplist_async.__all__) == set(_public_names())


def test_all_is_casefold_sorted() -> None:
    """`__all__` is sorted by `str.casefold`, as httpx's is (with the previous test:
    `__all__` equals the casefold-sorted public names)."""
    assert toplist_async.__all__ == sorted(toplist_async.__all__, key=str.casefold)


@pytest.mark.parametrize("name", toplist_async.__all__)
def test_every_name_in_all_imports(name: str) -> None:
    """`from toplist_async import <name>` works for every name in `__all__`."""
    module = importlib.import_module("toplist_async")
    namespace: dict[str, object] = {}
    exec(f"from toplist_async import {name}", namespace)
    assert namespace[name] is getattr(module, name)


def test_all_has_no_duplicates() -> None:
    """No name is listed twice in `__all__`."""
    assert len(toplist_async.__all__) == len(set(toplist_async.__all__))


def _declared_version() -> str:
    """The version pyproject.toml declares, statically or through hatch's path."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    project = pyproject["project"]
    if "version" not in project.get("dynamic", []):
        return str(project["version"])
    source = ROOT / pyproject["tool"]["hatch"]["version"]["path"]
    for node in ast.parse(source.read_text(encoding="utf-8")).body:
        if (
            isinstance(node, ast.Assign)
            and [getattr(t, "id", None) for t in node.targets] == ["__version__"]
            and isinstance(node.value, ast.Constant)
        ):
            return str(node.value.value)
    pytest.fail(f"no __version__ = '...' literal in {source}")


def test_version_matches_pyproject() -> None:
    """`toplist_async.__version__` is the version pyproject.toml builds with."""
    declared = _declared_version()
    assert toplist_async.__version__ == declared
    assert PEP_440.fullmatch(declared), declared


def test_py_typed_ships_inside_the_package() -> None:
    """The PEP 561 `py.typed` marker is a file inside the package directory."""
    assert (PACKAGE_DIR / "py.typed").is_file()
    marker = importlib.resources.files("toplist_async").joinpath("py.typed")
    assert marker.is_file()
