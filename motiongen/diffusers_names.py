"""Lets `diffusers.DiffusionPipeline.from_pretrained(folder)` load motiongen's pipeline folders.

diffusers (0.42) finds the class a folder's model_index.json names ("_class_name":
"TextToMotionPipeline") as an attribute of the `diffusers` module; a module and class pair there
is only taken as a code file inside the folder, which it runs only with trust_remote_code=True.
So once motiongen is imported, the `diffusers` module answers our class names too, importing the
pipeline's module only when asked. `import motiongen` arranges this whether diffusers is imported
before or after it, without importing diffusers itself (which takes seconds).
"""

from __future__ import annotations

import importlib
import importlib.util
import sys

PIPELINES = {
    "TextToMotionPipeline": "motiongen.pipelines.text2motion",
    "ReactivePartnerPipeline": "motiongen.pipelines.react",
    "LiftPipeline": "motiongen.pipelines.lift",
    "MusicToDancePipeline": "motiongen.pipelines.dance",
}


def _find(module, name: str):
    if name in PIPELINES:
        value = getattr(importlib.import_module(PIPELINES[name]), name)
        setattr(module, name, value)  # found once, then a plain attribute
        return value
    fallback = getattr(type(module).__mro__[1], "__getattr__", None)
    if fallback is None:
        raise AttributeError(f"module {module.__name__!r} has no attribute {name!r}")
    return fallback(module, name)


def register(diffusers) -> None:
    """Make the `diffusers` module answer our pipeline class names."""
    kind = type(diffusers)
    if getattr(kind, "_motiongen_names", False):
        return
    diffusers.__class__ = type(kind.__name__, (kind,), {"__getattr__": _find, "_motiongen_names": True})


class _RegisterWhenImported:
    """A one-shot import hook: lets diffusers load as usual, then registers our names on it."""

    def find_spec(self, name, path=None, target=None):
        if name != "diffusers":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.loader is not None and hasattr(spec.loader, "exec_module"):
            load = spec.loader.exec_module

            def exec_module(module):
                load(module)
                register(sys.modules[name])  # diffusers puts a lazy module of its own there

            spec.loader.exec_module = exec_module
        return spec


def install() -> None:
    if "diffusers" in sys.modules:
        register(sys.modules["diffusers"])
    elif not any(isinstance(finder, _RegisterWhenImported) for finder in sys.meta_path):
        sys.meta_path.insert(0, _RegisterWhenImported())
