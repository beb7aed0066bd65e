"""What keeps the command line quick to start: caption-bank embeddings kept on disk (encoded once
per machine, not on every run), and light paths that do not import torch or diffusers. The wall
times themselves are measured by benchmarks/bench_startup.py."""

import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F

from motiongen.conditioning.text import PromptCache, load_text_encoder

TEXTS = ["a person walks forward", "a person jumps", "someone waves with the left hand"]


class RefusingEncoder:
    """Stands for the real encoder (same identity), failing if asked to encode anything."""

    def __init__(self, real):
        self.name, self.max_tokens, self.fingerprint, self.dim = real.name, real.max_tokens, real.fingerprint, real.dim

    def __call__(self, prompts):
        raise AssertionError(f"encoded {prompts} instead of reading the cache")


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("MOTIONGEN_CACHE", str(tmp_path))
    return tmp_path


def test_bank_embeddings_are_encoded_once_then_read_from_disk(cache_dir):
    encoder = load_text_encoder()
    first = PromptCache(encoder)
    unit = first.sentences(TEXTS)
    expected = F.normalize(torch.stack([h[0] for h in first(TEXTS)]), dim=-1)
    assert unit.shape == (3, encoder.dim) and torch.allclose(unit, expected)
    (file,) = (cache_dir / "text").glob("sentences-*.safetensors")

    again = PromptCache(RefusingEncoder(encoder)).sentences(TEXTS)
    assert torch.equal(again, unit)
    with pytest.raises(AssertionError, match="instead of reading"):  # other texts: another entry
        PromptCache(RefusingEncoder(encoder)).sentences(TEXTS[::-1])

    file.write_bytes(b"not a safetensors file")  # a damaged entry is encoded again and replaced
    assert torch.allclose(PromptCache(encoder).sentences(TEXTS), unit, atol=1e-6)
    assert torch.equal(PromptCache(RefusingEncoder(encoder)).sentences(TEXTS), PromptCache(encoder).sentences(TEXTS))


def test_unwritable_cache_still_embeds(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("MOTIONGEN_CACHE", str(blocker))  # a file, so no folder can be made there
    unit = PromptCache(load_text_encoder()).sentences(TEXTS[:2])
    assert unit.shape[0] == 2 and torch.allclose(unit.norm(dim=-1), torch.ones(2))


def imported_after(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys; print(' '.join(sys.modules))"],
                         capture_output=True, text=True, timeout=120)  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    return set(out.stdout.split())


def test_light_paths_import_no_heavy_library():
    heavy = {"torch", "diffusers", "transformers", "rich"}  # rich's help formatting alone took 0.15 s
    assert not heavy & imported_after("import motiongen")
    assert not heavy & imported_after(
        "import sys; sys.argv = ['motiongen', '--help']\nfrom motiongen.cli.app import main\ntry: main()\nexcept SystemExit: pass"
    )
