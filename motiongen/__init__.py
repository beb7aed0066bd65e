"""motiongen: human motion generation from text, music, partial motion, video and partners."""

__version__ = "0.1.0"
