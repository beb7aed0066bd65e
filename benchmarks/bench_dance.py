"""Music-to-dance benchmark on held-out songs and held-out dance takes (docs/dance.md).

    .venv/bin/python benchmarks/bench_dance.py quality --checkpoint checkpoints/dance --out runs/bench_dance.json
    .venv/bin/python benchmarks/bench_dance.py memory --checkpoint checkpoints/dance

quality: beat alignment (BAS, metrics/dance.py) of
  - the model's dance for each held-out song (what `motiongen dance` gives: put on the beats and
    cleaned up),
  - the same dance in the model's own timing (not put on the beats: `on_beat=False`),
  - the same pipeline given another held-out song's music, scored against the song that plays,
  - the held-out real dance takes retimed onto the songs (data/dance_pairs.py: the training recipe),
  - the held-out real dance takes placed at a random offset in the songs, not retimed (baseline);
  PFC of the generated and the real dance; FID_k and FID_g (metrics/dance.py, our kinetic and
  geometric features) of 2-s windows of the generated dances against 2-s windows of the held-out
  real takes, beside the same distance between two halves of the real takes (split by take: the
  floor such small sets give); jitter with and without the retiming; speed in seconds of dance per
  wall-clock second.
memory: peak resident memory of `motiongen dance SONG -o x.npz` for a 30-s and a 5-min song (the
held-out songs joined), each in its own process (GNU time).
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CAPTIONS = ("a person dances salsa", "a person does an indian dance", "a person dances")


def quality(args) -> dict:
    import torch

    from motiongen.conditioning.music import MusicFeatures
    from motiongen.data.corpus import load_corpus
    from motiongen.data.dance_pairs import dance_clips, retime_to_music
    from motiongen.data.music import load_tracks
    from motiongen.metrics.dance import (
        feature_fid,
        geometric_features,
        kinetic_features,
        motion_bas,
        physical_foot_contact,
    )
    from motiongen.metrics.physics import jitter
    from motiongen.pipelines.dance import MusicToDancePipeline

    torch.set_num_threads(args.threads)
    songs = [(t.name, t.features()) for t in load_tracks("test")]
    takes = dance_clips(load_corpus("test", corpus="v2", progress=False))
    rng = random.Random(0)
    frames = int(args.seconds * 20)
    start = int(args.start * 20)

    def cut(song: MusicFeatures) -> MusicFeatures:
        beats = song.beats[(song.beats >= args.start) & (song.beats < args.start + args.seconds)] - args.start
        return MusicFeatures(song.features[start : start + frames], beats, song.tempo, frames / 20)

    pipe = MusicToDancePipeline.from_pretrained(args.checkpoint)
    rows, made, wall = [], 0.0, 0.0
    windows = {"generated": [], "real": []}  # (kinetic, geometric, take) per 2-s window

    def add_windows(kind, positions, group=None):
        for a in range(0, len(positions) - 40 + 1, 40):
            part = positions[a : a + 40]
            windows[kind].append((kinetic_features(part, 20.0), geometric_features(part), group))

    for i, (name, song) in enumerate(songs):
        music = cut(song)
        other_name, other = songs[(i + 1) % len(songs)]
        caption = CAPTIONS[i % len(CAPTIONS)]
        t0 = time.perf_counter()
        dancer = pipe(music, text=caption, num_inference_steps=args.steps, seed=i, progress=False)
        wall += time.perf_counter() - t0
        made += dancer.duration
        wrong = pipe(cut(other), text=caption, num_inference_steps=args.steps, seed=i, progress=False)
        own_timing = pipe(music, text=caption, num_inference_steps=args.steps, seed=i, progress=False, on_beat=False)
        positions = dancer.positions()
        add_windows("generated", positions)
        if args.plot and i == 0:
            plot_on_beat(args.plot, [("model's own timing", own_timing), ("on the beats (what the command writes)", dancer)],
                         music.beats, f"{name}, {caption}")  # fmt: skip
        rows.append({
            "song": name, "tempo": round(song.tempo, 1), "caption": caption, "wrong_song": other_name,
            "bas": motion_bas(positions, 20.0, music.beats),
            "bas_wrong_song": motion_bas(wrong.positions(), 20.0, music.beats),
            "bas_model_timing": motion_bas(own_timing.positions(), 20.0, music.beats),
            "on_beat": dancer.meta["on_beat"],
            "jitter": jitter(positions, 20.0), "jitter_model_timing": jitter(own_timing.positions(), 20.0),
            "pfc": physical_foot_contact(positions, 20.0),
        })  # fmt: skip
    real = {"retimed": [], "random_offset": [], "pfc": []}
    for take in takes:
        motion = take.motion.resampled(20.0)
        real["pfc"].append(physical_foot_contact(motion.positions(), 20.0))
        add_windows("real", motion.positions(), take.name)
        for _, song in songs:
            for _ in range(args.offsets):
                offset = rng.uniform(0, max(song.seconds - motion.duration, 0.0))
                real["random_offset"].append(motion_bas(motion.positions(), 20.0, song.beats, offset))
                done = retime_to_music(motion, song.beats, song.seconds, rng.randrange(len(song.beats) - 2), rng)
                if done is not None:
                    retimed, first = done
                    real["retimed"].append(motion_bas(retimed.positions(), 20.0, song.beats, first / 20))

    def mean(values):
        values = [v for v in values if np.isfinite(v)]
        return {"mean": round(float(np.mean(values)), 4), "n": len(values),
                "ci95": round(float(1.96 * np.std(values) / np.sqrt(max(len(values), 1))), 4)}  # fmt: skip

    def fids(a, b):
        return {"fid_k": round(feature_fid(np.array([w[0] for w in a]), np.array([w[0] for w in b])), 3),
                "fid_g": round(feature_fid(np.array([w[1] for w in a]), np.array([w[1] for w in b])), 3),
                "windows": [len(a), len(b)]}  # fmt: skip

    names = sorted({w[2] for w in windows["real"]})
    first = set(names[::2])
    halves = ([w for w in windows["real"] if w[2] in first], [w for w in windows["real"] if w[2] not in first])
    return {
        "fid_generated_vs_real": fids(windows["real"], windows["generated"]),
        "fid_real_half_vs_half": fids(*halves),
        "checkpoint": str(args.checkpoint), "steps": args.steps, "seconds_per_song": args.seconds,
        "songs": [n for n, _ in songs], "takes": [t.name for t in takes],
        "bas_generated": mean([r["bas"] for r in rows]),
        "bas_generated_wrong_song": mean([r["bas_wrong_song"] for r in rows]),
        "bas_generated_model_timing": mean([r["bas_model_timing"] for r in rows]),
        "beats_moved_onto_music_beats": round(sum(r["on_beat"]["on_beat"] for r in rows)
                                              / max(sum(r["on_beat"]["dance_beats"] for r in rows), 1), 3),
        "jitter_generated": mean([r["jitter"] for r in rows]),
        "jitter_model_timing": mean([r["jitter_model_timing"] for r in rows]),
        "bas_real_retimed": mean(real["retimed"]),
        "bas_real_random_offset": mean(real["random_offset"]),
        "pfc_generated": mean([r["pfc"] for r in rows]),
        "pfc_real": mean(real["pfc"]),
        "dance_seconds_per_wall_second": round(made / wall, 3),
        "per_song": rows,
    }  # fmt: skip


def memory(args) -> dict:
    """Peak RSS of the dance command for a 30-s and a 5-min song."""
    import soundfile

    from motiongen.conditioning.music import SAMPLE_RATE, load_audio
    from motiongen.data.music import load_tracks

    folder = Path(args.work)
    folder.mkdir(parents=True, exist_ok=True)
    rate = SAMPLE_RATE
    song = np.concatenate([load_audio(track.audio_file) for track in load_tracks("test")] * 2)
    out = {}
    for label, seconds in (("30s", 30.0), ("5min", 300.0)):
        path = folder / f"song_{label}.wav"
        soundfile.write(path, song[: int(seconds * rate)], rate)
        command = ["/usr/bin/time", "-v", str(ROOT / ".venv/bin/motiongen"), "dance", str(path), "-o",
                   str(folder / f"dance_{label}.npz"), "--checkpoint", str(args.checkpoint), "--steps",
                   str(args.steps), "--threads", str(args.threads), "--force", "--quiet"]  # fmt: skip
        t0 = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        peak = [line for line in done.stderr.splitlines() if "Maximum resident" in line]
        out[label] = {"seconds": seconds, "wall_s": round(wall, 1), "rc": done.returncode,
                      "peak_rss_mb": round(int(peak[0].split()[-1]) / 1024, 1) if peak else None}  # fmt: skip
    out["ratio_5min_to_30s"] = round(out["5min"]["peak_rss_mb"] / out["30s"]["peak_rss_mb"], 3)
    return out


def plot_on_beat(path: Path, dances, music_beats, title: str, seconds: float = 8.0) -> None:
    """The body's speed (mean joint speed, smoothed as for beat finding) over the first `seconds`
    of each dance, one panel each: music beats as grey lines, the dance's kinematic beats as dots."""
    from PIL import Image, ImageDraw
    from scipy.ndimage import gaussian_filter1d

    from motiongen.metrics.dance import BEAT_SMOOTHING_S, joint_speed, kinematic_beats, motion_bas

    width, panel, margin = 1200, 170, 40
    image = Image.new("RGB", (width, 30 + panel * len(dances)), "white")
    draw = ImageDraw.Draw(image)
    draw.text((margin, 8), title, fill="black")
    x = lambda t: margin + (width - 2 * margin) * t / seconds  # noqa: E731
    for k, (label, motion) in enumerate(dances):
        top = 30 + k * panel
        frames = int(seconds * motion.fps)
        speed = gaussian_filter1d(joint_speed(motion.positions(), motion.fps), BEAT_SMOOTHING_S * motion.fps)[:frames]
        y = lambda v: top + panel - 25 - (panel - 50) * v / max(speed.max(), 1e-6)  # noqa: E731, B023
        for b in music_beats[music_beats < seconds]:
            draw.line([(x(b), top + 18), (x(b), top + panel - 20)], fill=(190, 190, 190), width=2)
        draw.line([(x(f / motion.fps), y(v)) for f, v in enumerate(speed)], fill=(40, 110, 200), width=2)
        beats = kinematic_beats(motion.positions(), motion.fps)
        for f in beats[beats < frames]:
            cx, cy = x(f / motion.fps), y(speed[f])
            draw.ellipse([cx - 5, cy - 5, cx + 5, cy + 5], fill=(230, 97, 40))
        bas = motion_bas(motion.positions(), motion.fps, music_beats)
        draw.text(
            (margin, top + 2), f"{label}: BAS {bas:.2f} (grey: music beats; orange: the body's pauses)", fill="black"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("part", choices=("quality", "memory"))
    parser.add_argument("--checkpoint", type=Path, default=ROOT / "checkpoints" / "dance")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=20.0, help="quality: seconds danced per song")
    parser.add_argument("--start", type=float, default=10.0, help="quality: where in each song")
    parser.add_argument("--offsets", type=int, default=3, help="quality: offsets per real take and song")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--work", type=Path, default=ROOT / "data" / "cache" / "bench_dance")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument(
        "--plot", type=Path, default=None, help="quality: picture of the first song's dance on its beats"
    )
    args = parser.parse_args()
    result = quality(args) if args.part == "quality" else memory(args)
    text = json.dumps(result, indent=1)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
