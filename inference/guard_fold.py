"""One classifier run per batch for guards that know, before the classifier runs, every copy they
will need it to classify.

The noise detector needs only the tensor, so the images it flags (whose reformed copies are
classified a second time) are known before the model runs. A squeeze detector needs the
classifier's answer on squeezed copies, but *which* images get them (a median-residual screen, or
all) and the copies themselves need no classifier output either. Such copies join the batch's own
onnxruntime call instead of one or two small calls after it: onnxruntime's outputs per image do
not depend on the rest of the batch (tests pin the results equal to the separate-run path,
:attr:`Guard.folds_into_run` off). On two cores a call of one or two images keeps the second core
mostly idle, and the Python between calls runs while neither is busy.

Images only a squeeze detector flags are known after the run; their reformed copies are still
classified in :meth:`Guard.check` (a second call, as before).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from inference.guard import PRE_MODEL, GatedRun, Guard


@dataclass
class Folded:
    """What a guard adds to one batch's classifier run, and how to read its answers back."""

    n: int  # the batch's own images (the first n rows of the run)
    scores: dict[str, np.ndarray]
    gated: GatedRun | None  # the squeezed copies' run (rows n .. n + len(gated.tensors))
    reformed: np.ndarray  # images flagged before the run; their reformed copies come last
    extra: np.ndarray | None  # the tensors appended to the batch (None: nothing)

    def split(self, guard: Guard, out: Mapping[str, np.ndarray]
              ) -> tuple[dict[str, np.ndarray], tuple[dict[str, np.ndarray], dict[int, np.ndarray]]]:
        """The run's outputs on the batch alone, and ``pre`` for :meth:`Guard.check`: every
        detector's scores and the reformed copies' probabilities (image index → probabilities)."""
        n = self.n
        main = {k: v[:n] for k, v in out.items()} if self.extra is not None else dict(out)
        start = n
        if self.gated is not None:
            end = start + len(self.gated.tensors)
            extra = {k: out[k][start:end] for k in ("probs", "logits") if k in out}
            recon_probs = np.full(np.shape(main["probs"]), np.nan)  # no reconstruction in a folding guard
            guard.gated_scores(self.scores, recon_probs, self.gated, main, extra)
            start = end
        reformed = {int(i): out["probs"][start + k] for k, i in enumerate(self.reformed)}
        return main, (self.scores, reformed)


def fold(guard: Guard, batch: np.ndarray, pixels: Sequence[np.ndarray] | None) -> Folded:
    """The scores a :attr:`Guard.folds_into_run` guard gives before the classifier runs, and the
    tensors (squeezed copies, then the flagged images' reformed copies) to append to the batch."""
    scores, gated = guard.gated_inputs(batch, True, pixels)
    fired = np.zeros(len(batch), bool)
    for d in guard.policy.detectors:
        if d.name in PRE_MODEL:  # what is flagged now; a squeeze detector's flags come after the run
            fired |= scores[d.name] > d.threshold
    flagged = np.flatnonzero(fired) if guard.policy.reform else np.zeros(0, np.int64)
    parts = [gated.tensors] if gated is not None else []
    if len(flagged):
        parts.append(guard.reformed_tensors(batch, flagged, pixels))
    extra = np.concatenate(parts) if parts else None
    return Folded(len(batch), scores, gated, flagged, extra)
