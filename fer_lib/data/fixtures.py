"""Tiny datasets written in each dataset's exact distributed layout, for tests and smoke-scale notebooks.

The images are simple drawn faces (an ellipse, two eyes, a mouth whose shape follows the class), so a
sample grid is readable; the files, names, label formats and quirks (FERPlus rows without an image
name, CRLF list files, CK+ sequences without a label) are those of the real distributions.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from fer_lib.data.fer2013 import FER2013_TO_CANONICAL, write_fer2013_csv
from fer_lib.data.ferplus import VOTE_COLUMNS

_MOUTH = {  # canonical class -> mouth curvature (pixels at 48 px, + = smile) and openness
    "neutral": (0, 0),
    "happiness": (4, 1),
    "sadness": (-4, 0),
    "surprise": (0, 6),
    "fear": (-2, 4),
    "disgust": (-3, 2),
    "anger": (-4, 1),
    "contempt": (2, 0),
}


def face_image(cls: str, size: int = 48, seed: int = 0, rgb: bool = False) -> np.ndarray:
    """A drawn grey (or RGB) face of class ``cls``: uint8 ``(size, size)`` or ``(size, size, 3)``."""
    rng = np.random.default_rng(seed)
    s = size / 48.0
    image = Image.new("L", (size, size), int(rng.integers(30, 70)))
    draw = ImageDraw.Draw(image)
    skin = int(rng.integers(150, 210))
    draw.ellipse([8 * s, 4 * s, 40 * s, 46 * s], fill=skin)
    for x in (17, 31):
        draw.ellipse([(x - 3) * s, 17 * s, (x + 3) * s, 21 * s], fill=40)
    curve, opening = _MOUTH[cls]
    y = 34 * s
    draw.line([16 * s, y - curve * s / 2, 24 * s, y + curve * s / 2, 32 * s, y - curve * s / 2], fill=60,
              width=max(1, round(2 * s)))
    if opening:
        draw.ellipse([21 * s, y - opening * s / 2, 27 * s, y + opening * s / 2], fill=30)
    array = np.asarray(image, dtype=np.int16) + rng.integers(-8, 9, size=(size, size))
    array = np.clip(array, 0, 255).astype(np.uint8)
    return np.repeat(array[..., None], 3, axis=2) if rgb else array


def write_fer2013(root: str | os.PathLike, per_class: tuple[int, int, int] = (3, 1, 1), gz: bool = True) -> Path:
    """``root/fer2013.csv(.gz)`` with ``per_class`` rows per class for Training/PublicTest/PrivateTest."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    emotion, pixels, usage = [], [], []
    for usage_name, count in zip(("Training", "PublicTest", "PrivateTest"), per_class, strict=True):
        for label in range(7):
            for k in range(count):
                emotion.append(label)
                pixels.append(face_image(FER2013_TO_CANONICAL[label], seed=len(emotion) * 7 + k))
                usage.append(usage_name)
    return write_fer2013_csv(root / ("fer2013.csv.gz" if gz else "fer2013.csv"), emotion, pixels, usage)


def write_fer2013_folders(root: str | os.PathLike, per_class: int = 2) -> Path:
    """The image-folder re-distribution ``train|test/<class>/<Usage>_<n>.jpg``."""
    root = Path(root)
    names = {"anger": "angry", "disgust": "disgust", "fear": "fear", "happiness": "happy",
             "sadness": "sad", "surprise": "surprise", "neutral": "neutral"}
    n = 0
    for folder, usages in (("train", ("Training",)), ("test", ("PublicTest", "PrivateTest"))):
        for cls, name in names.items():
            (root / folder / name).mkdir(parents=True, exist_ok=True)
            for usage in usages:
                for _ in range(per_class):
                    n += 1
                    Image.fromarray(face_image(cls, seed=n)).save(root / folder / name / f"{usage}_{1000 + n}.jpg")
    return root


#: FERPlus vote rows covering each protocol case: (votes in VOTE_COLUMNS order, what it tests).
FERPLUS_CASES: tuple[tuple[tuple[int, ...], str], ...] = (
    ((10, 0, 0, 0, 0, 0, 0, 0, 0, 0), "neutral"),
    ((0, 8, 1, 0, 0, 0, 0, 0, 1, 0), "happiness"),
    ((1, 0, 6, 0, 0, 0, 3, 0, 0, 0), "surprise"),  # the single neutral vote is removed
    ((0, 0, 0, 4, 3, 0, 0, 3, 0, 0), "none"),  # majority: 4 of 10 is not > 50 %; argmax: sadness
    ((0, 0, 0, 0, 0, 0, 0, 0, 0, 10), "NF"),
    ((2, 0, 0, 0, 0, 0, 0, 0, 8, 0), "unknown"),
    ((0, 0, 0, 0, 0, 0, 0, 7, 3, 0), "contempt"),
    ((0, 0, 0, 0, 6, 2, 2, 0, 0, 0), "anger"),
)


