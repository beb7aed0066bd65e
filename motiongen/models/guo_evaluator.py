"""The HumanML3D text-motion matching evaluator (Guo et al. 2022), loadable from its published file.

The published checkpoint `text_mot_match/model/finest.tar` is a dict with the state dicts
'text_encoder', 'movement_encoder' and 'motion_encoder' (+ 'epoch'). The modules here have exactly
its layer names and shapes, so a user who has that file can compute HumanML3D-comparable FID,
R-precision, MM-Dist, Diversity and MultiModality:

  text:   GloVe word vectors (300) + part-of-speech one-hot (15) -> bi-GRU -> 512 co-embedding
  motion: 263-D vectors without foot contacts (259) -> two stride-2 convolutions (time / 4) -> 512
          -> bi-GRU -> 512 co-embedding

The file is read with `torch.load(weights_only=True)`: tensors and plain containers only, never
arbitrary pickled objects. Motion vectors are normalised with the evaluator's own mean/std
(`meta/mean.npy`, `meta/std.npy` next to it in the HumanML3D release).
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from motiongen.errors import UserError

WORD_DIM = 300
UNIT_LENGTH = 4  # frames per movement-encoder step (two stride-2 convolutions)
MAX_TEXT_TOKENS = 20
MAX_MOTION_FRAMES = 196  # the protocol pads every motion to this length

POS_TAGS = ("VERB", "NOUN", "DET", "ADP", "NUM", "AUX", "PRON", "ADJ", "ADV",
            "Loc_VIP", "Body_VIP", "Obj_VIP", "Act_VIP", "Desc_VIP", "OTHER")  # fmt: skip
# Words whose tag is replaced by a "very important part" class, as in the HumanML3D vectorizer.
VIP_WORDS = {
    "Loc_VIP": ("left", "right", "clockwise", "counterclockwise", "anticlockwise", "forward", "back",
                "backward", "up", "down", "straight", "curve"),
    "Body_VIP": ("arm", "chin", "foot", "feet", "face", "hand", "mouth", "leg", "waist", "eye", "knee",
                 "shoulder", "thigh"),
    "Obj_VIP": ("stair", "dumbbell", "chair", "window", "floor", "car", "ball", "handrail", "baseball",
                "basketball"),
    "Act_VIP": ("walk", "run", "swing", "pick", "bring", "kick", "put", "squat", "throw", "hop", "dance",
                "jump", "turn", "stumble", "stop", "sit", "lift", "lower", "raise", "wash", "stand",
                "kneel", "stroll", "rub", "bend", "balance", "flap", "jog", "shuffle", "lean", "rotate",
                "spin", "spread", "climb"),
    "Desc_VIP": ("slowly", "carefully", "fast", "careful", "slow", "quickly", "happy", "angry", "sad",
                 "happily", "angrily", "sadly"),
}  # fmt: skip


def _leaky() -> nn.Module:
    return nn.LeakyReLU(0.2, inplace=True)


class MovementConvEncoder(nn.Module):
    """(B, T, 259) -> (B, T // 4, 512): two stride-2 1-D convolutions, then a linear layer."""

    def __init__(self, input_size: int = 259, hidden_size: int = 512, output_size: int = 512):
        super().__init__()
        # Index order (conv, dropout, activation) matters: it fixes the state-dict keys main.0 / main.3.
        self.main = nn.Sequential(
            nn.Conv1d(input_size, hidden_size, 4, 2, 1), nn.Dropout(0.2), _leaky(),
            nn.Conv1d(hidden_size, output_size, 4, 2, 1), nn.Dropout(0.2), _leaky(),
        )  # fmt: skip
        self.out_net = nn.Linear(output_size, output_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out_net(self.main(x.transpose(1, 2)).transpose(1, 2))


class _BiGRUCo(nn.Module):
    """Shared tail: input embedding -> bidirectional GRU from a learned initial state -> MLP on the
    concatenated last hidden states."""

    def __init__(self, input_size: int, hidden_size: int, output_size: int):
        super().__init__()
        self.input_emb = nn.Linear(input_size, hidden_size)
        self.gru = nn.GRU(hidden_size, hidden_size, batch_first=True, bidirectional=True)
        self.output_net = nn.Sequential(
            nn.Linear(hidden_size * 2, hidden_size), nn.LayerNorm(hidden_size), _leaky(),
            nn.Linear(hidden_size, output_size),
        )  # fmt: skip
        self.hidden = nn.Parameter(torch.randn(2, 1, hidden_size))

    def _encode(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        packed = pack_padded_sequence(self.input_emb(x), lengths.cpu(), batch_first=True, enforce_sorted=False)
        _, last = self.gru(packed, self.hidden.repeat(1, len(x), 1))
        return self.output_net(torch.cat([last[0], last[1]], dim=-1))


class TextEncoderBiGRUCo(_BiGRUCo):
    """Word vectors (B, L, 300) + POS one-hots (B, L, 15) + lengths (B,) -> (B, 512)."""

    def __init__(self, word_size: int = WORD_DIM, pos_size: int = len(POS_TAGS), hidden_size: int = 512,
                 output_size: int = 512):  # fmt: skip
        super().__init__(word_size, hidden_size, output_size)
        self.pos_emb = nn.Linear(pos_size, word_size)

    def forward(self, word_embs: torch.Tensor, pos_onehot: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return self._encode(word_embs + self.pos_emb(pos_onehot), lengths)


class MotionEncoderBiGRUCo(_BiGRUCo):
    """Movement codes (B, T/4, 512) + lengths in codes (B,) -> (B, 512)."""

    def __init__(self, input_size: int = 512, hidden_size: int = 1024, output_size: int = 512):
        super().__init__(input_size, hidden_size, output_size)

    def forward(self, movements: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return self._encode(movements, lengths)


class GuoEvaluator(nn.Module):
    """The three modules together, with the published sizes by default."""

    def __init__(self, dim_pose: int = 263, text_hidden: int = 512, motion_hidden: int = 1024, coemb: int = 512):
        super().__init__()
        self.text_encoder = TextEncoderBiGRUCo(hidden_size=text_hidden, output_size=coemb)
        self.movement_encoder = MovementConvEncoder(dim_pose - 4, 512, 512)
        self.motion_encoder = MotionEncoderBiGRUCo(512, motion_hidden, coemb)
        self.register_buffer("mean", torch.zeros(dim_pose))
        self.register_buffer("std", torch.ones(dim_pose))
        self.eval()

    # -- loading ----------------------------------------------------------------------------
    @classmethod
    def from_checkpoint(cls, path: str | Path, mean=None, std=None) -> GuoEvaluator:
        """Load `finest.tar` (dict of state dicts). Layer sizes are read from the weights, so the
        HumanML3D (263-D) and KIT (251-D) releases both load. `mean`/`std`: arrays or .npy paths."""
        path = Path(path)
        if not path.is_file():
            raise UserError(f"evaluator checkpoint not found: {path}")
        try:
            ckpt = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # not a weights-only file, or corrupt
            raise UserError(f"cannot load {path.name} as a weights-only checkpoint: {exc}") from exc
        missing = {"text_encoder", "movement_encoder", "motion_encoder"} - set(ckpt if isinstance(ckpt, dict) else ())
        if missing:
            raise UserError(f"{path.name} is not a text-motion matching checkpoint (missing {sorted(missing)})")
        model = cls(
            dim_pose=ckpt["movement_encoder"]["main.0.weight"].shape[1] + 4,
            text_hidden=ckpt["text_encoder"]["input_emb.weight"].shape[0],
            motion_hidden=ckpt["motion_encoder"]["input_emb.weight"].shape[0],
            coemb=ckpt["text_encoder"]["output_net.3.weight"].shape[0],
        )
        try:
            for name in ("text_encoder", "movement_encoder", "motion_encoder"):
                getattr(model, name).load_state_dict(ckpt[name])
        except RuntimeError as exc:
            raise UserError(f"{path.name} does not match the evaluator architecture: {exc}") from exc
        if mean is not None and std is not None:
            model.set_normalisation(_load_array(mean), _load_array(std))
        return model.eval()

    def save_checkpoint(self, path: str | Path, epoch: int = 0) -> None:
        """Write the published layout (used by tests to build files in that format)."""
        torch.save(
            {
                "text_encoder": self.text_encoder.state_dict(),
                "movement_encoder": self.movement_encoder.state_dict(),
                "motion_encoder": self.motion_encoder.state_dict(),
                "epoch": epoch,
            },
            path,
        )

    def set_normalisation(self, mean: np.ndarray, std: np.ndarray) -> None:
        self.mean.copy_(torch.as_tensor(mean, dtype=torch.float32))
        self.std.copy_(torch.as_tensor(std, dtype=torch.float32))

    # -- embeddings -------------------------------------------------------------------------
    @torch.no_grad()
    def encode_motion(self, vectors: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Raw (un-normalised) 263-D vectors (B, T, 263), padded, + frame counts (B,) -> (B, 512).
        Lengths are floored to whole 4-frame units, as in the protocol."""
        lengths = torch.as_tensor(lengths)
        x = (vectors.float() - self.mean) / self.std
        # Padding is zero in normalised space, as in the protocol's data loader.
        x = x * (torch.arange(x.shape[1])[None, :] < lengths[:, None]).unsqueeze(-1)
        movements = self.movement_encoder(x[..., :-4])
        units = torch.clamp(lengths // UNIT_LENGTH, min=1)
        return self.motion_encoder(movements, units)

    @torch.no_grad()
    def encode_text(self, word_embs: torch.Tensor, pos_onehot: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return self.text_encoder(word_embs.float(), pos_onehot.float(), torch.as_tensor(lengths))

    def encode_motions(self, motions) -> torch.Tensor:
        """`Motion`s -> co-embeddings, via their 263-D HumanML3D vectors."""
        from motiongen.io.humanml3d_vectors import motion_to_vectors

        return self.encode_vectors([motion_to_vectors(m) for m in motions])

    def encode_vectors(self, vectors) -> torch.Tensor:
        """Raw 263-D vectors of several clips ((T_i, 263) each, any lengths) -> co-embeddings."""
        vecs = [torch.as_tensor(v, dtype=torch.float32) for v in vectors]
        lengths = torch.tensor([len(v) for v in vecs])
        # The convolutions see a little of the padding at a clip's end, so always pad to the
        # protocol's fixed length: a clip's embedding then does not depend on its batch.
        padded = torch.zeros(len(vecs), max(MAX_MOTION_FRAMES, int(lengths.max())), vecs[0].shape[-1])
        for i, v in enumerate(vecs):
            padded[i, : len(v)] = v
        return self.encode_motion(padded, lengths)


class WordVectorizer:
    """GloVe vectors + POS one-hots for HumanML3D tokens ("word/POS"), as the evaluator was trained.

    `vectors` (N, 300) and `word_to_index` come from the release's `glove/our_vab_data.npy` and
    `our_vab_idx.pkl`; see `from_glove_folder`."""

    def __init__(self, vectors: np.ndarray, word_to_index: dict[str, int]):
        self.vectors = np.asarray(vectors, dtype=np.float32)
        self.word_to_index = dict(word_to_index)
        if "unk" not in self.word_to_index:
            raise UserError("the GloVe vocabulary has no 'unk' entry")

    @classmethod
    def from_glove_folder(cls, folder: str | Path) -> WordVectorizer:
        folder = Path(folder)
        vectors = np.load(folder / "our_vab_data.npy", allow_pickle=False)
        with open(folder / "our_vab_idx.pkl", "rb") as f:
            index = _PlainDataUnpickler(f).load()
        if not isinstance(index, dict):
            raise UserError("our_vab_idx.pkl should hold a dict of word -> index")
        return cls(vectors, index)

    def _pos_onehot(self, tag: str) -> np.ndarray:
        onehot = np.zeros(len(POS_TAGS), np.float32)
        onehot[POS_TAGS.index(tag) if tag in POS_TAGS else POS_TAGS.index("OTHER")] = 1.0
        return onehot

    def token(self, token: str) -> tuple[np.ndarray, np.ndarray]:
        word, _, tag = token.partition("/")
        if word not in self.word_to_index:
            return self.vectors[self.word_to_index["unk"]], self._pos_onehot("OTHER")
        vip = next((key for key, words in VIP_WORDS.items() if word in words), None)
        return self.vectors[self.word_to_index[word]], self._pos_onehot(vip or tag)

    def encode(self, tokens: list[list[str]]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Token lists -> (word vectors, POS one-hots, lengths), wrapped in sos/eos and cropped to
        20 words, padded with 'unk' (the protocol's text preprocessing)."""
        seqs = [["sos/OTHER"] + list(t[:MAX_TEXT_TOKENS]) + ["eos/OTHER"] for t in tokens]
        width = max(len(s) for s in seqs)
        words = np.zeros((len(seqs), width, self.vectors.shape[1]), np.float32)
        tags = np.zeros((len(seqs), width, len(POS_TAGS)), np.float32)
        for i, seq in enumerate(seqs):
            for j, tok in enumerate(seq + ["unk/OTHER"] * (width - len(seq))):
                words[i, j], tags[i, j] = self.token(tok)
        return torch.from_numpy(words), torch.from_numpy(tags), torch.tensor([len(s) for s in seqs])


def parse_text_line(line: str) -> tuple[str, list[str]]:
    """A HumanML3D `texts/*.txt` line "caption#word/POS ...#start#end" -> (caption, tokens)."""
    parts = line.strip().split("#")
    if len(parts) < 2:
        raise UserError(f"not a HumanML3D text line: {line!r}")
    return parts[0], parts[1].split()


class _PlainDataUnpickler(pickle.Unpickler):
    """Reads pickles of plain data (dict, list, str, int, float) only: any class reference is refused,
    so a malicious file cannot run code."""

    def find_class(self, module, name):
        raise UserError(f"refusing to load {module}.{name} from a pickle: only plain data is allowed")


def _load_array(value) -> np.ndarray:
    if isinstance(value, (str, Path)):
        return np.load(value, allow_pickle=False)
    return np.asarray(value)
