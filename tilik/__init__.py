"""The ``tilik`` command: desktop app launcher and command-line tools over the inference core."""

__version__ = "0.1.0"
