"""signature-verify 3.2 candidate (training side): the top-block fine-tune trains what it says and
nothing else, the folds keep writers apart, and the ship rule is the one written down.

A tiny randomly initialised Lite0 at 64×128 and synthetic trunk maps: no corpora, no ImageNet
weights, runs on a clean clone."""

from __future__ import annotations

import numpy as np
import pytest

from training.signatures.cnn import grid_pool
from training.signatures.corpora import dev_writers
from training.signatures.v3_eval import make_rows
from training.signatures.v3_train import folds_of
from training.signatures.v32_finetune import TAPS, cv_table, fold_roles, paired, ship_rule, split_pooled

pytest.importorskip("tensorflow")


def test_fold_roles_keep_training_validation_and_scored_writers_apart():
    folds = folds_of(dev_writers())
    for i in range(5):
        train_w, inner_w = fold_roles(folds, i)
        assert not set(train_w) & set(inner_w)
        assert not set(train_w) & set(folds[i]) and not set(inner_w) & set(folds[i])
        assert sorted(train_w + inner_w + folds[i]) == sorted(dev_writers())
        assert len(train_w) == 63 and len(inner_w) == 21


def test_ship_rule_needs_both_corpora_lower_beyond_the_fold_spread():
    def p(c, b):
        return {"cedar": {"mean": float(np.mean(c)), "sd": float(np.std(c, ddof=1)), "folds": c},
                "bengali": {"mean": float(np.mean(b)), "sd": float(np.std(b, ddof=1)), "folds": b}}

    assert ship_rule(p([-0.02, -0.03, -0.02, -0.025, -0.02], [-0.01, -0.012, -0.011, -0.01, -0.013]))
    # CEDAR clearly lower, Bengali a tie: no
    assert not ship_rule(p([-0.02, -0.03, -0.02, -0.025, -0.02], [-0.01, 0.01, 0.0, -0.002, 0.003]))
    # lower on average but within the spread: no
    assert not ship_rule(p([-0.05, 0.03, -0.02, 0.01, -0.01], [-0.01, -0.012, -0.011, -0.01, -0.013]))
    # fewer than 5 folds (the sizing run): never
    assert not ship_rule(p([-0.02, -0.03], [-0.02, -0.03]))


def _tiny_net():
    from training.signatures import finetune as F
    from training.signatures.cnn import build_backbone

    bb = build_backbone(None, (64, 128))
    return bb, F.TapNet(bb, "block6d_add", TAPS, embed_dims=32)


def test_finetune_lowers_its_loss_and_leaves_frozen_layers_unchanged():
    import keras

    from training.signatures import finetune as F

    keras.utils.set_random_seed(0)
    bb, net = _tiny_net()
    rng = np.random.default_rng(0)
    writers = np.repeat(np.arange(1, 5), 6)
    genuine = np.tile([True] * 3 + [False] * 3, 4)
    centres = rng.normal(size=(8, 2, 4, 192)).astype(np.float32)
    cls = 2 * (writers - 1) + (~genuine)
    maps = centres[cls] + 0.3 * rng.normal(size=(len(cls), 2, 4, 192)).astype(np.float32)
    before = {w.path: w.numpy().copy() for w in bb.weights}
    labels, n_classes = F.class_labels(writers, genuine, writers <= 3)   # writer 4 not trained on
    assert n_classes == 6 and (labels[writers == 4] == -1).all()
    info = F.train_tapnet(net, [maps], labels, n_classes, epochs=6, lr=3e-3, batch_size=8, seed=0,
                          log=lambda *a: None)
    loss = info["history"]["loss"]
    assert loss[-1] < 0.8 * loss[0]
    after = {w.path: w.numpy() for w in bb.weights}
    changed = {p for p in before if not np.array_equal(before[p], after[p])}
    # what moved: block7a's convolutions only — not its BatchNorm, not the trunk, not the top
    assert changed and all(p.startswith("block7a_") and "bn" not in p for p in changed)
    assert any("block7a_expand_conv" in p for p in changed) and any("block7a_project_conv" in p for p in changed)


def test_split_pooled_gives_the_trunk_tap_unchanged():
    bb, net = _tiny_net()
    maps = np.random.default_rng(1).normal(size=(3, 2, 4, 192)).astype(np.float32)
    parts = split_pooled(net.pooled(maps))
    np.testing.assert_allclose(parts["block6d_add"], grid_pool(maps, 2, 4), rtol=1e-5, atol=1e-6)
    assert parts["block7a_project_bn"].shape == (3, 2 * 320)


def test_cv_table_calibrates_each_fold_on_the_other_folds():
    rng = np.random.default_rng(2)
    per_fold = []
    for i in range(5):
        wr = np.repeat(np.arange(10 * i, 10 * i + 4), 14)
        gen = np.tile([True] * 8 + [False] * 6, 4)
        corpus = np.array(["cedar", "cedar", "bengali", "bengali"] * 1, dtype=object)[(wr - 10 * i)]
        c = rng.normal(size=(4, 8))[wr - 10 * i]
        emb = c + np.where(gen, 0.5, 1.2)[:, None] * rng.normal(size=(len(wr), 8))
        rows = make_rows(emb, wr, gen, corpus, list(range(10 * i, 10 * i + 4)), 5, 2, i)
        per_fold.append((rows, rows.cos, rng.normal(size=len(rows.y))))
    t = cv_table(per_fold, 0.0)
    assert t["calibration"] == "other folds"
    assert len(t["cedar"]["folds"]) == 5 and all(0.0 <= v < 0.5 for v in t["cedar"]["folds"])
    t1 = cv_table(per_fold[:1], 0.0)
    assert t1["calibration"] == "in-fold"
    d = paired(t, cv_table(per_fold, 0.8))
    assert len(d["bengali"]["folds"]) == 5


