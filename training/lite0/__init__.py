"""EfficientNet-Lite0 (and Lite1, Lite2: ``variant=``) with ImageNet weights, ported from PyTorch to
Keras without PyTorch.

- :mod:`training.lite0.torch_legacy`: reads the legacy ``torch.save`` checkpoint into NumPy.
- :mod:`training.lite0.model`: the Keras builder (:func:`~training.lite0.model.build_lite0`,
  :func:`~training.lite0.model.build_lite0_backbone`) and weight loading.
- :mod:`training.lite0.cam_export`: GAP -> Dense models to ONNX with probs, logits, an exact CAM
  and the embedding as outputs, plus a Keras vs onnxruntime parity check.
- :mod:`training.lite0.cmd`: ``python -m training imagenet-lite0`` builds ``models/imagenet-lite0/``.

Nothing is imported here, so importing the package does not pull in TensorFlow.
"""
