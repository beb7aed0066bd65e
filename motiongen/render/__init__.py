"""Rendering. `video.py`: skeleton videos (.mp4 / .gif) and single frames; `camera.py`: the
following camera; `ground.py`: the floor; `figures.py`: how people are drawn."""
