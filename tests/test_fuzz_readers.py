"""Property-based fuzzing of every reader: mutated files give a finite result or one UserError line,
never another exception, never unbounded allocation (see fuzz_helpers.py; the 10,000-case run is
benchmarks/fuzz_readers.py)."""

from __future__ import annotations

import pytest
from fuzz_helpers import READERS, check_reader, mutations, seed_files
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

EXAMPLES = 150  # per reader; keeps the whole file near half a minute on a busy CPU


@pytest.fixture(scope="module")
def seeds(tmp_path_factory):
    return seed_files(tmp_path_factory.mktemp("fuzz-seeds"))


@pytest.mark.parametrize("name", sorted(READERS()))
def test_reader_keeps_its_promise_on_mutated_files(name, seeds, tmp_path):
    seed_key, read = READERS()[name]
    data = seeds[seed_key].read_bytes()
    target = tmp_path / f"case{seeds[seed_key].suffix}"

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(st.data())
    def case(draw):
        mutated = draw.draw(mutations(data))
        problem = check_reader(read, target, mutated)
        assert problem is None, problem

    case()
