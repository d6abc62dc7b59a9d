"""The version of tfadv, read by `tfadv.__version__` and by `setup.py` (without importing tfadv)."""

__version__ = "0.1.0"
