"""The shared training pipeline: one YAML config per pack, from data to ``models/<id>/``.

``python -m training train CONFIG`` loads a dataset (folder per class, or a CSV with path, label
and optional group columns), splits it by group, caches frozen-backbone features, trains a
GlobalAveragePooling -> Dense head, fine-tunes the top blocks and records everything in a run
folder. ``python -m training export RUN_DIR`` turns the run into a pack: ONNX with probs, logits,
an exact CAM, the embedding and (when it wins) an in-graph Mahalanobis out-of-domain score;
thresholds chosen on validation data; evaluation through the exported file with the app's own
preprocessing; a model card with plots.

Modules (nothing is imported here, so ``import training.pipeline`` does not load TensorFlow):

- :mod:`~training.pipeline.config`: YAML configs, defaults and checks.
- :mod:`~training.pipeline.datasets`: samples from a folder tree or a CSV.
- :mod:`~training.pipeline.splits`: grouped, stratified train/val/test splits.
- :mod:`~training.pipeline.augment`: on-the-fly geometric and colour augmentation.
- :mod:`~training.pipeline.backbones`: ``lite0`` / ``lite1`` / ``lite2`` (ImageNet EfficientNet-Lite) and ``tiny-cnn``;
  :mod:`~training.pipeline.backbone_study` compares them (and input sizes) on frozen features.
- :mod:`~training.pipeline.features`: image decoding and the on-disk feature cache.
- :mod:`~training.pipeline.heads`: the training loop (head, then fine-tuning) with early stopping.
- :mod:`~training.pipeline.thresholds`, :mod:`~training.pipeline.ood`: operating points, OOD scores.
- :mod:`~training.pipeline.evaluate`, :mod:`~training.pipeline.robustness`: metrics.
- :mod:`~training.pipeline.export`, :mod:`~training.pipeline.card`, :mod:`~training.pipeline.plots`.
"""
