"""Skeleton video rendering: files decode back, people are told apart, the picture is the right way round."""

from __future__ import annotations

import imageio_ffmpeg
import numpy as np
import pytest
from motion_samples import synthetic_walk, t_pose
from PIL import Image

from motiongen.errors import UserError
from motiongen.io import save_motion
from motiongen.motion.motion import Motion
from motiongen.render.figures import person_colours
from motiongen.render.video import render_frame, render_frames, write

SMALL = (320, 240)


def colour_mask(image: np.ndarray, colour, tolerance: int = 12) -> np.ndarray:
    return (np.abs(image.astype(int) - np.array(colour)) <= tolerance).all(-1)


def centroid_x(mask: np.ndarray) -> float:
    return float(np.nonzero(mask)[1].mean())


def decode_mp4(path):
    reader = imageio_ffmpeg.read_frames(str(path))
    meta = reader.__next__()
    width, height = meta["size"]
    frames = [np.frombuffer(f, np.uint8).reshape(height, width, 3) for f in reader]
    return meta, frames


def test_mp4_decodes_with_frame_count_size_and_picture(tmp_path):
    walk = synthetic_walk(frames=12)
    path = save_motion(walk, tmp_path / "walk.mp4", progress=False, size=SMALL)  # atomic path, like the CLI
    meta, frames = decode_mp4(path)
    assert len(frames) == 12
    assert meta["size"] == SMALL
    assert meta["fps"] == pytest.approx(20.0)
    # Same picture as rendered (colour order, orientation), up to compression.
    expected = render_frame(walk, 5, size=SMALL).astype(float)
    assert np.abs(frames[5].astype(float) - expected).mean() < 4.0


def test_gif_has_every_frame_at_the_clip_rate(tmp_path):
    path = tmp_path / "walk.gif"
    write(synthetic_walk(frames=8), path, progress=False, size=SMALL)
    with Image.open(path) as gif:
        assert gif.size == SMALL
        assert gif.n_frames == 8
        assert gif.info["duration"] == pytest.approx(50, abs=1)  # 20 fps


def test_two_people_get_distinct_colours_in_their_places():
    # Person 2 stands 1.5 m to the first one's left (+X), which the front view shows on the right.
    image = render_frame([t_pose(), t_pose(x=1.5)], 0)
    first = colour_mask(image, person_colours(0)["centre"])
    second = colour_mask(image, person_colours(1)["centre"])
    assert first.sum() > 100 and second.sum() > 100
    assert person_colours(0)["centre"] != person_colours(1)["centre"]
    assert centroid_x(second) > centroid_x(first) + 50


def test_left_limbs_appear_on_the_right_of_the_picture_and_body_is_upright():
    # The camera is in front of the T-posed person, so its left (+X, lighter shade) is on the image's right.
    image = render_frame(t_pose(), 0)
    colours = person_colours(0)
    left, right, centre = (colour_mask(image, colours[k]) for k in ("left", "right", "centre"))
    assert left.sum() > 100 and right.sum() > 100
    assert centroid_x(left) > centroid_x(right) + 50
    # Upright: spine and head (centre colour) sit above the average limb pixel (legs reach the floor).
    limbs = left | right
    assert np.nonzero(centre)[0].mean() < np.nonzero(limbs)[0].mean()


def test_whole_figure_stays_in_the_picture_while_walking():
    walk = synthetic_walk(frames=60, heading=np.pi / 2, speed=1.5)  # 4.5 m along +X
    height, width = 480, 640
    for image in (render_frame(walk, 0), render_frame(walk, 59)):
        body = np.zeros((height, width), bool)
        for colour in person_colours(0).values():
            body |= colour_mask(image, colour)
        rows, cols = np.nonzero(body)
        assert rows.min() > 5 and rows.max() < height - 5 and cols.min() > 5 and cols.max() < width - 5
        assert 0.3 * height < rows.max() - rows.min() < 0.9 * height


def test_trace_lies_behind_a_figure_moving_to_the_right():
    # Facing +Z (the camera) while side-stepping towards +X, its left: to the right of the picture.
    walk = synthetic_walk(frames=40)
    walk.root[:, 0], walk.root[:, 2] = np.linspace(0.0, 2.0, 40), 0.0
    plain = render_frame(walk, 39).astype(int)
    traced = render_frame(walk, 39, trace=True).astype(int)
    trace = np.abs(traced - plain).sum(-1) > 30
    body = colour_mask(plain.astype(np.uint8), person_colours(0)["centre"])
    assert trace.sum() > 50
    assert centroid_x(trace) < centroid_x(body) - 30


