"""The ``signature-verify`` pack: writer-independent signature verification on CEDAR.

``python -m training signatures --config training/configs/signature-verify.yaml`` normalises every
image with the runtime code (:mod:`inference.signature.preprocess`), caches CNN embeddings, trains
the dichotomy SVMs, evaluates on writer-disjoint test writers and writes ``models/signature-verify/``.

Modules (nothing is imported here, so importing the package does not load TensorFlow):

- :mod:`~training.signatures.data`: the CEDAR manifest, writer splits and (query, reference) pairs.
- :mod:`~training.signatures.cache`: normalised canvases, descriptors and embeddings, cached on disk.
- :mod:`~training.signatures.cnn`: the EfficientNet-Lite0 model, its fine-tuning and ONNX export.
- :mod:`~training.signatures.svm`: the four study kernels, calibration, skl2onnx export.
- :mod:`~training.signatures.metrics`: EER, FAR/FRR, ROC/DET, AUC.
- :mod:`~training.signatures.evaluate`: the verification protocol with n references, per-writer spread.
- :mod:`~training.signatures.baselines`: single-image protocol and the background-only baseline.
- :mod:`~training.signatures.robustness`: blur and noise degradations.
- :mod:`~training.signatures.card`: plots and ``CARD.md``.
- :mod:`~training.signatures.cmd`: the command that runs everything.
"""
