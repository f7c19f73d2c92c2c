"""The input guard's training side (issue 7).

- :mod:`training.guard.keras_pack`: a pack's own Keras model (logits) rebuilt from its run folder
  or from the installed ImageNet weights, with the pack's preprocessing as a differentiable op.
- :mod:`training.guard.attacks`: FGSM / BIM / PGD under an L∞ budget in [0, 1] pixel space.
- :mod:`training.guard.fgsm_cmd`: ``python -m training fgsm`` (adversarial PNGs for a pack).

Importing this package imports nothing heavy; TensorFlow is loaded by the functions that need it.
"""