def test_shorter_clip_holds_its_last_pose():
    long_walk = synthetic_walk(frames=20)
    short = synthetic_walk(frames=8, start=(1.5, 0.0))
    held = Motion(
        np.concatenate([short.quats, np.repeat(short.quats[-1:], 12, 0)]),
        np.concatenate([short.root, np.repeat(short.root[-1:], 12, 0)]),
        short.fps,
    )
    frames = list(render_frames([long_walk, short], size=SMALL))
    assert len(frames) == 20
    np.testing.assert_array_equal(frames[15], render_frame([long_walk, held], 15, size=SMALL))


def test_other_frame_rates_are_resampled_to_the_video_rate():
    fast = synthetic_walk(frames=41, fps=40.0)  # 1 s at 40 fps
    frames = list(render_frames([synthetic_walk(frames=10), fast], size=SMALL))  # video at the first clip's 20 fps
    assert len(frames) == len(fast.resampled(20.0)) == 21
    assert len(list(render_frames(fast, fps=10.0, size=SMALL))) == 11


def test_rendering_is_deterministic():
    walk = synthetic_walk(frames=6, caption="a person walks forward")
    first = np.stack(list(render_frames(walk, trace=True, size=SMALL)))
    second = np.stack(list(render_frames(walk, trace=True, size=SMALL)))
    np.testing.assert_array_equal(first, second)
    assert not np.array_equal(first[0], first[-1])  # it does move


def test_bad_requests_are_user_errors(tmp_path):
    walk = synthetic_walk(frames=4)
    with pytest.raises(UserError, match="mp4 or .gif"):
        write(walk, tmp_path / "walk.avi", progress=False)
    with pytest.raises(UserError, match="even"):
        write(walk, tmp_path / "walk.mp4", progress=False, size=(321, 240))
    with pytest.raises(UserError, match="no motions"):
        write([], tmp_path / "walk.mp4", progress=False)
    with pytest.raises(UserError, match="frame rate"):
        write(walk, tmp_path / "walk.mp4", progress=False, fps=-5)
    assert not list(tmp_path.iterdir())


def test_film_strip_holds_evenly_spaced_frames_of_the_clip(tmp_path):
    from motiongen.render.strip import GAP, render_strip, strip_indices

    assert strip_indices(41, 5).tolist() == [0, 10, 20, 30, 40]
    assert strip_indices(3, 6).tolist() == [0, 1, 2]  # a short clip gives fewer frames, none repeated
    walk = synthetic_walk(frames=41)
    path = save_motion(walk, tmp_path / "walk.png", frames=5, size=SMALL)
    strip = np.asarray(Image.open(path).convert("RGB"))
    assert strip.shape == (SMALL[1], 5 * SMALL[0] + 4 * GAP, 3)
    for k, index in enumerate([0, 20, 40]):
        left = [0, 2, 4][k] * (SMALL[0] + GAP)
        frame = render_frame(walk, index, trace=True, size=SMALL)
        np.testing.assert_array_equal(strip[:, left : left + SMALL[0]], frame)
    assert (strip[:, SMALL[0] : SMALL[0] + GAP] == 255).all()
    with pytest.raises(UserError, match="at least one frame"):
        render_strip(walk, count=0)


def test_hand_contact_rings_mark_hands_held_by_two_people():
    from motiongen.render.figures import CONTACT_COLOUR, held_hands
    from motiongen.render.video import render_frame

    a = Motion.rest(4)
    hands = a.positions()[0][[20, 21]]  # left and right wrist
    offset = hands[0] - hands[1] + np.array([0.05, 0.0, 0.0])  # b's right wrist 5 cm beside a's left
    b = Motion(a.quats, a.root + offset.astype(np.float32))
    points = held_hands(np.stack([a.positions()[0], b.positions()[0]]))
    assert len(points) == 1
    np.testing.assert_allclose(points[0], hands[0] + [0.025, 0.0, 0.0], atol=1e-5)
    far = Motion(a.quats, a.root + np.array([2.0, 0.0, 0.0], np.float32))
    assert held_hands(np.stack([a.positions()[0], far.positions()[0]])) == []

    def ring_pixels(image):
        return int((np.abs(image.astype(int) - CONTACT_COLOUR[:3]).sum(-1) < 60).sum())

    assert ring_pixels(render_frame([a, b], hand_contacts=True)) > 20
    assert ring_pixels(render_frame([a, b])) == 0
    assert ring_pixels(render_frame([a, far], hand_contacts=True)) == 0
