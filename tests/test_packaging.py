"""pyproject.toml lists packages explicitly (the CLI lives in cli/ but installs as motiongen.cli):
every package on disk must be in that list, or it would be missing from a wheel."""

from __future__ import annotations

import importlib.util
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
SETUPTOOLS = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]


def packages_on_disk() -> set[str]:
    found = set()
    for init in (ROOT / "motiongen").rglob("__init__.py"):
        if "__pycache__" not in init.parts:
            found.add(".".join(init.parent.relative_to(ROOT).parts))
    return found


def test_every_subpackage_is_listed():
    on_disk = packages_on_disk()
    assert "motiongen.render" in on_disk  # the scan does find packages
    missing = sorted(on_disk - set(SETUPTOOLS["packages"]))
    assert not missing, f"add these to [tool.setuptools] packages in pyproject.toml: {missing}"


def test_listed_packages_exist():
    package_dir = SETUPTOOLS.get("package-dir", {})
    for package in SETUPTOOLS["packages"]:
        folder = ROOT / package_dir[package] if package in package_dir else ROOT.joinpath(*package.split("."))
        assert (folder / "__init__.py").exists(), f"{package} is listed but {folder} is not a package"


def test_cli_installs_as_motiongen_cli():
    assert SETUPTOOLS["package-dir"]["motiongen.cli"] == "cli"
    assert "motiongen.cli" in SETUPTOOLS["packages"]
    assert (ROOT / "cli" / "__init__.py").exists()
    spec = importlib.util.find_spec("motiongen.cli.app")
    assert spec is not None and Path(spec.origin).resolve() == (ROOT / "cli" / "app.py").resolve()
