"""Each dataset's native label order maps explicitly onto the canonical classes."""

from __future__ import annotations

import numpy as np

from fer_lib.data import affectnet, ckplus, fer2013, ferplus, jaffe, rafdb
from fer_lib.data.labels import CANONICAL_CLASSES, SEVEN_CLASSES


def test_fer2013_native_order() -> None:
    # FER2013: 0=Angry 1=Disgust 2=Fear 3=Happy 4=Sad 5=Surprise 6=Neutral.
    expected = ["anger", "disgust", "fear", "happiness", "sadness", "surprise", "neutral"]
    assert [SEVEN_CLASSES[i] for i in fer2013.NATIVE_TO_INDEX] == expected


def test_rafdb_native_order() -> None:
    # RAF-DB: 1=Surprise 2=Fear 3=Disgust 4=Happiness 5=Sadness 6=Anger 7=Neutral.
    expected = ["surprise", "fear", "disgust", "happiness", "sadness", "anger", "neutral"]
    assert [SEVEN_CLASSES[i] for i in rafdb.NATIVE_TO_INDEX[1:]] == expected
    assert rafdb.NATIVE_TO_INDEX[0] == -1


def test_ferplus_native_order() -> None:
    expected = ["neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear", "contempt"]
    assert [CANONICAL_CLASSES[i] for i in ferplus.native_to_index(8)] == expected
    seven = ferplus.native_to_index(7)
    assert [SEVEN_CLASSES[i] for i in seven[:7]] == expected[:7] and seven[7] == -1
    assert list(ferplus.VOTE_COLUMNS[:8]) == expected


def test_other_datasets_native_orders() -> None:
    assert [ckplus.CKPLUS_TO_CANONICAL[k] for k in range(8)] == [
        "neutral", "anger", "contempt", "disgust", "fear", "happiness", "sadness", "surprise"]
    assert [affectnet.AFFECTNET_TO_CANONICAL[k] for k in range(8)] == list(CANONICAL_CLASSES)
    assert jaffe.JAFFE_TO_CANONICAL == {"AN": "anger", "DI": "disgust", "FE": "fear", "HA": "happiness",
                                        "NE": "neutral", "SA": "sadness", "SU": "surprise"}
    for mapping in (ckplus.CKPLUS_TO_CANONICAL, affectnet.AFFECTNET_TO_CANONICAL, jaffe.JAFFE_TO_CANONICAL):
        assert len(set(mapping.values())) == len(mapping)  # one native label per canonical class


def test_ckplus_class_subsets_keep_canonical_order() -> None:
    assert ckplus.ckplus_classes(True, True) == CANONICAL_CLASSES
    six = ckplus.ckplus_classes(False, False)
    assert six == ("happiness", "sadness", "surprise", "fear", "disgust", "anger")
    assert np.all(np.diff([CANONICAL_CLASSES.index(c) for c in ckplus.ckplus_classes(False, True)]) > 0)
