"""Image transforms per paper recipe, shared by the real and the synthetic datasets.

Every dataset hands an RGB ``PIL.Image`` to its transform; :func:`build_transform` returns a
torchvision pipeline ending in a normalised float tensor ``[3, size, size]``.
"""

from __future__ import annotations

from PIL import Image
from torchvision import transforms as T

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

#: Recipes: what each paper's training pipeline does on top of resize + normalise.
#: GMS-LPA's augmentation strengths (the paper names the operations, not their ranges: ledger entry).
GMSLPA_ROTATION, GMSLPA_SHIFT, GMSLPA_SCALE = 10.0, 0.1, 0.1
PROFILES: tuple[str, ...] = ("basic", "shift", "pcnn", "poster", "gmslpa", "cmcnn", "eval")
#: The (mean, std) each profile normalises with: ImageNet's, except CM-CNN's images "normalized to (0, 1)"
#: (Sect. IV-B): modality-packed images (fer_lib.data.modalities) whose channels are not colours.
NORMALISATION: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    profile: ((0.0, 0.0, 0.0), (1.0, 1.0, 1.0)) if profile == "cmcnn" else (IMAGENET_MEAN, IMAGENET_STD)
    for profile in PROFILES
}


class GrayToRGB:
    """Grey -> three identical channels (colour inputs are converted to grey first): a PIL RGB image."""

    def __call__(self, image: Image.Image) -> Image.Image:
        return image.convert("L").convert("RGB")

    def __repr__(self) -> str:
        return "GrayToRGB()"


class HistEqualize:
    """Histogram equalisation of a PIL image: ``global`` or ``clahe`` (see :func:`preprocess.equalize_hist`)."""

    def __init__(self, method: str = "global") -> None:
        if method not in ("global", "clahe"):
            raise ValueError(f"HistEqualize: method must be 'global' or 'clahe', got {method!r}")
        self.method = method

    def __call__(self, image: Image.Image) -> Image.Image:
        from fer_lib.data.preprocess import equalize_hist

        return equalize_hist(image.convert("RGB"), self.method)

    def __repr__(self) -> str:
        return f"HistEqualize({self.method!r})"


def build_transform(
    profile: str = "basic",
    image_size: int = 224,
    train: bool = True,
    *,
    grayscale: bool = False,
    equalize: str | None = None,
) -> T.Compose:
    """The transform of a paper recipe.

    - ``basic``: resize, horizontal flip (train), ImageNet normalisation.
    - ``shift``: ``basic`` plus a random crop with zero padding of 10 % of the side (shifts of up to 10 %).
    - ``pcnn``: the PCNN authors' recipe — resize, flip, with p=0.2 a 20-degree rotation plus a
      random crop with padding (32 px at 224, scaled with the size), normalisation, random erasing
      (scale 0.02-0.25).
    - ``poster``: resize, flip, normalisation, random erasing (scale 0.02-0.1).
    - ``gmslpa``: GMS-LPA's "random rotation, flipping, shifting, and scaling" (magnitudes unstated; fer_lib:
      flip, up to 10 degrees, 10 % shifts, scale 0.9-1.1), normalisation.
    - ``cmcnn``: CM-CNN's: resize and scale to (0, 1), no augmentation (the paper states none), no ImageNet
      normalisation (its channels are modalities: grey, LBP, depth ...).
    - ``eval`` (or ``train=False`` with any profile): resize and normalise only.

    Options applied first, in train and eval alike: ``grayscale=True`` makes the image grey in three
    identical channels; ``equalize="global"|"clahe"`` equalises its histogram.
    """
    if profile not in PROFILES:
        raise ValueError(f"unknown transform profile {profile!r}; expected one of {', '.join(PROFILES)}")
    resize = T.Resize((image_size, image_size), antialias=True)
    pre = ([GrayToRGB()] if grayscale else []) + ([HistEqualize(equalize)] if equalize else [])
    if pre:
        resize = T.Compose([*pre, resize])
    to_tensor = [T.ToTensor(), T.Normalize(*NORMALISATION[profile])]
    if not train or profile in ("eval", "cmcnn"):
        return T.Compose([resize, *to_tensor])
    if profile == "basic":
        return T.Compose([resize, T.RandomHorizontalFlip(), *to_tensor])
    if profile == "shift":
        return T.Compose([resize, T.RandomHorizontalFlip(), T.RandomCrop(image_size, padding=round(0.1 * image_size)),
                          *to_tensor])
    if profile == "pcnn":
        padding = max(1, round(32 * image_size / 224))
        return T.Compose(
            [
                resize,
                T.RandomHorizontalFlip(),
                T.RandomApply(
                    [T.RandomRotation(20), T.RandomCrop(image_size, padding=padding)], p=0.2
                ),
                *to_tensor,
                T.RandomErasing(scale=(0.02, 0.25)),
            ]
        )
    if profile == "gmslpa":
        return T.Compose([resize, T.RandomHorizontalFlip(),
                          T.RandomAffine(GMSLPA_ROTATION, translate=(GMSLPA_SHIFT, GMSLPA_SHIFT),
                                         scale=(1 - GMSLPA_SCALE, 1 + GMSLPA_SCALE)), *to_tensor])
    # poster
    return T.Compose([resize, T.RandomHorizontalFlip(), *to_tensor, T.RandomErasing(scale=(0.02, 0.1))])


def denormalize(x, mean=IMAGENET_MEAN, std=IMAGENET_STD):
    """Undo ImageNet normalisation of a ``[..., 3, H, W]`` tensor; returns values clipped to [0, 1]."""
    import torch

    mean_t = torch.tensor(mean, dtype=x.dtype, device=x.device).view(3, 1, 1)
    std_t = torch.tensor(std, dtype=x.dtype, device=x.device).view(3, 1, 1)
    return (x * std_t + mean_t).clamp(0, 1)
