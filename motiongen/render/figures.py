"""How a skeleton is drawn: colours per person and side, bone and joint sizes, draw order.

The part of the picture around the people is drawn at SUPERSAMPLE times the output size and
box-downsampled afterwards, which gives smooth (anti-aliased) edges with Pillow's plain line and
ellipse drawing.
"""

from __future__ import annotations

from functools import cache

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from motiongen.motion.skeleton import JOINT_INDEX, JOINT_NAMES, PARENTS
from motiongen.render.camera import Camera

SUPERSAMPLE = 2
BONE_RADIUS = 0.03  # metres
JOINT_RADIUS = 0.04
HEAD_RADIUS = 0.11
SHADOW_ALPHA = 0.28
TRACE_ALPHA = 170
CONTACT_RADIUS = 0.07  # metres: the ring drawn round two hands that hold each other
CONTACT_COLOUR = (255, 196, 0, 230)
SHADOW_SLANT = (0.35, 0.2)  # horizontal shadow offset per metre of height: away from the camera, to its right

# One base colour per person (cycled); left limbs are drawn lighter, right limbs darker.
PALETTE = [
    (230, 97, 40),  # orange
    (40, 110, 200),  # blue
    (40, 160, 90),  # green
    (150, 70, 190),  # purple
    (200, 50, 80),  # crimson
    (30, 160, 170),  # teal
]

HEAD, NECK = JOINT_INDEX["head"], JOINT_INDEX["neck"]
BONES = [(PARENTS[j], j) for j in range(1, len(PARENTS))]
WRISTS = [JOINT_INDEX["left_wrist"], JOINT_INDEX["right_wrist"]]


def _side(joint: int) -> str:
    name = JOINT_NAMES[joint]
    return "left" if name.startswith("left_") else "right" if name.startswith("right_") else "centre"


def _shade(colour, amount: float) -> tuple[int, int, int]:
    """amount > 0 mixes towards white, < 0 towards black."""
    c = np.array(colour, np.float32)
    target = 255.0 if amount > 0 else 0.0
    return tuple(int(round(x)) for x in c + (target - c) * abs(amount))


@cache
def person_colours(person: int) -> dict[str, tuple[int, int, int]]:
    base = PALETTE[person % len(PALETTE)]
    return {"centre": base, "left": _shade(base, 0.35), "right": _shade(base, -0.25), "joint": _shade(base, -0.5)}


def shadow_points(camera: Camera, joints: np.ndarray) -> np.ndarray:
    """Joints flattened onto the floor along the light: high above and behind the camera's left shoulder."""
    forward, right = camera.rotation[2].copy(), camera.rotation[0].copy()
    forward[1] = right[1] = 0.0
    forward /= np.linalg.norm(forward)
    flat = joints + joints[..., 1:2] * (SHADOW_SLANT[0] * forward + SHADOW_SLANT[1] * right)
    flat[..., 1] = 0.0
    return flat


def drawing_box(camera: Camera, frame: int, joints: np.ndarray, traces: np.ndarray | None) -> tuple[int, ...]:
    """(left, top, right, bottom) output pixels that `draw_people` may touch, clipped to the picture.

    Only this part of the picture is supersampled, which saves most of the work of a full-size canvas.
    """
    points = [joints.reshape(-1, 3), shadow_points(camera, joints).reshape(-1, 3)]
    xy, depth = camera.project(np.concatenate(points), frame)
    pieces = [xy]
    if traces is not None:
        for path in traces:
            pieces += camera.project_path(path, frame)
    xy = np.concatenate(pieces)
    margin = 2 * HEAD_RADIUS * camera.focal / depth.min() + 4  # heads, bone widths, shadow blur
    width, height = camera.size
    left, top = np.clip(np.floor(xy.min(0) - margin), 0, [width, height]).astype(int)
    right, bottom = np.clip(np.ceil(xy.max(0) + margin), 0, [width, height]).astype(int)
    return int(left), int(top), int(right), int(bottom)


