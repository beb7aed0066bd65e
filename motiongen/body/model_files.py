"""Finding and reading the user's SMPL / SMPL+H model files, without running code from them.

The model files are licensed to each user and never shipped: `--smpl-model` names the folder
(or the file). In the folder, or its `smpl` / `smplh` sub-folders, we look for smplx's names
(SMPL_NEUTRAL.pkl, SMPLH_MALE.npz, ...), the names SMPL's download has
(basicmodel_neutral_lbs_10_207_0_v1.1.0.pkl, basicModel_f_lbs_10_207_0_v1.0.0.pkl, ...) and
AMASS's SMPL+H layout (neutral/model.npz, ...). The neutral body is preferred, then male, female.

SMPL's files are Python pickles, and unpickling can run any code. `.pkl` files are read by an
unpickler that builds only numpy arrays, scipy sparse matrices and plain Python values, and
refuses anything else; `.npz` arrays are read without unpickling. Once chumpy objects are removed
from a .pkl (smplx asks for the same), an SMPL file holds nothing else.
"""

from __future__ import annotations

import codecs
import copyreg
import pickle
import re
import zipfile
from pathlib import Path

import numpy as np

from motiongen.errors import UserError

GENDER_ORDER = ("neutral", "male", "female")
SUFFIXES = (".pkl", ".npz")
SUB_FOLDERS = ("", "smpl", "smplh")
REQUIRED = ("v_template", "shapedirs", "posedirs", "J_regressor", "weights", "kintree_table", "f")
JOINTS = {24: "smpl", 52: "smplh"}  # joints in the file -> the smplx model that reads it
HOW_TO_GET = "download SMPL or SMPL+H from its site (free registration) and give the folder that holds SMPL_NEUTRAL.pkl"


def find(path: str | Path, option: str = "--smpl-model", gender: str | None = None) -> tuple[Path, str]:
    """The model file to use and its gender ("neutral", "male", "female"; "neutral" when the name
    does not say). `path` is the folder that holds it, or the file itself; `gender` is preferred
    when the folder has it (else neutral, male, female)."""
    path = Path(path).expanduser()
    if not path.exists():
        raise UserError(f"{option} {path}: no such folder; {HOW_TO_GET}")
    if path.is_file():
        if path.suffix.lower() not in SUFFIXES:
            raise UserError(f"{option} {path.name}: an SMPL model is a .pkl or .npz file")
        return path, _gender_of(path) or "neutral"
    found = {}
    for sub in SUB_FOLDERS:
        folder = path / sub if sub else path
        if not folder.is_dir():
            continue
        candidates = [p for p in folder.iterdir() if p.is_file()]
        candidates += [folder / g / "model.npz" for g in GENDER_ORDER if (folder / g / "model.npz").is_file()]
        for candidate in sorted(candidates):
            named = _gender_of(candidate)
            if named and candidate.suffix.lower() in SUFFIXES:
                found.setdefault(named, candidate)
    for choice in ((gender,) if gender in found else ()) + GENDER_ORDER:
        if choice in found:
            return found[choice], choice
    raise UserError(
        f"{option} {path} holds no SMPL or SMPL+H model file (SMPL_NEUTRAL.pkl, SMPLH_MALE.npz, "
        f"basicmodel_neutral_lbs_10_207_0_v1.1.0.pkl, neutral/model.npz, ...); {HOW_TO_GET}"
    )


def _gender_of(path: Path) -> str | None:
    """The gender a model file's name gives, or None when the name is not a model file's."""
    name = path.name.lower()
    match = re.fullmatch(r"smplh?_(neutral|male|female)\.(pkl|npz)", name)
    if match:
        return match.group(1)
    match = re.fullmatch(r"basic_?model_(neutral|m|f)_lbs_.*\.pkl", name)
    if match:
        return {"neutral": "neutral", "m": "male", "f": "female"}[match.group(1)]
    if name == "model.npz" and path.parent.name.lower() in GENDER_ORDER:
        return path.parent.name.lower()
    return None


def read(path: Path) -> dict[str, np.ndarray]:
    """The model's arrays (sparse matrices made dense), checked to be an SMPL or SMPL+H body."""
    try:
        if path.suffix.lower() == ".npz":
            data = _read_npz(path)
        else:
            with open(path, "rb") as f:
                data = _SafeUnpickler(f, encoding="latin1").load()
    except _Refused as exc:
        raise UserError(f"{path.name} {exc}") from None
    except (
        pickle.UnpicklingError,
        EOFError,
        ValueError,
        TypeError,
        AttributeError,
        zipfile.BadZipFile,
        OSError,
    ) as exc:
        raise UserError(f"{path.name} is not a readable SMPL model file ({type(exc).__name__}: {exc})") from None
    if not isinstance(data, dict):
        raise UserError(f"{path.name} is not an SMPL model file (it holds a {type(data).__name__}, not named arrays)")
    arrays = {str(k): _dense(v) for k, v in data.items()}
    _check(arrays, path.name)
    return arrays


