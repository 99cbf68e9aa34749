"""The errors a dataset loader raises for a copy that is not in its distributed layout (public: catch them)."""

from __future__ import annotations


class DatasetLayoutError(FileNotFoundError):
    """A dataset root, label file or image that is missing or not in the expected layout."""


class LabelFileError(ValueError):
    """A label file with a malformed line or an unknown class."""


__all__ = ["DatasetLayoutError", "LabelFileError"]
