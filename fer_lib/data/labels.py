"""The canonical label space shared by every dataset in fer_lib.

Each dataset maps its native label order onto this one explicitly (see the dataset modules), so a
model trained on one dataset and evaluated on another (or on a subset list) agrees on class indices.
The order is the one the PCNN authors' code uses: neutral, happiness, sadness, surprise, fear,
disgust, anger, and contempt for 8-class sets.
"""

from __future__ import annotations

CANONICAL_CLASSES: tuple[str, ...] = (
    "neutral",
    "happiness",
    "sadness",
    "surprise",
    "fear",
    "disgust",
    "anger",
    "contempt",
)
SEVEN_CLASSES: tuple[str, ...] = CANONICAL_CLASSES[:7]
#: The six basic expressions (no neutral, no contempt), in canonical order: BU-3DFE, Multi-PIE, CM-CNN sets.
SIX_BASIC: tuple[str, ...] = ("happiness", "sadness", "surprise", "fear", "disgust", "anger")

_ALIASES = {
    "happy": "happiness",
    "happiness": "happiness",
    "ha": "happiness",
    "sad": "sadness",
    "sadness": "sadness",
    "sa": "sadness",
    "surprise": "surprise",
    "surprised": "surprise",
    "su": "surprise",
    "fear": "fear",
    "fearful": "fear",
    "fe": "fear",
    "disgust": "disgust",
    "disgusted": "disgust",
    "di": "disgust",
    "anger": "anger",
    "angry": "anger",
    "an": "anger",
    "neutral": "neutral",
    "ne": "neutral",
    "contempt": "contempt",
    "co": "contempt",
}


def canonical_name(name: str) -> str:
    """Map a native class name (any case, common synonyms) onto its canonical name.

    >>> canonical_name("Angry")
    'anger'
    """
    key = name.strip().lower()
    if key not in _ALIASES:
        raise ValueError(
            f"unknown expression class name {name!r}; known names: {sorted(set(_ALIASES))}"
        )
    return _ALIASES[key]
