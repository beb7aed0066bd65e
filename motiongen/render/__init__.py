"""Rendering. `video.py`: skeleton videos (.mp4 / .gif) and single frames; `strip.py`: film
strips (.png, a few frames side by side); `camera.py`: the
following camera; `ground.py`: the floor; `figures.py`: how people are drawn."""
