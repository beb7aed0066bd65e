"""The music cache: real, freely licensed tracks analysed once (`motiongen data music --source DIR`).

The tracks come from Debian game packages (data/SOURCES.md lists package, version, files and
licence). The audio is never committed: the data step reads it from the folder the packages were
unpacked into, copies each track into the git-ignored `data/cache/music/audio/` (so benchmarks can
play it again) and writes its features (conditioning/music.py) to `data/cache/music/<track>.npz`,
with `index.json` naming every track, its split, tempo and length.

Held-out songs (`TEST_TRACKS`): one or two per package; they are never used for training pairs.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from motiongen.errors import UserError
from motiongen.paths import ROOT

CACHE_DIR = ROOT / "data" / "cache" / "music"
MIN_TRACK_SECONDS = 20.0  # shorter files are jingles and sound effects, not songs
# The tracks of data/SOURCES.md ("Music") by file stem, and which of them are held out.
TRACKS = {
    "neverball-common": ("track1", "track2", "track3", "track4", "track5", "track6", "title"),
    "torus-trooper-data": ("tt1", "tt2", "tt3", "tt4"),
    "gunroar-data": ("gr0", "gr1", "gr2", "gr3"),
    "tumiki-fighters-data": (
        "here_comes_a_gigantic_toy",
        "battle_over_the_junk_city",
        "we_are_tumiki_fighters",
        "just_over_the_horizon",
        "panic_on_meadow",
    ),  # fmt: skip
    "parsec47-data": ("ptn0", "ptn1", "ptn2", "ptn3"),
    "titanion-data": ("ttn1", "ttn2", "ttn3"),
    "funnyboat": ("JDruid-Trip_on_the_Funny_Boat",),
}
TEST_TRACKS = {"track5", "tt4", "gr3", "just_over_the_horizon", "ttn3", "JDruid-Trip_on_the_Funny_Boat"}


@dataclass
class Track:
    name: str
    package: str
    split: str
    tempo: float
    seconds: float
    features_file: Path
    audio_file: Path

    def features(self):
        from motiongen.conditioning.music import MusicFeatures

        return MusicFeatures.load(self.features_file)


def find_tracks(source: Path) -> dict[str, Path]:
    """Track name -> audio file, for the tracks of TRACKS found anywhere under `source`."""
    wanted = {stem: package for package, stems in TRACKS.items() for stem in stems}
    found = {}
    for path in sorted(Path(source).rglob("*.ogg")):
        if path.stem in wanted and path.stem not in found:
            found[path.stem] = path
    return found


def build_music_cache(source: str | Path, output: str | Path = CACHE_DIR, progress: bool = True) -> Path:
    """Analyse the tracks under `source` into `output` (features, a copy of the audio, index.json)."""
    from tqdm import tqdm

    from motiongen.conditioning.music import music_features

    source = Path(source)
    if not source.is_dir():
        raise UserError(f"--source {source} is not a folder (unpack the music packages there: see data/SOURCES.md)")
    found = find_tracks(source)
    if not found:
        raise UserError(f"no known music track under {source} (see data/SOURCES.md for the packages and files)")
    output = Path(output)
    (output / "audio").mkdir(parents=True, exist_ok=True)
    package_of = {stem: package for package, stems in TRACKS.items() for stem in stems}
    entries = []
    for name, path in tqdm(sorted(found.items()), desc="music", disable=not progress):
        analysis = music_features(path)
        if analysis.seconds < MIN_TRACK_SECONDS:
            continue
        analysis.save(output / f"{name}.npz")
        audio = output / "audio" / path.name
        if not audio.exists():
            shutil.copyfile(path, audio)
        entries.append({
            "name": name, "package": package_of[name], "split": "test" if name in TEST_TRACKS else "train",
            "tempo": round(analysis.tempo, 2), "seconds": round(analysis.seconds, 2),
            "features": f"{name}.npz", "audio": f"audio/{path.name}",
        })  # fmt: skip
    (output / "index.json").write_text(json.dumps({"tracks": entries}, indent=1) + "\n", encoding="utf-8")
    return output


def load_tracks(split: str | None = None, folder: str | Path = CACHE_DIR) -> list[Track]:
    """The cached tracks of one split ("train" / "test") or all."""
    folder = Path(folder)
    index = folder / "index.json"
    if not index.exists():
        raise UserError(
            f"no music cache at {folder}; unpack the packages of data/SOURCES.md (Music) and run "
            "`motiongen data music --source DIR`"
        )
    tracks = []
    for e in json.loads(index.read_text(encoding="utf-8"))["tracks"]:
        if split is None or e["split"] == split:
            tracks.append(Track(e["name"], e["package"], e["split"], e["tempo"], e["seconds"],
                                folder / e["features"], folder / e["audio"]))  # fmt: skip
    return tracks