def kind(arrays: dict[str, np.ndarray]) -> str:
    """The smplx model type, "smpl" or "smplh", from the number of joints."""
    return JOINTS[arrays["kintree_table"].shape[1]]


def _read_npz(path: Path) -> dict:
    arrays = {}
    with np.load(path, allow_pickle=False) as data:
        for key in data.files:
            try:
                arrays[key] = data[key]
            except ValueError:  # an object array (AMASS's model.npz has a few we do not need): not unpickled
                continue
    return arrays


def _dense(value):
    if hasattr(value, "toarray"):  # scipy sparse (SMPL's J_regressor)
        return np.asarray(value.toarray())
    return value


def _check(arrays: dict, name: str) -> None:
    missing = [key for key in REQUIRED if not isinstance(arrays.get(key), np.ndarray)]
    if missing:
        raise UserError(f"{name} is not an SMPL model file: it lacks {', '.join(missing)}")
    v, shapedirs, posedirs = arrays["v_template"], arrays["shapedirs"], arrays["posedirs"]
    regressor, weights, kintree, faces = arrays["J_regressor"], arrays["weights"], arrays["kintree_table"], arrays["f"]
    if kintree.ndim != 2 or kintree.shape[0] != 2 or kintree.shape[1] not in JOINTS:
        count = kintree.shape[1] if kintree.ndim == 2 else kintree.shape
        raise UserError(
            f"{name} has {count} joints; SMPL has 24 and SMPL+H 52 (SMPL-X and other bodies are not supported)"
        )
    joints = kintree.shape[1]
    n = len(v)
    shapes_ok = (
        v.ndim == 2
        and v.shape[1] == 3
        and n > 0
        and shapedirs.ndim == 3
        and shapedirs.shape[:2] == (n, 3)
        and posedirs.ndim == 3
        and posedirs.shape == (n, 3, 9 * (joints - 1))
        and regressor.shape == (joints, n)
        and weights.shape == (n, joints)
        and faces.ndim == 2
        and faces.shape[1] == 3
    )
    if not shapes_ok:
        raise UserError(
            f"{name}: the arrays do not fit together (v_template {v.shape}, shapedirs {shapedirs.shape}, "
            f"posedirs {posedirs.shape}, J_regressor {regressor.shape}, weights {weights.shape}, f {faces.shape}); "
            f"expected (N, 3), (N, 3, B), (N, 3, {9 * (joints - 1)}), ({joints}, N), (N, {joints}), (F, 3)"
        )
    for key in REQUIRED:
        if arrays[key].dtype.kind not in "fiu" or not np.isfinite(arrays[key]).all():
            raise UserError(f"{name}: '{key}' must hold finite numbers")
    if faces.size and (faces.min() < 0 or faces.max() >= n):
        raise UserError(f"{name}: faces ('f') name vertices beyond the {n} the model has")
    if (weights.sum(1) <= 0).any():
        raise UserError(f"{name}: some vertices have no skinning weight")
    from motiongen.motion.skeleton import PARENTS

    if tuple(int(p) for p in kintree[0, 1:22]) != PARENTS[1:]:
        raise UserError(f"{name}: its first 22 joints are not SMPL's body skeleton (kintree_table)")


class _SafeUnpickler(pickle.Unpickler):
    """Builds numpy arrays, scipy sparse matrices and plain values; refuses every other global."""

    def find_class(self, module: str, name: str):
        allowed = _allowed()
        if (module, name) in allowed:
            return allowed[(module, name)]
        if module.split(".")[0] == "chumpy":
            raise _Refused(
                "holds chumpy objects; remove them with smplx's tools/clean_ch.py (as smplx's README says), "
                "or use the model's .npz"
            )
        raise _Refused(f"asks to load {module}.{name}, which a model file never needs; it was not loaded")


class _Refused(pickle.UnpicklingError):
    """A global the safe unpickler does not build."""


def _allowed() -> dict[tuple[str, str], object]:
    import scipy.sparse

    reconstruct = np.zeros(1).__reduce__()[0]
    frombuffer = np.zeros(1).__reduce_ex__(5)[0]
    scalar = np.float64(1).__reduce__()[0]
    table = {("numpy", "ndarray"): np.ndarray, ("numpy", "dtype"): np.dtype}
    for core in ("numpy.core", "numpy._core"):
        table[(f"{core}.multiarray", "_reconstruct")] = reconstruct
        table[(f"{core}.multiarray", "scalar")] = scalar
        table[(f"{core}.numeric", "_frombuffer")] = frombuffer
    for fmt in ("csc", "csr", "coo"):
        cls = getattr(scipy.sparse, f"{fmt}_matrix")
        table[(f"scipy.sparse.{fmt}", cls.__name__)] = cls
        table[(f"scipy.sparse._{fmt}", cls.__name__)] = cls
    for module in ("copy_reg", "copyreg"):  # Python 2 pickles name copy_reg
        table[(module, "_reconstructor")] = copyreg._reconstructor
    for module in ("__builtin__", "builtins"):
        table[(module, "object")] = object
    table[("_codecs", "encode")] = codecs.encode  # how Python 3 pickles bytes at protocol 2
    return table
