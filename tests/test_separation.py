"""Two bodies do not pass through each other: the partner is moved apart, smoothly, arms aside."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from motiongen.data.corpus import load_corpus
from motiongen.metrics.duet import penetration
from motiongen.motion.separation import BODY_CAPSULES, push_apart


@pytest.fixture(scope="module")
def walk():
    return next(c.motion for c in load_corpus() if c.name == "walk_forward")


@pytest.mark.parametrize("offset", [[0.0, 0.0, 0.0], [0.15, 0.0, 0.05], [0.0, 0.0, 0.1]])
def test_overlapping_bodies_are_moved_apart_and_only_the_partner_moves(walk, offset):
    partner = replace(walk, root=walk.root + np.array(offset, np.float32))
    before = penetration(walk.positions(), partner.positions(), BODY_CAPSULES)
    assert before.min() > 0.1  # one body inside the other
    moved = push_apart(partner, walk)
    assert penetration(walk.positions(), moved.positions(), BODY_CAPSULES).max() < 1e-3
    np.testing.assert_array_equal(moved.quats, partner.quats)  # the same poses...
    np.testing.assert_array_equal(moved.root[:, 1], partner.root[:, 1])  # ...at the same height
    shift = np.linalg.norm(moved.root[:, [0, 2]] - partner.root[:, [0, 2]], axis=-1)
    assert shift.max() < 0.45 and moved.meta["separation"]["frames_moved"] == len(walk)


def test_bodies_apart_are_left_alone_and_the_shift_eases_in(walk):
    apart = replace(walk, root=walk.root + np.array([1.0, 0.0, 0.0], np.float32))
    same = push_apart(apart, walk)
    np.testing.assert_array_equal(same.root, apart.root)
    # the partner walks into the other person half-way: the push starts before and grows smoothly
    root = apart.root.copy()
    root[:, 0] = np.linspace(1.0, 0.0, len(root))
    crossing = replace(apart, root=root)
    shift = np.linalg.norm(push_apart(crossing, walk).root[:, [0, 2]] - root[:, [0, 2]], axis=-1)
    assert shift[0] == pytest.approx(0.0, abs=1e-3) and shift[-1] > 0.2
    assert np.abs(np.diff(shift, 2)).max() < 0.05  # no jumps


def test_frame_counts_must_match(walk):
    with pytest.raises(ValueError, match="frames"):
        push_apart(walk, walk.positions()[:-1])
