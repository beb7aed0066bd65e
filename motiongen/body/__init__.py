"""Bodies that follow a motion: SMPL / SMPL+H through smplx from the user's own model files."""
