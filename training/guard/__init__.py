"""The input guard's training side (issue 7).

- :mod:`training.guard.keras_pack`: a pack's own Keras model (logits) rebuilt from its run folder
  or from the installed ImageNet weights, with the pack's preprocessing as a differentiable op.
- :mod:`training.guard.attacks`: FGSM / BIM / PGD under an L∞ budget in [0, 1] pixel space.
- :mod:`training.guard.fgsm_cmd`: ``python -m training fgsm`` (adversarial PNGs for a pack).
- :mod:`training.guard.guard_cmd`: ``python -m training guard``, with its pieces in
  :mod:`~training.guard.calibrate`, :mod:`~training.guard.train_steps`, :mod:`~training.guard.evaluate`,
  :mod:`~training.guard.card` and :mod:`~training.guard.common`.

Importing this package imports nothing heavy; TensorFlow is loaded by the functions that need it.
"""


def kept_guard_record(pack_dir, key: str, file_name: str) -> dict | None:
    """The training record ``metrics.guard[key]`` of a guard model (``"autoencoder"``,
    ``"purifier"``) in ``pack_dir``'s current manifest, when the model's file ``file_name`` is still
    in the folder; None otherwise (no manifest, no record, or no file). What ``guard --keep-*``
    reuses, and what ``export`` carries over when it rewrites the manifest."""
    import json
    from pathlib import Path

    pack_dir = Path(pack_dir)
    try:
        old = json.loads((pack_dir / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    record = ((old.get("metrics") or {}).get("guard") or {}).get(key)
    return record if isinstance(record, dict) and (pack_dir / file_name).is_file() else None
