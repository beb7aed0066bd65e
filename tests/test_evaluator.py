"""The contrastive text-motion evaluator, its training, and the text-to-motion protocol."""

import json

import numpy as np
import pytest
import torch
from motion_samples import synthetic_walk

from motiongen.data.corpus import load_corpus
from motiongen.errors import UserError
from motiongen.metrics import text_to_motion as T2M
from motiongen.models.evaluator import MotionTextEvaluator, load_evaluator
from motiongen.paths import CHECKPOINT_DIR

SHIPPED = CHECKPOINT_DIR / "evaluator"


@pytest.fixture(scope="module")
def small_model():
    torch.manual_seed(0)
    return MotionTextEvaluator(width=32, layers=1, heads=2, embed_dim=8).eval()


def test_embeddings_are_unit_length_and_independent_of_padding(small_model):
    short, long = synthetic_walk(frames=41), synthetic_walk(frames=97, heading=1.0)
    alone = small_model.encode_motions([short])
    both = small_model.encode_motions([short, long])
    np.testing.assert_allclose(np.linalg.norm(both, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(alone[0], both[0], atol=1e-5)
    assert not np.allclose(both[0], both[1], atol=1e-3)


def test_embeddings_ignore_global_position_and_heading(small_model):
    a = synthetic_walk(frames=60, heading=0.0, start=(0.0, 0.0))
    b = synthetic_walk(frames=60, heading=2.0, start=(3.0, -1.0))
    np.testing.assert_allclose(*small_model.encode_motions([a, b]), atol=1e-4)


def test_contrastive_loss_known_values(small_model):
    emb = torch.eye(8)[:4]
    # Temperature 0.1, matching pairs at cosine 1 and the rest at 0: loss = -log(e^10 / (e^10 + 3)).
    expected = -np.log(np.exp(10) / (np.exp(10) + 3))
    assert small_model.contrastive_loss(emb, emb).item() == pytest.approx(expected, rel=1e-3)
    # Items with the same label are not negatives: with a single label nothing is left to contrast.
    assert small_model.contrastive_loss(emb, emb.flip(0), torch.zeros(4, dtype=torch.long)).item() == 0.0
    assert small_model.contrastive_loss(emb, emb.flip(0)).item() > 5.0


def test_save_and_load_round_trip_keeps_weights_and_normaliser(small_model, tmp_path):
    small_model.feature_mean.fill_(0.25)
    small_model.save_pretrained(str(tmp_path))
    assert (tmp_path / "diffusion_pytorch_model.safetensors").exists() or any(tmp_path.glob("*.safetensors"))
    loaded = load_evaluator(tmp_path)
    assert torch.equal(loaded.feature_mean, small_model.feature_mean)
    motion = synthetic_walk(frames=50)
    # equal up to float rounding (the thread count may differ between the two calls)
    np.testing.assert_allclose(loaded.encode_motions([motion]), small_model.encode_motions([motion]), atol=1e-6)
    with pytest.raises(UserError, match="no evaluator"):
        load_evaluator(tmp_path / "missing")


def test_evaluation_items_are_reproducible_and_balanced():
    clips = load_corpus("test")
    a, b = T2M.build_items(clips, 40, frames=80, seed=3), T2M.build_items(clips, 40, frames=80, seed=3)
    assert [it.caption for it in a] == [it.caption for it in b]
    np.testing.assert_array_equal(a[0].motion.quats, b[0].motion.quats)
    assert all(len(it.motion) == 80 for it in a)
    counts = [sum(it.clip == c.name for it in a) for c in clips]
    assert max(counts) - min(counts) <= 1


def test_retrieval_ceiling_counts_indistinguishable_items():
    assert T2M.retrieval_ceiling([str(i) for i in range(64)]).tolist() == [1.0, 1.0, 1.0]
    # Every pool holds 16 items of each of two groups: top-k = k / 16.
    np.testing.assert_allclose(T2M.retrieval_ceiling(["a", "b"] * 32), [1 / 16, 2 / 16, 3 / 16])


@pytest.mark.skipif(not (SHIPPED / "config.json").exists(), reason="evaluator not trained yet")
def test_real_data_and_a_copying_generator_score_well_and_a_frozen_one_badly():
    evaluator = load_evaluator(SHIPPED)
    clips = load_corpus("test")
    by_caption = {}
    for it in T2M.build_items(clips, 64, frames=80, seed=0):
        by_caption.setdefault(it.caption, it.motion)

    def copying(prompts, seed):  # returns a real window with the prompt's caption
        return [by_caption[p] for p in prompts]

    def frozen(prompts, seed):  # a body that never moves
        from motiongen.motion.motion import Motion

        return [Motion.rest(80).on_ground() for _ in prompts]

    good = T2M.evaluate_text_to_motion(evaluator, clips, copying, 64, 1, 4, 4, seed=0, progress=False)
    bad = T2M.evaluate_text_to_motion(evaluator, clips, frozen, 64, 1, 4, 4, seed=0, progress=False)
    # The shipped evaluator retrieves held-out real motion clearly better than chance.
    assert good["real"]["top3"]["mean"] > 2 * good["chance"][2]
    assert good["real"]["fid"]["mean"] < 0.2 * bad["model"]["fid"]["mean"]
    assert good["model"]["fid"]["mean"] < 0.5 * bad["model"]["fid"]["mean"]
    assert good["model"]["top3"]["mean"] > bad["model"]["top3"]["mean"]
    assert bad["model"]["diversity"]["mean"] == pytest.approx(0.0, abs=1e-5)
    assert bad["model"]["multimodality"]["mean"] == pytest.approx(0.0, abs=1e-5)


def test_training_runs_end_to_end_and_writes_a_report(tmp_path):
    from motiongen.training.train_evaluator import EvaluatorTrainingConfig, train_evaluator

    cfg = EvaluatorTrainingConfig(steps=3, batch_size=8, pool_size=12, warmup_steps=1, eval_items=32)
    report = train_evaluator(tmp_path / "ev", cfg, progress=False, log=lambda *_: None)
    saved = json.loads((tmp_path / "ev" / "evaluation.json").read_text())
    assert saved["test"]["items"] == 32 and len(saved["test"]["r_precision"]) == 3
    assert saved["train"]["chance"][0] == pytest.approx(1 / 32)
    assert np.isfinite(report["final_loss"])
    assert load_evaluator(tmp_path / "ev").config.embed_dim == 64


@pytest.mark.skipif(not (SHIPPED / "config.json").exists(), reason="evaluator not trained yet")
def test_caption_retrieval_baseline_beats_standing_still_and_is_deterministic():
    from motiongen.metrics.baselines import retrieval_baseline, still_baseline

    evaluator = load_evaluator(SHIPPED)
    retrieval = retrieval_baseline(load_corpus("train"), evaluator.sentence_embeddings)
    prompts = ["a person walks forward", "someone jumps forward twice with both feet"]
    first, again = retrieval(prompts, 5), retrieval(prompts, 5)
    np.testing.assert_array_equal(first[1].quats, again[1].quats)
    clips = load_corpus("test")
    scores = [
        T2M.evaluate_text_to_motion(evaluator, clips, g, 32, 1, 0, 0, progress=False)["model"]
        for g in (retrieval, still_baseline())
    ]
    assert scores[0]["top3"]["mean"] > scores[1]["top3"]["mean"]
    assert scores[0]["fid"]["mean"] < scores[1]["fid"]["mean"]
