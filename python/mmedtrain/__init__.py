"""mmedtrain: the Python training loop behind `mmed train` (see docs/training-config.md)."""

__version__ = "0.1.0"
