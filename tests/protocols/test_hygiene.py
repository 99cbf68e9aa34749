"""Test-set hygiene: no image a model is pretrained or trained on is in an evaluation set a table uses.

Images are identified by their source ids (:mod:`fer_lib.data.identity`): a FER2013 csv row and the FERPlus
image made from it are the same id, ``fer2013:<row>``; RAF-DB images are ``rafdb:<stem>``. Checked on the
exact-format fixtures (always) and on the real development data (``../shared/data``; skipped when absent),
with the splits exactly as the protocols load them: the pretraining sources of
:data:`fer_lib.protocols.pretrain.SOURCES`, the training split of every PCNN table and every evaluation set
those tables report (whole test sets and the RAN occlusion / pose subsets of
:func:`fer_lib.protocols.splits.subset_source`).
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pytest

from fer_lib.data import FERDataset, fixtures, load_dataset
from fer_lib.data.identity import check_disjoint, namespaces, sample_ids
from fer_lib.io import shared_data_root
from fer_lib.protocols.pretrain import SOURCES
from fer_lib.protocols.splits import SUBSET_KINDS, stratified_subsample, subset_source
from fer_lib.settings import data_kind_of, dataset_root

#: The training split of every PCNN table whose data is real: label -> (dataset, split).
TRAINING: dict[str, tuple[str, str]] = {
    "fer2013 train (Table V, Fig. 11)": ("fer2013", "train"),
    "ferplus train (Tables I, II, VI, VIII, IX)": ("ferplus", "train"),
    "rafdb train (Tables I, II, VII, VIII, IX, Fig. 11)": ("rafdb", "train"),
}
#: The real pretraining sources (a trunk pretrained once is used by every table).
PRETRAINING: dict[str, tuple[str, str]] = {
    f"{source} pretraining ({name} {split})": (name, split)
    for source, (name, split) in SOURCES.items()
    if data_kind_of(name) == "real"
}
#: Whole test sets the tables evaluate on; the RAN subsets of ferplus and rafdb are added by subset_source.
TEST_SETS: dict[str, tuple[str, str]] = {
    "fer2013 test (Table V, Fig. 11)": ("fer2013", "test"),
    "ferplus test (Tables I, II, VI, VIII, IX)": ("ferplus", "test"),
    "rafdb test (Tables I, II, VII, VIII, IX, Fig. 11)": ("rafdb", "test"),
}
SUBSET_BASES: tuple[str, ...] = ("ferplus", "rafdb")  # Tables VIII and IX
REAL_DATA_REASON = "real development data not found: set FER_SHARED_DATA or place it at ../shared/data"


class Sets:
    """The datasets under one data root, loaded as the protocols load them (memoised)."""

    def __init__(self, root: Path, kind: str) -> None:
        self.root, self.kind = root, kind

    @functools.cache  # noqa: B019 - one instance per test module
    def load(self, name: str, split: str, **options) -> FERDataset:
        if name.startswith("rafdb"):
            options["require_images"] = False  # the development copy of RAF-DB holds its labels only
        return load_dataset(name, root=dataset_root(self.root, name), split=split, **options)

    def training(self) -> dict[str, FERDataset]:
        return {label: self.load(*spec) for label, spec in {**PRETRAINING, **TRAINING}.items()}

    def evaluation(self) -> dict[str, FERDataset]:
        sets = {label: self.load(*spec) for label, spec in TEST_SETS.items()}
        for base in SUBSET_BASES:
            for kind in SUBSET_KINDS:
                name, options = subset_source(base, kind, self.root)
                sets[f"{name} (Tables VIII, IX)"] = self.load(name, "test", **options)
        return sets


@pytest.fixture(scope="module", params=["fixtures", "real"])
def data(request, tmp_path_factory):
    """The fixtures in their exact formats (``write_all`` layout), or the real data (skipped when absent)."""
    if request.param == "real":
        root = shared_data_root()
        if root is None:
            pytest.skip(REAL_DATA_REASON)
        yield Sets(root, "real")
        return
    root = tmp_path_factory.mktemp("hygiene")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FER_LIB_CACHE", str(root / "cache"))  # keep the fixture's pixel cache out of the home
        votes_csv, _ = fixtures.write_ferplus(root)
        rafdb = fixtures.write_rafdb(root / "rafdb")
        fixtures.write_ran_lists(root / "ran_lists", rafdb, votes_csv)
        yield Sets(root, "fixtures")


def test_every_set_is_loaded_and_named_in_the_shared_namespaces(data) -> None:
    # An empty or unidentified set would make the disjointness below hold vacuously.
    for label, ds in {**data.training(), **data.evaluation()}.items():
        ids = sample_ids(ds)
        assert len(ids), f"{label} is empty"
        assert namespaces(ids) <= {"fer2013", "rafdb"}, f"{label}: {namespaces(ids)}"
    # A new real pretraining source needs its own look here (FER2013's other usages are evaluation images).
    assert PRETRAINING == {"fer2013 pretraining (fer2013 Training)": ("fer2013", "Training")}


def test_pretraining_and_training_images_are_never_evaluation_images(data) -> None:
    check_disjoint(data.training(), data.evaluation())


def test_subsampled_training_sets_keep_their_ids_and_stay_disjoint(data) -> None:
    # The recipes cap a training split with a stratified subsample (a FERSubset): ids pass through it.
    training = {}
    for label, ds in data.training().items():
        sub = stratified_subsample(ds, max(7, len(ds) // 3), seed=1)
        assert set(sample_ids(sub)) <= set(sample_ids(ds)) and len(sub) < len(ds)
        training[label] = sub
    check_disjoint(training, data.evaluation())


def test_ferplus_validation_is_disjoint_from_pretraining_and_ferplus_train(data) -> None:
    # No table reports on FERPlus's validation set (PublicTest); model selection on it stays honest as long
    # as neither the pretraining source nor FERPlus's training split holds its images.
    train = {label: ds for label, ds in data.training().items() if "pretraining" in label or "ferplus" in label}
    check_disjoint(train, {"ferplus val": data.load("ferplus", "val")})


def test_the_check_fails_on_overlapping_sets(data) -> None:
    fer_all, ferplus_test = data.load("fer2013", "all"), data.load("ferplus", "test")
    n = len(ferplus_test)  # every FERPlus test image is a FER2013 image
    with pytest.raises(ValueError, match=rf"'fer2013 all' \({len(fer_all)} images\) and 'ferplus test' \({n} images\) "
                                         rf"share {n} images: fer2013:\d+, "):
        check_disjoint({"fer2013 all": fer_all}, {"ferplus test": ferplus_test})
    # Table V trains on Training + PublicTest: FERPlus's validation images
    with pytest.raises(ValueError, match="'fer2013 train' .* and 'ferplus val' .* share"):
        check_disjoint({"fer2013 train": data.load("fer2013", "train")}, {"ferplus val": data.load("ferplus", "val")})
    name, options = subset_source("rafdb", "occlusion", data.root)
    occlusion = data.load(name, "test", **options)
    with pytest.raises(ValueError, match="'rafdb all' .* and 'rafdb occlusion' .* share .* rafdb:test_"):
        check_disjoint({"rafdb all": data.load("rafdb", "all")}, {"rafdb occlusion": occlusion})


@pytest.mark.parametrize("base", ["synth-inthewild"])
def test_the_synthetic_stand_in_is_disjoint_too(base) -> None:
    # Without real data the tables run on SynthFER, pretrained on its training split.
    train = {f"{source} pretraining": load_dataset(name, split=split, scale="cpu")
             for source, (name, split) in SOURCES.items() if data_kind_of(name) == "synthetic"}
    assert train
    train[f"{base} train"] = load_dataset(base, split="train", scale="cpu")
    evaluation = {f"{base} test": load_dataset(base, split="test", scale="cpu")}
    for kind in SUBSET_KINDS:
        name, options = subset_source(base, kind, None)
        evaluation[f"{base} {kind}"] = load_dataset(name, split="test", scale="cpu", **options)
    assert all(len(ds) for ds in evaluation.values())
    check_disjoint(train, evaluation)


def test_a_ferplus_test_image_and_its_fer2013_privatetest_row_share_an_id(data) -> None:
    private = data.load("fer2013", "PrivateTest")
    ferplus = data.load("ferplus", "test")
    position = {sid: i for i, sid in enumerate(sample_ids(private))}
    ids = sample_ids(ferplus)
    assert all(sid in position for sid in ids)
    # ... and the same id is the same picture
    for i in np.linspace(0, len(ferplus) - 1, min(len(ferplus), 200)).astype(int):
        assert np.array_equal(np.asarray(ferplus.load_image(i)), np.asarray(private.load_image(position[ids[i]])))
    # A RAN list names FERPlus images (``1_fer0034656.png``): resolved through fer2013new.csv's Image name
    # column, each is the FER2013 PrivateTest row of that name.
    votes = data.load("ferplus", "all", label_mode="argmax")  # every named row but unknown / not-a-face winners
    name_of = dict(zip(sample_ids(votes), votes.metadata["image_name"], strict=True))
    for kind in SUBSET_KINDS:
        name, options = subset_source("ferplus", kind, data.root)
        subset = data.load(name, "test", **options)
        sub_ids = sample_ids(subset)
        assert all(sid in position for sid in sub_ids), f"{name} names images outside PrivateTest"
        named = [(sid, stem) for sid, stem in zip(sub_ids, subset.metadata["name"], strict=True) if sid in name_of]
        assert named and all(name_of[sid] == stem + ".png" for sid, stem in named)
    if data.kind == "real":
        name, options = subset_source("ferplus", "occlusion", data.root)
        occlusion = data.load(name, "test", **options)
        row = occlusion.metadata.index[occlusion.metadata["name"] == "fer0034656"][0]
        sid = sample_ids(occlusion)[row]
        assert private.metadata["usage"][position[sid]] == "PrivateTest" and name_of.get(sid) == "fer0034656.png"
