"""motiongen: human motion generation from text, music, partial motion, video and partners."""

__version__ = "0.1.0"

from motiongen import diffusers_names as _diffusers_names  # noqa: E402

_diffusers_names.install()  # DiffusionPipeline.from_pretrained(folder) finds our pipelines