def write_ferplus(root: str | os.PathLike, fer2013_csv: str | os.PathLike | None = None) -> tuple[Path, Path]:
    """``root/ferplus/fer2013new.csv`` row-aligned with a fixture FER2013 csv in ``root/fer2013/``.

    Rows cycle through :data:`FERPLUS_CASES`; the last Training row has an empty image name. Image
    names are ``fer<7 digits>.png`` numbered from 100 so they differ from the row index.
    Returns ``(votes csv, fer2013 csv)``.
    """
    root = Path(root)
    fer_csv = Path(fer2013_csv) if fer2013_csv else write_fer2013(root / "fer2013")
    from fer_lib.data.fer2013 import load_fer2013_csv

    table = load_fer2013_csv(fer_csv, cache_dir=False)
    out = root / "ferplus" / "fer2013new.csv"
    out.parent.mkdir(parents=True, exist_ok=True)
    last_training = int(np.flatnonzero(table.usage == "Training")[-1])
    with open(out, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Usage", "Image name", *VOTE_COLUMNS])
        for row, usage in enumerate(table.usage):
            votes = FERPLUS_CASES[row % len(FERPLUS_CASES)][0]
            name = "" if row == last_training else f"fer{100 + row:07d}.png"
            writer.writerow([usage, name, *votes])
    return out, fer_csv


def write_ferplus_folders(root: str | os.PathLike, per_folder: int = 8) -> Path:
    """The FERPlus image layout: ``FER2013Train|Valid|Test/`` with ``fer*.png`` and a headerless ``label.csv``."""
    root = Path(root)
    n = 0
    for folder in ("FER2013Train", "FER2013Valid", "FER2013Test"):
        (root / folder).mkdir(parents=True, exist_ok=True)
        with open(root / folder / "label.csv", "w", newline="") as handle:
            writer = csv.writer(handle)
            for k in range(per_folder):
                votes, cls = FERPLUS_CASES[k % len(FERPLUS_CASES)]
                name = f"fer{n:07d}.png"
                face = cls if cls in _MOUTH else "neutral"
                Image.fromarray(face_image(face, seed=n)).save(root / folder / name)
                writer.writerow([name, "(0, 0, 48, 48)", *votes])
                n += 1
    return root


RAF_NATIVE = {1: "surprise", 2: "fear", 3: "disgust", 4: "happiness", 5: "sadness", 6: "anger", 7: "neutral"}


def write_rafdb(root: str | os.PathLike, n_train: int = 14, n_test: int = 7, images: bool = True) -> Path:
    """``root/EmoLabel/list_patition_label.txt`` and ``root/Image/aligned/<stem>_aligned.jpg`` (100x100 RGB)."""
    root = Path(root)
    (root / "EmoLabel").mkdir(parents=True, exist_ok=True)
    lines = []
    for split, count in (("train", n_train), ("test", n_test)):
        for i in range(1, count + 1):
            label = (i - 1) % 7 + 1
            stem = f"{split}_{i:05d}" if split == "train" else f"{split}_{i:04d}"
            lines.append(f"{stem}.jpg {label}")
            if images:
                (root / "Image" / "aligned").mkdir(parents=True, exist_ok=True)
                face = face_image(RAF_NATIVE[label], size=100, seed=i, rgb=True)
                Image.fromarray(face).save(root / "Image" / "aligned" / f"{stem}_aligned.jpg")
    (root / "EmoLabel" / "list_patition_label.txt").write_text("\n".join(lines) + "\n")
    return root


def write_ran_lists(root: str | os.PathLike, rafdb_root: Path, ferplus_csv: Path) -> Path:
    """RAN-style lists (CRLF occlusion lists, label-prefixed pose lists) for the fixture RAF-DB and FERPlus."""
    root = Path(root)
    raf_dir, fp_dir = root / "RAF_DB_dir", root / "FERplus_dir"
    raf_dir.mkdir(parents=True, exist_ok=True)
    fp_dir.mkdir(parents=True, exist_ok=True)
    raf = [line.split() for line in (rafdb_root / "EmoLabel" / "list_patition_label.txt").read_text().splitlines()]
    test = [(name[:-4], int(label) - 1) for name, label in raf if name.startswith("test_")]
    occ = [f"{stem}_aligned {label} {i % 4 + 1}" for i, (stem, label) in enumerate(test[:5])]
    (raf_dir / "rafdb_occlusion_list.txt").write_bytes(("\r\n".join(occ)).encode())
    for fname, rows in (("val_raf_db_list.txt", test[:4]), ("val_raf_db_list_45.txt", test[:2])):
        (raf_dir / fname).write_text("".join(f"{label}/{stem}_aligned.jpg\n" for stem, label in rows))
        label_name = fname.replace("list", "label")
        (raf_dir / label_name).write_text(f"{len(rows)} 7\n" + "".join(f"{label}\n" for _, label in rows))
    with open(ferplus_csv, newline="") as handle:
        rows = list(csv.DictReader(handle))
    private = [(r["Image name"][:-4], i) for i, r in enumerate(rows) if r["Usage"] == "PrivateTest" and r["Image name"]]
    labels = [i % 8 for i in range(len(private))]
    occ = [f"{lab}_{name}.png 8 {k % 4}" for k, ((name, _), lab) in enumerate(zip(private[:6], labels, strict=False))]
    (fp_dir / "jianfei_occlusion_list.txt").write_bytes(("\r\n".join(occ) + "\r\n").encode())
    (fp_dir / "pose_30_ferplus_list.txt").write_text(
        "".join(f"{lab}/{name}.jpg\n" for (name, _), lab in zip(private[:5], labels, strict=False)))
    (fp_dir / "pose_45_ferplus_list.txt").write_text(
        "".join(f"{lab}/{name}.jpg\n" for (name, _), lab in zip(private[:3], labels, strict=False)))
    return root


CK_CODES = {1: "anger", 2: "contempt", 3: "disgust", 4: "fear", 5: "happiness", 6: "sadness", 7: "surprise"}


def write_ckplus(root: str | os.PathLike, n_subjects: int = 10, frames: int = 5, size: int = 64) -> Path:
    """``cohn-kanade-images/Sxxx/yyy/*.png`` + ``Emotion/Sxxx/yyy/*_emotion.txt``; the last sequence of
    the first subject has no emotion file (unlabelled, as 266 real sequences are)."""
    root = Path(root)
    n = 0
    for s in range(n_subjects):
        subject = f"S{5 + s * 7:03d}"
        for q in range(1, 4):
            seq = f"{q:03d}"
            code = (s * 3 + q - 1) % 7 + 1
            seq_dir = root / "cohn-kanade-images" / subject / seq
            seq_dir.mkdir(parents=True, exist_ok=True)
            for f in range(1, frames + 1):
                n += 1
                cls = "neutral" if f == 1 else CK_CODES[code]
                Image.fromarray(face_image(cls, size=size, seed=n)).save(seq_dir / f"{subject}_{seq}_{f:08d}.png")
            if s == 0 and q == 3:
                continue
            emo_dir = root / "Emotion" / subject / seq
            emo_dir.mkdir(parents=True, exist_ok=True)
            (emo_dir / f"{subject}_{seq}_{frames:08d}_emotion.txt").write_text(f"   {code:.7e}\n")
    return root


def write_ck48(root: str | os.PathLike, n_subjects: int = 10) -> Path:
    """``CK+48/<class>/Sxxx_yyy_zzzzzzzz.png`` (three frames a sequence)."""
    root = Path(root) / "CK+48"
    names = {"anger": "anger", "contempt": "contempt", "disgust": "disgust", "fear": "fear",
             "happiness": "happy", "sadness": "sadness", "surprise": "surprise"}
    n = 0
    for s in range(n_subjects):
        subject = f"S{10 + s:03d}"
        cls = list(names)[s % 7]
        (root / names[cls]).mkdir(parents=True, exist_ok=True)
        for f in range(10, 13):
            n += 1
            Image.fromarray(face_image(cls, seed=n)).save(root / names[cls] / f"{subject}_001_{f:08d}.png")
    return root


JAFFE_SUBJECTS = ("KA", "KL", "KM", "KR", "MK", "NA", "NM", "TM", "UY", "YM")


def write_jaffe(root: str | os.PathLike, per_expression: int = 1, size: int = 64) -> Path:
    """``root/*.tiff`` named ``KA.AN1.39.tiff`` (10 subjects x 7 expressions), plus a README that is ignored."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    codes = {"AN": "anger", "DI": "disgust", "FE": "fear", "HA": "happiness", "NE": "neutral",
             "SA": "sadness", "SU": "surprise"}
    n = 0
    for subject in JAFFE_SUBJECTS:
        for code, cls in codes.items():
            for k in range(1, per_expression + 1):
                n += 1
                Image.fromarray(face_image(cls, size=size, seed=n)).save(root / f"{subject}.{code}{k}.{n}.tiff")
    (root / "README").write_text("fixture\n")
    return root


def write_affectnet(root: str | os.PathLike, per_code: int = 2) -> Path:
    """``Manually_Annotated_file_lists/training.csv|validation.csv`` + ``Manually_Annotated_Images/<d>/<f>.jpg``."""
    root = Path(root)
    lists = root / "Manually_Annotated_file_lists"
    lists.mkdir(parents=True, exist_ok=True)
    names = ["neutral", "happiness", "sadness", "surprise", "fear", "disgust", "anger", "contempt"]
    n = 0
    for fname in ("training.csv", "validation.csv"):
        with open(lists / fname, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["subDirectory_filePath", "face_x", "face_y", "face_width", "face_height",
                             "facial_landmarks", "expression", "valence", "arousal"])
            for code in range(11):
                for _ in range(per_code):
                    n += 1
                    rel = f"{n % 3 + 1}/{n:040x}.jpg"
                    path = root / "Manually_Annotated_Images" / rel
                    path.parent.mkdir(parents=True, exist_ok=True)
                    cls = names[code] if code < 8 else "neutral"
                    Image.fromarray(face_image(cls, size=64, seed=n, rgb=True)).save(path)
                    marks = ";".join(f"{10 + (i % 17) * 2.5:.2f};{12 + (i // 17) * 9.0:.2f}" for i in range(68))
                    writer.writerow([rel, 4, 4, 56, 56, marks, code, 0.1 * (code % 5), -0.2])
    return root


def write_bu3dfe(root: str | os.PathLike, n_subjects: int = 5, protocol: str = "p1", size: int = 48,
                 textures: bool = True) -> Path:
    """BU-3DFE: ``views/F0001/F0001_AN01_y+30_p+00.png`` renders of ``protocol``'s views (plus the neutral
    model's) and, with ``textures``, the distributed ``F0001/F0001_AN01WH_F2D.bmp`` frontal textures next to
    ``.wrl`` model files (empty here), half the subjects female (``F``), half male (``M``)."""
    from fer_lib.data.bu3dfe import BU3DFE_TO_CANONICAL, PROTOCOLS

    root = Path(root)
    yaws, pitches, levels = PROTOCOLS[protocol]
    n = 0
    for k in range(n_subjects):
        subject = f"{'FM'[k % 2]}{k + 1:04d}"
        models = [(code, level) for code in BU3DFE_TO_CANONICAL if code != "NE" for level in levels] + [("NE", 0)]
        for code, level in models:
            cls = BU3DFE_TO_CANONICAL[code]
            if textures:
                folder = root / subject
                folder.mkdir(parents=True, exist_ok=True)
                n += 1
                Image.fromarray(face_image(cls, size=size, seed=n, rgb=True)).save(
                    folder / f"{subject}_{code}{level:02d}WH_F2D.bmp")
                (folder / f"{subject}_{code}{level:02d}WH_F3D.wrl").write_text("#VRML V2.0 utf8\n")
            for yaw in yaws:
                for pitch in pitches:
                    folder = root / "views" / subject
                    folder.mkdir(parents=True, exist_ok=True)
                    n += 1
                    Image.fromarray(face_image(cls, size=size, seed=n, rgb=True)).save(
                        folder / f"{subject}_{code}{level:02d}_y{yaw:+03d}_p{pitch:+03d}.png")
    return root


def write_multipie(root: str | os.PathLike, n_subjects: int = 6, size: int = 48) -> Path:
    """Multi-PIE: ``data/session0S/multiview/<subj>/<rec>/<cam>/<subj>_<S>_<rec>_<cam>_<ill>.png`` for every
    expression recording, the 13 horizontal cameras and the elevated 08_1, illuminations 00 and 07. The last
    subject misses session 4 (no scream), as subjects who did not return do."""
    from fer_lib.data.multipie import CAMERA_YAW, RECORDINGS

    root = Path(root)
    cameras = [*CAMERA_YAW, "081"]
    n = 0
    for subject in range(1, n_subjects + 1):
        for (session, recording), cls in RECORDINGS.items():
            if subject == n_subjects and session == 4:
                continue
            for camera in cameras:
                folder = (root / "data" / f"session{session:02d}" / "multiview" / f"{subject:03d}" /
                          f"{recording:02d}" / f"{camera[:2]}_{camera[2]}")
                folder.mkdir(parents=True, exist_ok=True)
                for ill in (0, 7):
                    n += 1
                    drawn = {"smile": "happiness", "scream": "surprise", "squint": "anger"}.get(cls, cls)
                    Image.fromarray(face_image(drawn, size=size, seed=n)).save(
                        folder / f"{subject:03d}_{session:02d}_{recording:02d}_{camera}_{ill:02d}.png")
    return root


# -- 3-D scans (CM-CNN's BU-3DFE models and Bosphorus) ----------------------------------------------------
def face_scan(cls: str, n: int = 40, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A face-like range grid of class ``cls``: ``(grid [5, n, n] = x, y, z, u, v; face mask [n, n])``.

    An ellipsoidal dome over x, y in [-1, 1] (+z towards the camera) with a nose and a mouth whose curvature
    follows the class (as :func:`face_image`'s); ``u, v`` map x, y into a texture image (``v`` upwards)."""
    rng = np.random.default_rng(seed)
    axis = np.linspace(-1.0, 1.0, n)
    x, y = np.meshgrid(axis, axis[::-1])
    r2 = (x / 0.75) ** 2 + (y / 0.95) ** 2
    face = r2 < 1.0
    z = np.sqrt(np.clip(1.0 - r2, 0.0, None)) * 0.6
    z += 0.15 * np.exp(-((x / 0.12) ** 2 + ((y + 0.05) / 0.25) ** 2))  # nose
    curve, opening = _MOUTH[cls]
    mouth_y = -0.45 + 0.03 * curve * (x / 0.3) ** 2
    z += 0.04 * (1 + opening / 3) * np.exp(-((x / 0.3) ** 2 + ((y - mouth_y) / 0.05) ** 2))
    z += rng.normal(0.0, 0.002, size=z.shape)
    return np.stack([x, y, z, (x + 1) / 2, (y + 1) / 2]), face


def write_bosphorus(root: str | os.PathLike, n_subjects: int = 12, n: int = 32) -> Path:
    """Bosphorus: ``bs000/bs000_E_HAPPY_0.bnt`` range scans with their ``.png`` images for the six basic
    expressions, plus a neutral scan per subject (skipped by the loader), a second take of one expression for
    the first subject, and one subject missing its fear scan (left out of protocol p1)."""
    from fer_lib.data.bosphorus import BOSPHORUS_TO_CANONICAL
    from fer_lib.data.scans import write_bnt

    root = Path(root)
    zmin = -1.0e9
    k = 0
    for i in range(n_subjects):
        subject = f"bs{i:03d}"
        folder = root / subject
        folder.mkdir(parents=True, exist_ok=True)
        takes = [(e, 0) for e in BOSPHORUS_TO_CANONICAL] + [("N", 0)] + ([("HAPPY", 1)] if i == 0 else [])
        for emotion, take in takes:
            if i == n_subjects - 1 and emotion == "FEAR":
                continue
            stem = f"{subject}_N_N_0" if emotion == "N" else f"{subject}_E_{emotion}_{take}"
            cls = BOSPHORUS_TO_CANONICAL.get(emotion, "neutral")
            k += 1
            grid, face = face_scan(cls, n, seed=k)
            grid[2][~face] = zmin
            write_bnt(folder / f"{stem}.bnt", grid, zmin, f"{stem}.png")
            Image.fromarray(face_image(cls, size=64, seed=k, rgb=True)).save(folder / f"{stem}.png")
    return root


def _vrml_model(grid: np.ndarray, face: np.ndarray, texture_name: str) -> str:
    """A BU-3DFE-style VRML 2.0 model of a range grid's face points: triangles over the grid, one texture
    coordinate per vertex."""
    n = face.shape[0]
    index = -np.ones(face.shape, dtype=np.int64)
    index[face] = np.arange(int(face.sum()))
    triangles = []
    for r in range(n - 1):
        for c in range(n - 1):
            a, b, d, e = index[r, c], index[r, c + 1], index[r + 1, c], index[r + 1, c + 1]
            if min(a, b, d) >= 0:
                triangles.append((a, d, b))
            if min(b, d, e) >= 0:
                triangles.append((b, d, e))
    points = ",\n".join(f"{x:.5f} {y:.5f} {z:.5f}" for x, y, z in zip(*(grid[i][face] for i in range(3)),
                                                                       strict=True))
    uvs = ",\n".join(f"{u:.5f} {v:.5f}" for u, v in zip(grid[3][face], grid[4][face], strict=True))
    faces = ",\n".join(f"{a}, {b}, {c}, -1" for a, b, c in triangles)
    return ("#VRML V2.0 utf8\n\nTransform { children [ Shape {\n"
            f"  appearance Appearance {{ texture ImageTexture {{ url \"{texture_name}\" }} }}\n"
            "  geometry IndexedFaceSet {\n"
            f"    coord Coordinate {{ point [\n{points}\n] }}\n"
            f"    texCoord TextureCoordinate {{ point [\n{uvs}\n] }}\n"
            f"    coordIndex [\n{faces}\n]\n"
            f"    texCoordIndex [\n{faces}\n]\n"
            "  }\n} ] }\n")


def write_bu3dfe_scans(root: str | os.PathLike, n_subjects: int = 12, levels: tuple[int, ...] = (3, 4),
                       n: int = 24) -> Path:
    """BU-3DFE's 3-D models: ``F0001/F0001_AN04WH_F3D.wrl`` VRML models with their ``_F3D.bmp`` textures for the
    six expressions at ``levels`` and the neutral model, half the subjects female (``F``), half male (``M``)."""
    from fer_lib.data.bu3dfe import BU3DFE_TO_CANONICAL

    root = Path(root)
    k = 0
    for i in range(n_subjects):
        subject = f"{'FM'[i % 2]}{i + 1:04d}"
        folder = root / subject
        folder.mkdir(parents=True, exist_ok=True)
        models = [(code, level) for code in BU3DFE_TO_CANONICAL if code != "NE" for level in levels] + [("NE", 0)]
        for code, level in models:
            stem = f"{subject}_{code}{level:02d}WH_F3D"
            cls = BU3DFE_TO_CANONICAL[code]
            k += 1
            grid, face = face_scan(cls, n, seed=k)
            (folder / f"{stem}.wrl").write_text(_vrml_model(grid, face, f"{stem}.bmp"))
            Image.fromarray(face_image(cls, size=64, seed=k, rgb=True)).save(folder / f"{stem}.bmp")
    return root


def write_rgbd_pairs(root: str | os.PathLike, n_subjects: int = 4, frames: int = 2, size: int = 64) -> Path:
    """RGB-D pairs: ``S01/happiness/000_color.png`` with ``000_depth.png`` (16-bit millimetres: background
    at 1.5 m, the face at about 0.8 m with a nose nearer, a few pixels without reading), six expressions and
    neutral per subject."""
    root = Path(root)
    k = 0
    for i in range(n_subjects):
        for cls in ("anger", "disgust", "fear", "happiness", "sadness", "surprise", "neutral"):
            folder = root / f"S{i + 1:02d}" / cls
            folder.mkdir(parents=True, exist_ok=True)
            for f in range(frames):
                k += 1
                Image.fromarray(face_image(cls, size=size, seed=k, rgb=True)).save(folder / f"{f:03d}_color.png")
                grid, face = face_scan(cls, size, seed=k)
                depth = np.where(face, 800.0 - 100.0 * grid[2], 1500.0)
                depth[np.random.default_rng(k).random(depth.shape) < 0.02] = 0  # sensor holes
                Image.fromarray(depth.astype(np.uint16)).save(folder / f"{f:03d}_depth.png")
    return root


def write_all(root: str | os.PathLike) -> dict[str, Path]:
    """Every fixture under ``root``; returns the root to pass to each loader (plus ``lists_root``)."""
    root = Path(root)
    fp_csv, fer_csv = write_ferplus(root)
    rafdb = write_rafdb(root / "rafdb")
    return {
        "fer2013": fer_csv.parent,
        "ferplus": fp_csv.parent,
        "rafdb": rafdb,
        "lists_root": write_ran_lists(root / "ran_lists", rafdb, fp_csv),
        "ckplus": write_ckplus(root / "ckplus"),
        "jaffe": write_jaffe(root / "jaffe"),
        "affectnet": write_affectnet(root / "affectnet"),
    }
