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


# -- finding checkpoints from any folder, and diffusers finding our pipelines ----------------------

import os  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402

import pytest  # noqa: E402

from motiongen import paths  # noqa: E402

SHIPPED = ROOT / "checkpoints" / "t2m"
needs_shipped = pytest.mark.skipif(not (SHIPPED / "model_index.json").exists(), reason="no checkpoints/t2m")


def python(code: str, cwd, env: dict | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
    """`code` in a fresh interpreter of this venv, run from `cwd`."""
    full_env = {k: v for k, v in os.environ.items() if k != paths.HOME_VARIABLE} | (env or {})
    return subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout
    )


def test_source_checkout_is_the_default_home():
    if os.environ.get(paths.HOME_VARIABLE):
        pytest.skip("MOTIONGEN_HOME is set")
    assert paths.HOME == ROOT and paths.CHECKPOINT_DIR == ROOT / "checkpoints"


@needs_shipped
def test_relative_checkpoint_paths_work_from_any_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert paths.checkpoint_path("checkpoints/t2m") == paths.CHECKPOINT_DIR / "t2m"
    assert paths.checkpoint_path("t2m") == paths.CHECKPOINT_DIR / "t2m"
    (tmp_path / "checkpoints" / "t2m").mkdir(parents=True)  # one here wins
    assert paths.checkpoint_path("checkpoints/t2m") == Path("checkpoints/t2m")
    assert paths.checkpoint_path("nowhere/t2m") == Path("nowhere/t2m")


def test_motiongen_home_names_the_checkpoints(tmp_path):
    result = python("from motiongen import paths; print(paths.CHECKPOINT_DIR); print(paths.where_checkpoints_are())",
                    tmp_path, {paths.HOME_VARIABLE: str(tmp_path)})  # fmt: skip
    folder, hint = result.stdout.splitlines()
    assert folder == str(tmp_path.resolve() / "checkpoints")
    assert "holds no checkpoints/" in hint and paths.HOME_VARIABLE in hint


def installed_copy(tmp_path) -> Path:
    """The package as a wheel lays it out (motiongen/ with cli/ inside, no checkout around it)."""
    site = tmp_path / "site"
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(ROOT / "motiongen", site / "motiongen", ignore=ignore)
    shutil.copytree(ROOT / "cli", site / "motiongen" / "cli", ignore=ignore)
    return site


def test_installed_package_without_home_says_how_to_set_it(tmp_path):
    site = installed_copy(tmp_path)
    env = {"PYTHONPATH": str(site)}
    found = python("import motiongen.paths as p; print(p.__file__); print(p.HOME)", tmp_path, env)
    assert found.stdout.splitlines() == [str(site / "motiongen" / "paths.py"), "None"], found.stderr
    code = "from motiongen.cli.app import main; main()"
    argv = ["generate", "a person walks", "-o", "a.bvh", "--quiet"]
    result = subprocess.run([sys.executable, "-c", code, *argv], cwd=tmp_path, capture_output=True, text=True,
                            env={k: v for k, v in os.environ.items() if k != paths.HOME_VARIABLE} | env, timeout=300)  # fmt: skip
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1, result.stderr[-3000:]
    assert paths.HOME_VARIABLE in lines[0] and "checkpoints/" in lines[0]
    assert not (tmp_path / "a.bvh").exists()


@needs_shipped
def test_diffusers_loads_our_pipeline_by_name_from_any_folder(tmp_path):
    """DiffusionPipeline.from_pretrained with no extra arguments gives our pipeline, holding the same
    weights and scheduler as our own loader given the relative path checkpoints/t2m from another folder."""
    code = f"""
import torch
import motiongen
from diffusers import DiffusionPipeline
from motiongen.pipelines.text2motion import TextToMotionPipeline
theirs = DiffusionPipeline.from_pretrained({str(SHIPPED)!r})
ours = TextToMotionPipeline.from_pretrained("checkpoints/t2m")
assert type(theirs) is TextToMotionPipeline, type(theirs)
for part in ("denoiser", "text_conditioner"):
    a, b = getattr(theirs, part).state_dict(), getattr(ours, part).state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a), part
assert type(theirs.scheduler) is type(ours.scheduler) and dict(theirs.scheduler.config) == dict(ours.scheduler.config)
print("same")
"""
    result = python(code, tmp_path)
    assert result.stdout.strip().endswith("same"), result.stderr[-3000:]


@needs_shipped
def test_diffusers_imported_before_motiongen_finds_it_too(tmp_path):
    code = """
import diffusers
import motiongen
print(diffusers.TextToMotionPipeline.__module__, diffusers.ReactivePartnerPipeline.__name__)
try:
    diffusers.NoSuchPipeline
except AttributeError:
    print("unknown names still fail")
"""
    result = python(code, tmp_path)
    assert result.stdout.split() == ["motiongen.pipelines.text2motion", "ReactivePartnerPipeline", "unknown", "names",
                                     "still", "fail"], result.stderr[-3000:]  # fmt: skip
