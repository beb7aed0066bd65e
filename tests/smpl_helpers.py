"""A small synthetic body in SMPL's model-file format (SMPL's own files are licensed, never shipped).

24 joints with SMPL's parents, placed like our skeleton but 5% smaller (so the body's bones are
not ours); around each joint a small octahedron (6 vertices, 8 faces). The joint regressor
averages each joint's octahedron, so at rest the joints are exactly the octahedra centres. Each
vertex follows its own joint and partly its parent, except the right wrist's, which follow the
right wrist only and have no pose corrections (posedirs zero), so they move exactly with it.
Written as SMPL writes its .pkl (a Python 2 era pickle, J_regressor a scipy sparse matrix), or
as .npz.
"""

import pickle

import numpy as np
import scipy.sparse

from motiongen.motion.skeleton import JOINT_INDEX, PARENTS, rest_positions

SMPL_PARENTS = (*PARENTS, 20, 21)  # joints 22 and 23: the hands, below the wrists
# SMPL+H: 15 finger joints per hand instead, five fingers of three joints from each wrist
SMPLH_PARENTS = (
    *PARENTS,
    *[
        p
        for wrist in (20, 21)
        for f in range(5)
        for p in (wrist, 22 + 15 * (wrist - 20) + 3 * f, 23 + 15 * (wrist - 20) + 3 * f)
    ],
)
RIGHT_WRIST = JOINT_INDEX["right_wrist"]
PER_JOINT = 6
OCTAHEDRON = np.array([[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1]], np.float64)
OCTAHEDRON_FACES = np.array([[0, 2, 4], [2, 1, 4], [1, 3, 4], [3, 0, 4], [2, 0, 5], [1, 2, 5], [3, 1, 5], [0, 3, 5]])


def synthetic_smpl(seed: int = 0, hands: bool = False) -> dict:
    """SMPL's 24 joints, or with `hands` SMPL+H's 52."""
    rng = np.random.default_rng(seed)
    ours = rest_positions().astype(np.float64) * 0.95
    parents = SMPLH_PARENTS if hands else SMPL_PARENTS
    centres = list(ours)
    for j in range(22, len(parents)):  # hands and finger joints: 3 cm further out than their parent
        side = 1.0 if (j - 22) < (len(parents) - 22) // 2 else -1.0
        centres.append(centres[parents[j]] + [0.03 * side, 0.0, 0.01 * ((j - 22) % 5)])
    centres = np.array(centres)
    count = len(centres)
    v_template = (centres[:, None] + 0.04 * OCTAHEDRON[None]).reshape(-1, 3)
    n = len(v_template)
    owner = np.repeat(np.arange(count), PER_JOINT)
    regressor = np.zeros((count, n))
    regressor[owner, np.arange(n)] = 1.0 / PER_JOINT
    weights = np.zeros((n, count))
    own = rng.uniform(0.6, 1.0, n)
    weights[np.arange(n), owner] = own
    parent = np.array([max(parents[j], 0) for j in owner])
    weights[np.arange(n), parent] += 1 - own
    wrist = owner == RIGHT_WRIST
    weights[wrist] = 0.0
    weights[wrist, RIGHT_WRIST] = 1.0
    posedirs = rng.normal(size=(n, 3, 9 * (count - 1))) * 0.002
    posedirs[wrist] = 0.0
    kintree = np.array([[4294967295, *parents[1:]], list(range(count))], np.int64)
    faces = np.concatenate([OCTAHEDRON_FACES + PER_JOINT * j for j in range(count)]).astype(np.uint32)
    return dict(
        v_template=v_template,
        shapedirs=rng.normal(size=(n, 3, 10)) * 0.01,
        posedirs=posedirs,
        J_regressor=regressor,
        weights=weights,
        kintree_table=kintree,
        f=faces,
        bs_style="lbs",
        bs_type="lrotmin",
    )


def write_model(path, model: dict | None = None):
    """Write the model as SMPL does (.pkl, sparse regressor) or as .npz, by the suffix of `path`."""
    model = dict(synthetic_smpl() if model is None else model)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".npz":
        np.savez(path, **model)
    else:
        model["J_regressor"] = scipy.sparse.csc_matrix(model["J_regressor"])
        with open(path, "wb") as f:
            pickle.dump(model, f, protocol=2)
    return path


def right_wrist_vertices() -> np.ndarray:
    return np.arange(RIGHT_WRIST * PER_JOINT, (RIGHT_WRIST + 1) * PER_JOINT)
