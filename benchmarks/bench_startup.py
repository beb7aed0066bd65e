"""Start-up time of the command line, as a user sees it: the wall time of whole commands, each run
N times in a fresh process, median (and the CPU time the process used, user + system, which
depends less on what else the machine is doing).

    .venv/bin/python benchmarks/bench_startup.py [--repeats 5] [--json out.json]

Commands: `motiongen --help` and `motiongen generate "a person walks" -o a.bvh --quiet` (a 4-s
clip with the default checkpoint and settings; --force so every run writes). They run in a
temporary folder with the `motiongen` script beside this interpreter.

The floors are bare imports in a fresh interpreter: what any command that samples a model pays
before it does anything (torch; diffusers' ModelMixin, which every model is built on; the text
pipeline module with everything it imports).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

COMMANDS = {
    "help": ["--help"],
    "generate": ["generate", "a person walks", "-o", "a.bvh", "--quiet", "--force"],
}
FLOORS = {
    "import torch": "import torch",
    "import ModelMixin": "import diffusers.models.modeling_utils",
    "import pipeline": "import motiongen.pipelines.text2motion",
}


def run_once(command: list[str], folder: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    result = subprocess.run(command, cwd=folder, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({result.returncode}):\n{result.stderr[-2000:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--commands", nargs="+", default=list(COMMANDS), choices=list(COMMANDS))
    parser.add_argument("--floors", action="store_true", help="Also time the bare imports (FLOORS).")
    parser.add_argument("--script", type=Path, default=Path(sys.executable).with_name("motiongen"))
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    results = {"load_average": os.getloadavg(), "repeats": args.repeats}
    jobs = [(name, [str(args.script), *COMMANDS[name]]) for name in args.commands]
    if args.floors:
        jobs += [(name, [sys.executable, "-c", code]) for name, code in FLOORS.items()]
    with tempfile.TemporaryDirectory() as folder:
        for name, command in jobs:
            runs = [run_once(command, Path(folder)) for _ in range(args.repeats)]
            wall, cpu = zip(*runs, strict=True)
            results[name] = {"median_wall_s": statistics.median(wall), "median_cpu_s": statistics.median(cpu),
                             "wall_s": wall, "cpu_s": cpu}  # fmt: skip
            print(f"{name:<17} wall median {statistics.median(wall):6.2f} s   cpu median {statistics.median(cpu):6.2f} s"
                  f"   (walls {', '.join(f'{w:.2f}' for w in wall)})", flush=True)  # fmt: skip
    results["load_average_after"] = os.getloadavg()
    print(f"load average before {results['load_average'][0]:.1f}, after {results['load_average_after'][0]:.1f}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
