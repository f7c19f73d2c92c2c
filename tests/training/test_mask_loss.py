"""Region masks as a training signal (training/pipeline/masks.py) and the cut + neck backbone the
seal pack trains with: cell targets on hand-worked grids, masks replayed through the same
augmentation draws as the cached features, the loss value, and which layers a cut backbone trains."""

from __future__ import annotations

import numpy as np
import pytest

from training.pipeline import masks as mk
from training.pipeline.augment import Augmenter


def test_cell_targets_on_a_hand_worked_grid():
    cov = np.zeros((3, 5, 5), np.float32)
    cov[1, 2, 2] = 0.5           # a damaged image, its defect in the centre cell
    cov[2, 0, 0] = 1.0           # a damaged image without a usable mask (has_mask False)
    positive = np.array([False, True, True])
    pos, neg = mk.cell_targets(cov, positive, has_mask=np.array([True, True, False]))
    assert not pos[0].any() and neg[0].all()                       # intact: every cell negative
    assert pos[1].sum() == 1 and pos[1, 2, 2]                      # the covered cell is positive
    ring = np.zeros((5, 5), bool)
    ring[1:4, 1:4] = True
    assert (neg[1] == ~ring).all()                                 # a one-cell ring is left out
    assert not pos[2].any() and not neg[2].any()                   # unknown region: no targets
    # below 1% coverage a cell does not count as covered
    cov2 = np.zeros((1, 2, 2), np.float32)
    cov2[0, 0, 0] = 0.005
    p2, _ = mk.cell_targets(cov2, np.array([True]))
    assert not p2.any()


def test_coverage_is_the_covered_fraction_per_cell():
    m = np.zeros((1, 8, 8), np.uint8)
    m[0, 0:2, 0:4] = 255         # the top-left 4x4 cell is half covered
    cov = mk.coverage(m, (2, 2))
    np.testing.assert_allclose(cov[0], [[0.5, 0.0], [0.0, 0.0]], atol=1e-6)


def test_replayed_masks_follow_the_cached_features_augmentation():
    """Replaying the masks on a blank image gives exactly the mask the joint (image, mask) call
    gives, and the joint call gives exactly the image the plain call (the features) gives."""
    aug = Augmenter(rotation=20, width_shift=0.2, height_shift=0.2, zoom=0.15, horizontal_flip=True,
                    brightness=0.2, contrast=0.1, blur=0.5, noise=0.5)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (5, 32, 32, 3), dtype=np.uint8)
    masks = np.zeros((5, 32, 32), np.uint8)
    masks[:, 4:12, 20:28] = 255
    plain = [aug(img, np.random.default_rng([7, i])) for i, img in enumerate(images)]
    seq_plain, seq_rng = [], np.random.default_rng(7)
    for img in images:
        seq_plain.append(aug(img, seq_rng))
    joint_rng = np.random.default_rng(7)
    joint = [aug(img, joint_rng, mask=m) for img, m in zip(images, masks)]
    for a, (b, _) in zip(seq_plain, joint):
        np.testing.assert_array_equal(a, b)
    replayed = mk.replay_augmented(masks, aug, 7)
    for (_, m), r in zip(joint, replayed):
        np.testing.assert_array_equal(m, r)
    assert plain  # (independent streams differ; only the sequential stream is what the cache uses)
    # a flipped, shifted mask moved with the image: not all masks stayed where they were
    assert any(not np.array_equal(r, masks[0]) for r in replayed)


def test_fit_masks_follows_the_image_fitting(tmp_path):
    import cv2

    from inference.manifest import InputSpec

    m = np.zeros((40, 80), np.uint8)
    m[:, :40] = 255
    cv2.imwrite(str(tmp_path / "m.png"), m)
    spec = InputSpec(name="input", height=16, width=16, layout="NHWC", color="RGB", resize="stretch",
                     scale=1 / 255, mean=(0, 0, 0), std=(1, 1, 1))
    out = mk.fit_masks([tmp_path / "m.png", None], spec)
    assert out.shape == (2, 16, 16) and not out[1].any()
    assert out[0][:, :7].min() == 255 and out[0][:, 9:].max() == 0   # left half inside, stretched


def test_cell_loss_value():
    tf = pytest.importorskip("tensorflow")
    fmap = np.zeros((1, 2, 2, 2), np.float32)
    fmap[0, 0, 0] = [1.0, 0.0]
    fmap[0, 1, 1] = [0.0, 2.0]
    kernel = np.array([[0.0, 3.0], [0.0, -1.0]], np.float32)   # e = 3 * ch0 - 1 * ch1
    pos = np.zeros((1, 2, 2), np.float32)
    pos[0, 0, 0] = 1                                          # e = 3
    neg = np.zeros((1, 2, 2), np.float32)
    neg[0, 1, 1] = 1                                          # e = -2
    neg[0, 0, 1] = 1                                          # e = 0
    got = float(mk.tf_cell_loss(tf.constant(fmap), tf.constant(kernel), 1, tf.constant(pos), tf.constant(neg)))
    soft = lambda v: float(np.log1p(np.exp(v)))  # noqa: E731
    assert got == pytest.approx(soft(-3) + (soft(-2) + soft(0)) / 2, rel=1e-5)


def test_cut_backbone_with_a_neck_trains_only_the_neck_and_the_head():
    pytest.importorskip("tensorflow")
    from training.pipeline.backbones import Backbone, build_classifier

    b = Backbone("tiny-cnn", None, width=4, seed=1, cut="block2", neck=((6, 3), (8, 1)))
    assert b.block_names() == ["block1", "block2"]
    model, base = build_classifier(b, 32, 2, 0.0)
    names = [layer.name for layer in base.layers]
    assert "block3_conv" not in names and names[-2:] == ["neck_conv1", "neck_conv2"]
    assert tuple(base.output.shape[1:]) == (4, 4, 8)
    assert b.boundary_layer(base, 0) == "block2_conv"
    for layer in base.layers:
        layer.trainable = False
    trainable = b.unfreeze_top(model, 0)
    assert [t for t in trainable if t.startswith(("block", "stem"))] == []
    assert {"neck_conv1", "neck_conv2", "head"} <= set(trainable)
    assert "cut after block2" in b.describe() and "neck" in b.describe()
    with pytest.raises(ValueError):
        Backbone("tiny-cnn", None, cut="block9").block_names()


def test_out_of_domain_features_are_the_backbone_before_the_neck_or_the_head_without_one():
    pytest.importorskip("tensorflow")
    from training.pipeline.backbones import Backbone, build_classifier
    from training.pipeline.export import ood_embedding

    necked, _ = build_classifier(Backbone("tiny-cnn", None, width=4, seed=1, cut="block2", neck=((6, 3),)), 32, 2, 0.0)
    tensor, own = ood_embedding(necked, "backbone")
    assert own and tuple(tensor.shape[1:]) == (8,)  # block2's 2 x width channels, not the neck's 6
    tensor, own = ood_embedding(necked, "head")
    assert not own and tuple(tensor.shape[1:]) == (6,)
    plain, _ = build_classifier(Backbone("tiny-cnn", None, width=4, seed=1), 32, 2, 0.0)
    tensor, own = ood_embedding(plain, "backbone")  # no neck: the head's embedding is the backbone's
    assert not own and tensor is plain.get_layer("avg_pool").output
    with pytest.raises(ValueError, match="'head' or 'backbone'"):
        ood_embedding(plain, "neck")