def test_pair_objective_pulls_genuine_together_and_pushes_forgeries_away():
    """The hard-negative objective on the taps themselves (no head): its loss falls, only block7a's
    convolutions move, and on the training writers genuine pairs end up closer than
    genuine-forgery pairs by more than before."""
    import keras

    from training.signatures.v32_finetune import train_pairs

    keras.utils.set_random_seed(0)
    bb, net = _tiny_net()
    rng = np.random.default_rng(3)
    writers = np.repeat(np.arange(1, 5), 8)
    genuine = np.tile([True] * 4 + [False] * 4, 4)
    base = rng.normal(size=(4, 2, 4, 192)).astype(np.float32)
    maps = base[writers - 1] + np.where(genuine, 0.0, 0.6)[:, None, None, None] * rng.normal(
        size=(4, 2, 4, 192)).astype(np.float32)[writers - 1] + 0.3 * rng.normal(size=(32, 2, 4, 192)).astype(np.float32)

    def gap():
        x = split_pooled(net.pooled(maps))["block7a_project_bn"]
        x = np.sign(x) * np.sqrt(np.abs(x))
        e = x / np.linalg.norm(x, axis=1, keepdims=True)
        c = e @ e.T
        same = writers[:, None] == writers[None, :]
        gg = same & genuine[:, None] & genuine[None, :] & ~np.eye(32, dtype=bool)
        gf = same & genuine[:, None] & ~genuine[None, :]
        return c[gg].mean() - c[gf].mean()

    g0 = gap()
    before = {w.path: w.numpy().copy() for w in bb.weights}
    info = train_pairs(net, maps, writers, genuine, np.ones(32, bool), epochs=8, lr=3e-3, writers_per_batch=4,
                       per_side=4, seed=0, log=lambda *a: None)
    loss = info["history"]["loss"]
    assert loss[-1] < loss[0]
    assert gap() > g0
    after = {w.path: w.numpy() for w in bb.weights}
    changed = {p for p in before if not np.array_equal(before[p], after[p])}
    assert changed and all(p.startswith("block7a_") and "bn" not in p for p in changed)


def test_card_section_is_rendered_from_the_results_and_replaced_in_place(tmp_path):
    from training.signatures.v32_card import BEGIN, END, render, write

    def arm(c, b):
        return {"cedar": {"mean": c, "sd": 0.01, "folds": [c] * 5}, "bengali": {"mean": b, "sd": 0.02, "folds": [b] * 5},
                "calibration": "other folds"}

    def table(c0, b0, c1, b1):
        t = {"frozen": arm(c0, b0), "finetuned": arm(c1, b1)}
        t["paired_finetuned_minus_frozen"] = paired(t["frozen"], t["finetuned"])
        return t

    res = {"folds_scored": [0, 1, 2, 3, 4], "ships": False,
           "5": {"beta0.0": table(0.11, 0.072, 0.105, 0.075), "beta0.8": table(0.101, 0.071, 0.097, 0.074)},
           "10": {"beta0.0": table(0.103, 0.063, 0.1, 0.066), "beta0.8": table(0.08, 0.059, 0.078, 0.06)},
           "training": [{"cpu_seconds": 50.0, "seconds": 100.0, "embed_seconds": 20.0, "load_average": [7.0, 7, 7],
                         "images": 3843, "config": {"epochs": 3}}] * 5, "score_cpu_seconds": 60.0}
    text = render([("3 epochs", "python -m x", res)], "sizing text", "intro text")
    assert "10.1 ± 1.0%" in text and "9.7 ± 1.0%" in text and "+0.3 ± 0.0 points (0 of 5 folds lower)" in text
    assert "**not met**" in text and "sizing text" in text and "intro text" in text and "`python -m x`" in text
    card = tmp_path / "CARD.md"
    card.write_text("# card\n\nbody\n")
    write(card, text)
    write(card, render([("3 epochs", "python -m x", dict(res, ships=True))]))
    out = card.read_text()
    assert out.count(BEGIN) == 1 and out.count(END) == 1 and "**met**" in out and out.startswith("# card\n\nbody\n")


def test_early_stopping_keeps_the_best_epoch_and_restores_its_weights():
    """finetune.frozen_start / close_epoch / restore_best, shared by both signature fine-tunes: the
    frozen network is epoch 0; training stops after ``patience`` epochs without a lower EER, and the
    lowest epoch's weights are put back."""
    import keras
    import numpy as np

    from training.signatures.finetune import close_epoch, frozen_start, restore_best

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    eers = {0: 0.30, 1: 0.25, 2: 0.20, 3: 0.22, 4: 0.21, 5: 0.10}
    kept = {}
    lines = []
    history, best = frozen_start(lambda ep: eers[ep], model, lines.append)
    assert best[:2] == (0.30, 0) and history["val_eer"] == {0: 0.30}
    stale, last = 0, 0
    for ep in range(1, 6):
        model.layers[0].kernel.assign(np.full((3, 2), float(ep), np.float32))
        kept[ep] = model.layers[0].kernel.numpy().copy()
        best, stale, stop = close_epoch(ep, [1.0 / ep], True, lambda e: eers[e], history, best, stale, model,
                                        2, lines.append, 0.0)
        last = ep
        if stop:
            break
    assert last == 4 and best[:2] == (0.20, 2)  # epochs 3 and 4 were no better: stop before 5
    restore_best(model, best)
    assert np.array_equal(model.layers[0].kernel.numpy(), kept[2])
    assert history["loss"] == [1.0, 0.5, 0.3333, 0.25] and "validation EER 0.2000" in lines[2]
