"""Fuzz every reader with many mutated files (by hand; CI runs a few hundred per reader).

    .venv/bin/python benchmarks/fuzz_readers.py                 # 10,000 cases per reader
    .venv/bin/python benchmarks/fuzz_readers.py -n 500 -r bvh   # fewer, one reader

Prints every case where something other than UserError escaped, a reader allocated more than a
bounded multiple of its file, or accepted non-finite values, then a table of counts per reader.
Exit code 1 if any reader failed.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from fuzz_helpers import READERS, check_reader, mutations, seed_files  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


def fuzz(name: str, examples: int, seeds: dict, folder: Path) -> tuple[int, list[str]]:
    seed_key, read = READERS()[name]
    data = seeds[seed_key].read_bytes()
    target = folder / f"{name}{seeds[seed_key].suffix}"
    problems: list[str] = []
    count = 0

    @settings(max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(st.data())
    def case(draw):
        nonlocal count
        count += 1
        mutated = draw.draw(mutations(data))
        problem = check_reader(read, target, mutated)
        if problem is not None:  # record and go on, so one run shows every kind of failure
            problems.append(f"{problem}  (input {mutated[:120]!r}...)")

    case()
    return count, problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--examples", type=int, default=10_000, help="cases per reader")
    parser.add_argument("-r", "--reader", action="append", choices=sorted(READERS()), help="only these readers")
    args = parser.parse_args()
    failed = False
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        seeds = seed_files(Path(tmp) / "seeds")
        for name in args.reader or sorted(READERS()):
            start = time.perf_counter()
            count, problems = fuzz(name, args.examples, seeds, Path(tmp))
            seconds = time.perf_counter() - start
            for line in dict.fromkeys(problems):
                print(f"{name}: {line}")
            failed |= bool(problems)
            rows.append((name, count, len(problems), seconds))
    print(f"\n{'reader':<20} {'cases':>7} {'escaped':>8} {'seconds':>8}")
    for name, count, bad, seconds in rows:
        print(f"{name:<20} {count:>7} {bad:>8} {seconds:>8.1f}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
