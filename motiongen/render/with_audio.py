"""Put a song's audio into a rendered MP4, in sync: the part of the song from `start` for the
video's length, muxed by imageio-ffmpeg's ffmpeg binary (video copied, audio encoded as AAC)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from motiongen.errors import UserError


def mux_audio(video: str | Path, audio: str | Path, output: str | Path, start: float = 0.0,
              seconds: float | None = None) -> Path:  # fmt: skip
    """Write `output`: `video`'s frames with `audio` from `start` (s) for `seconds` (s)."""
    import imageio_ffmpeg

    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error", "-i", str(video),
               "-ss", f"{start:.3f}"]  # fmt: skip
    if seconds is not None:
        command += ["-t", f"{seconds:.3f}"]
    command += ["-i", str(audio), "-map", "0:v:0", "-map", "1:a:0", "-c:v", "copy", "-c:a", "aac", "-b:a", "128k",
                "-shortest", "-f", "mp4", str(output)]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["unknown error"])[-1]
        raise UserError(f"cannot add the audio of {Path(audio).name} to the video: {last}")
    return Path(output)
