"""signature-verify 3.2.0's pack (issue #23): the bundled files belong together, the manifest carries no
test numbers and says why, and the card's verdicts and sample notes say what happened."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest

PACK = Path(__file__).resolve().parents[2] / "models" / "signature-verify"


def _manifest() -> dict:
    if not (PACK / "manifest.json").is_file():
        pytest.skip("models/signature-verify is not in this checkout")
    m = json.loads((PACK / "manifest.json").read_text(encoding="utf-8"))
    if not m["version"].startswith("3.2"):
        pytest.skip(f"the bundled signature pack is {m['version']}, not a 3.2 pack")
    return m


def test_the_bundled_cohort_matches_the_models_embedding_and_the_manifest_has_no_test():
    import onnx

    m = _manifest()
    model = onnx.load(str(PACK / m["model"]["file"]), load_external_data=False)
    out = next(o for o in model.graph.output if o.name == m["outputs"]["embedding"])
    dims = out.type.tensor_type.shape.dim[1].dim_value
    cohort = np.load(io.BytesIO((PACK / m["extra_files"]["cohort"]["file"]).read_bytes()), allow_pickle=False)
    assert cohort.shape == (300, dims) and dims == 256 + m["metrics"]["channel"]["pca"]
    prec = m["metrics"]["cohort_precision"]
    # float16 only when the check found no decision changed and every score within 1e-3
    assert (cohort.dtype == np.float16) == (prec["same_decisions"] and prec["within_1e-3"])
    assert m["metrics"]["cohort_parity"]["test_writers_in_cohort"] == 0
    assert m["metrics"]["cohort_parity"]["fused_min_cosine"] > 0.9999
    assert m["metrics"]["test"] is None and "independent evaluation is the only test" in m["metrics"]["test_status"]
    prev = m["metrics"]["previous_version"]
    assert prev["version"] == "3.1.1" and prev["test"]["5"]["eer"]["cedar"] > 0
    floor = m["verify"]["scoring"]["reference_outlier_floor"]
    assert 0 < floor < 1 and floor != prev["scoring"]["reference_outlier_floor"]


def test_the_cards_verdicts_and_sample_note():
    from training.signatures.v32_pack_card import samples_note, verdict

    assert verdict("CEDAR EER ≤ 3%", False) == "NOT met (CV)"
    assert verdict("background-only (normalised) and corpus-only baselines within 5 points of chance", True) == \
        "met (3.0.0's measurement)"
    info = {"after": [{"file": "b72_genuine.png", "source": "B-S-72-G-08.png", "score": 0.99}],
            "before_repick": [{"file": "b72_genuine.png", "source": "B-S-72-G-06.png", "label": "genuine",
                               "score": 0.7921, "needs_review": True, "ok": False},
                              {"file": "w36_forged.jpg", "source": "x", "label": "forged", "score": 0.05,
                               "needs_review": False, "ok": True}]}
    text = "\n".join(samples_note(info))
    assert "B-S-72-G-06.png) scored 79.2% (genuine, sent to review)" in text and "B-S-72-G-08.png (99.0%)" in text
    assert "w36_forged" not in text
