"""SignatureView with a signature-verify 3 result: the overall score explained from the per-reference
scores (one scale, their median) and the registered overlay's alignment in words."""

from __future__ import annotations

import numpy as np

from gui.signature_worker import PackPolicy, ReferenceInfo, SignatureCheck
from gui.widgets.signature_view import SignatureView
from gui.workers import rgb_to_qimage
from inference.registry import PackRegistry
from inference.signature.verifier import Verifier
from tests.inference.signature.sig_fixtures import draw_signature, save, write_scoring_pack


def test_view_shows_coherent_scores_and_the_registration(qtbot, tmp_path):
    pack_dir = write_scoring_pack(tmp_path / "packs" / "signature-verify")
    pack = PackRegistry([(pack_dir.parent, "bundled")]).get("signature-verify")
    v = Verifier(pack)
    refs = [save(tmp_path / f"r{i}.png", draw_signature("loops", shift=3 * i)) for i in range(3)]
    query = save(tmp_path / "q.png", draw_signature("loops", shift=6, width=5))
    r = v.verify(query, refs)
    check = SignatureCheck(
        result=r, record=None, customer_id="C-1", document_ref="Cheque 1",
        references=tuple(ReferenceInfo(i + 1, str(p), "form") for i, p in enumerate(refs)), strict=False,
        query=rgb_to_qimage(np.repeat(draw_signature("loops")[:, :, None], 3, axis=2)), heat=None,
        overlay=rgb_to_qimage(r.overlay), source=str(query), origin="file")
    view = SignatureView()
    qtbot.addWidget(view)
    view.set_references_state(PackPolicy.of(pack), 3)
    view.show_check(check)
    title = view.refs_title.text()
    assert "the median of these" in title
    lo, hi = min(r.reference_scores), max(r.reference_scores)
    assert lo <= r.score <= hi
    from gui.widgets.common import pct

    for value in (r.score, lo, hi):
        assert pct(value) in title
    assert "aligned (scale ×" in view.overlay_title.text() and "of the ink agrees" in view.overlay_title.text()
    assert len(view.reference_rows()) == 3
    # the pack's operating points reach the view through the policy (thresholds and band, v3 form)
    policy = PackPolicy.of(pack)
    assert policy.threshold(3) == 0.5 and policy.strict_threshold(3) == 0.8 and policy.review_band(3) == (0.4, 0.6)
    assert "Scores from" in view.thresholds.text()
