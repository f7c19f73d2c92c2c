"""``python -m tilik`` is the same as the ``tilik`` command."""

from inference.privacy import disable_telemetry

disable_telemetry()  # before onnxruntime is imported

from tilik.cli import main  # noqa: E402

raise SystemExit(main())