def draw_people(
    canvas: Image.Image,
    origin: tuple[int, int],
    camera: Camera,
    frame: int,
    joints: np.ndarray,
    traces: np.ndarray | None = None,
    hand_contacts: bool = False,
) -> None:
    """Draw everyone's shadow, optional root trace and skeleton onto `canvas`, and with
    `hand_contacts` a ring where two people's hands meet.

    canvas: RGB, SUPERSAMPLE times the size of the picture region whose top-left pixel is `origin`.
    joints: (people, 22, 3) positions at this frame. traces: (people, frames_so_far, 3) root paths on the floor.
    """
    s = SUPERSAMPLE
    shift = np.asarray(origin, np.float64)

    def to_canvas(xy: np.ndarray) -> np.ndarray:
        return (xy - shift) * s

    draw = ImageDraw.Draw(canvas, "RGBA")
    scale = camera.focal * s
    _draw_shadows(canvas, to_canvas, camera, frame, joints)

    if traces is not None:
        for p, path in enumerate(traces):
            if len(path) < 2:
                continue
            _, depth = camera.project(path[-1], frame)
            width = max(1, round(0.025 * scale / depth))
            colour = person_colours(p)["centre"] + (TRACE_ALPHA,)
            for piece in camera.project_path(path, frame):
                draw.line([tuple(q) for q in to_canvas(piece)], fill=colour, width=width, joint="curve")

    # Bones and joints of all people, far to near, so nearer limbs cover farther ones.
    xy, depth = camera.project(joints, frame)
    xy = to_canvas(xy)
    items = []  # (depth, kind, person, index)
    for p in range(len(joints)):
        for a, b in BONES:
            items.append((depth[p, [a, b]].mean(), 0, p, (a, b)))
        for j in range(len(PARENTS)):
            items.append((depth[p, j] - 1e-3, 1, p, j))
    items.sort(key=lambda item: -item[0])
    for d, kind, p, index in items:
        colours = person_colours(p)
        if kind == 0:
            a, b = index
            width = max(1, round(2 * BONE_RADIUS * scale / d))
            draw.line([tuple(xy[p, a]), tuple(xy[p, b])], fill=colours[_side(b)], width=width)
        elif index == HEAD:
            # The head joint sits at the base of the skull; the circle is centred a little above it.
            centre, head_depth = camera.project(joints[p, HEAD] + 0.5 * (joints[p, HEAD] - joints[p, NECK]), frame)
            (cx, cy), r = to_canvas(centre), HEAD_RADIUS * scale / head_depth
            box = [cx - r, cy - r, cx + r, cy + r]
            draw.ellipse(box, fill=colours["centre"], outline=colours["joint"], width=max(1, round(r / 6)))
        else:
            r = JOINT_RADIUS * scale / d
            x, y = xy[p, index]
            draw.ellipse([x - r, y - r, x + r, y + r], fill=colours["joint"])
    if hand_contacts:
        for point in held_hands(joints):
            (cx, cy), d = camera.project(point, frame)
            (cx, cy), r = to_canvas(np.array([cx, cy])), CONTACT_RADIUS * scale / d
            draw.ellipse([cx - r, cy - r, cx + r, cy + r], outline=CONTACT_COLOUR, width=max(1, round(r / 4)))


def held_hands(joints: np.ndarray) -> list[np.ndarray]:
    """Midpoints of every pair of wrists of two different people closer than HOLD_DISTANCE
    (joints: (people, 22, 3) at one frame)."""
    from motiongen.metrics.duet import HOLD_DISTANCE

    wrists = joints[:, WRISTS]  # (people, 2, 3)
    points = []
    for p in range(len(joints)):
        for q in range(p + 1, len(joints)):
            for a in wrists[p]:
                for b in wrists[q]:
                    if np.linalg.norm(a - b) < HOLD_DISTANCE:
                        points.append((a + b) / 2)
    return points


def _draw_shadows(canvas: Image.Image, to_canvas, camera: Camera, frame: int, joints: np.ndarray) -> None:
    """Soft shadows: the skeleton flattened onto the floor, drawn into one mask (so overlapping bones do
    not darken twice), blurred and used to darken the floor."""
    s = SUPERSAMPLE
    xy, depth = camera.project(shadow_points(camera, joints), frame)
    xy = to_canvas(xy)
    widths = 2 * BONE_RADIUS * 1.5 * camera.focal * s / depth
    blur = float(max(1.0, 0.03 * camera.focal * s / depth.mean()))

    # Work on the shadow's bounding box only: blurring and blending a larger area is slow.
    pad = widths.max() + 3 * blur
    left, top = np.floor(xy.reshape(-1, 2).min(0) - pad).astype(int)
    right, bottom = np.ceil(xy.reshape(-1, 2).max(0) + pad).astype(int)
    left, top = max(left, 0), max(top, 0)
    right, bottom = min(right, canvas.width), min(bottom, canvas.height)
    if right <= left or bottom <= top:
        return
    mask = Image.new("L", (right - left, bottom - top), 0)
    draw = ImageDraw.Draw(mask)
    xy = xy - [left, top]
    for p in range(len(joints)):
        for a, b in BONES:
            width = (widths[p, a] + widths[p, b]) / 2
            draw.line([tuple(xy[p, a]), tuple(xy[p, b])], fill=255, width=max(1, round(width)))
        for j in range(len(PARENTS)):
            r = widths[p, j] / 2
            draw.ellipse([xy[p, j, 0] - r, xy[p, j, 1] - r, xy[p, j, 0] + r, xy[p, j, 1] + r], fill=255)
    mask = mask.filter(ImageFilter.GaussianBlur(blur)).point(lambda v: int(v * SHADOW_ALPHA))
    canvas.paste((0, 0, 0), (left, top, right, bottom), mask)
