"""Is a prompt within what the model knows? A model trained on a few hundred captioned clips
answers a prompt it has never seen with the nearest action it knows ("sits down on a chair" with
getting up from the floor), so it says so instead of staying silent.

A prompt part is *unfamiliar* when its sentence embedding (the text encoder's pooled token, as
retrieval uses) is less similar to every training caption than nearly all held-out captions are:
the threshold is a low percentile of the held-out (test split) captions' nearest similarity to the
training captions, measured when the model is trained and stored beside it in known_actions.json
together with the actions it was trained on and their captions.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from motiongen.data.augment import split_caption
from motiongen.data.captions import mirror_caption

KNOWN_FILE = "known_actions.json"
PERCENTILE = 5.0  # held-out captions less similar than this share of them count as unfamiliar


def action_captions(clips) -> dict[str, list[str]]:
    """Action label -> its clips' captions (and their mirror images), sorted."""
    out: dict[str, set[str]] = {}
    for clip in clips:
        out.setdefault(clip.action, set()).update(clip.captions)
        out[clip.action].update(mirror_caption(c) for c in clip.captions)
    return {action: sorted(captions) for action, captions in sorted(out.items())}


def _unit_embeddings(encode, texts: list[str]) -> torch.Tensor:
    return F.normalize(torch.stack([h[0] for h in encode(texts)]), dim=-1)


def _bank_embeddings(encode, texts: list[str]) -> torch.Tensor:
    """As _unit_embeddings, through the PromptCache's disk-kept embeddings of whole banks."""
    return encode.sentences(texts) if hasattr(encode, "sentences") else _unit_embeddings(encode, texts)


def measure(encode, train_clips, test_clips, percentile: float = PERCENTILE) -> dict:
    """known_actions.json's content: the threshold measured on the test clips' captions and the
    train clips' actions. `encode` maps prompts to encoder states (a PromptCache)."""
    actions = action_captions(train_clips)
    bank = sorted({c for captions in actions.values() for c in captions})
    held_out = sorted({c for clip in test_clips for c in clip.captions} - set(bank))
    nearest = (_unit_embeddings(encode, held_out) @ _unit_embeddings(encode, bank).T).max(dim=1).values
    return {
        "threshold": round(float(np.percentile(nearest.numpy(), percentile)), 4),
        "percentile": percentile,
        "held_out_captions": len(held_out),
        "held_out_nearest_median": round(float(nearest.median()), 4),
        "actions": actions,
    }


@dataclass
class Unfamiliar:
    part: str
    similarity: float
    closest_actions: list[str]


class KnownActions:
    """The actions a model was trained on, and the test for prompts far from all of them."""

    def __init__(self, data: dict):
        self.threshold = float(data["threshold"])
        self.actions: dict[str, list[str]] = data["actions"]
        self._bank = sorted({c for captions in self.actions.values() for c in captions})
        self._action_of = {c: a for a, captions in self.actions.items() for c in captions}
        self._embeddings: torch.Tensor | None = None

    def save(self, folder: str | Path) -> None:
        data = {"threshold": self.threshold, "actions": self.actions}
        (Path(folder) / KNOWN_FILE).write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")

    @classmethod
    def from_folder(cls, folder: str | Path) -> KnownActions | None:
        """The pipeline folder's known_actions.json, or None for a model saved without one."""
        path = Path(folder) / KNOWN_FILE
        if not path.exists():
            return None
        try:
            return cls(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def nearest(self, encode, prompt: str) -> float:
        """The lowest, over the prompt's parts, of the similarity to the nearest training caption."""
        if self._embeddings is None:
            self._embeddings = _bank_embeddings(encode, self._bank)
        return min(float((self._embeddings @ _unit_embeddings(encode, [p])[0]).max()) for p in split_caption(prompt))

    def unfamiliar(self, encode, prompt: str) -> list[Unfamiliar]:
        """The parts of `prompt` ("..., then ...") far from every training caption."""
        if self._embeddings is None:
            self._embeddings = _bank_embeddings(encode, self._bank)
        out = []
        for part in split_caption(prompt):
            similarity = self._embeddings @ _unit_embeddings(encode, [part])[0]
            best = float(similarity.max())
            if best < self.threshold:
                closest: list[str] = []
                for i in similarity.argsort(descending=True).tolist():
                    action = self._action_of[self._bank[i]]
                    if action not in closest:
                        closest.append(action)
                    if len(closest) == 3:
                        break
                out.append(Unfamiliar(part, best, closest))
        return out
