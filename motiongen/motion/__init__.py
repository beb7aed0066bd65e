"""Motion core: skeleton, rotations, kinematics, features, contacts."""

from motiongen.motion.motion import DEFAULT_FPS, Motion, concatenate

__all__ = ["DEFAULT_FPS", "Motion", "concatenate"]
