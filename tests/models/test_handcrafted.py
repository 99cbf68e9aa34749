"""fer_lib.models.handcrafted: HOG and LBP features and the linear baseline."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fer_lib.models import create_model
from fer_lib.models.handcrafted import HOGFeatures, LBPFeatures, grey_channel, uniform_lbp_table


def test_uniform_lbp_table_has_58_uniform_codes_and_one_bin_for_the_rest():
    table = uniform_lbp_table()
    assert int((table < 58).sum()) == 58 and sorted(set(table.tolist())) == list(range(59))
    assert table[0] == 0 and table[255] == 57 and table[0b01010101] == 58  # flat, flat, and 8 transitions


def test_lbp_histograms_ignore_monotonic_intensity_changes_and_sum_to_one_per_cell():
    torch.manual_seed(0)
    grey = torch.rand(2, 1, 32, 32)
    features = LBPFeatures(grid=4)(grey)
    assert features.shape == (2, 16 * 59)
    assert torch.allclose(features.view(2, 16, 59).sum(2), torch.ones(2, 16))
    assert torch.allclose(LBPFeatures(grid=4)(grey ** 2 * 3 + 1), features)  # monotonic: same codes
    flat = LBPFeatures(grid=1)(torch.zeros(1, 1, 8, 8))
    assert flat[0, 57] == 1  # every neighbour >= the centre: code 255


def test_hog_puts_a_vertical_edges_mass_in_the_horizontal_gradient_bins_at_any_contrast():
    image = torch.zeros(1, 1, 16, 16)
    image[..., 8:] = 1.0  # a vertical edge: the gradient points along x (angle 0)
    hog = HOGFeatures(grid=1, orientations=9)
    features = hog(image)[0]
    assert features.shape == (9,) and features[0] == features[8] and features[0] > 0.7
    assert features[1:8].abs().max() < 1e-6
    assert torch.allclose(hog(image * 5 + 2), features, atol=1e-6)  # normalised per cell


def test_the_baseline_trains_only_its_classifier_and_reads_the_grey_channel():
    torch.manual_seed(0)
    model = create_model("handcrafted", num_classes=6, features=("hog", "lbp"), grid=4)
    packed = torch.rand(4, 3, 32, 32)
    assert model(packed).shape == (4, 6) and model.feature_dim == 16 * (9 + 59)
    assert {n.split(".")[0] for n, _ in model.named_parameters()} == {"standardise", "fc"}
    other_channels = packed.clone()
    other_channels[:, 1:] = torch.rand(4, 2, 32, 32)
    assert torch.equal(model.describe_features(packed), model.describe_features(other_channels))
    assert torch.equal(grey_channel(packed), packed[:, :1])
    with torch.autocast("cpu", dtype=torch.bfloat16):  # features stay exact under the engine's autocast
        assert torch.equal(model.describe_features(packed), model.describe_features(packed.clone()))
    with pytest.raises(ValueError, match="features"):
        create_model("handcrafted", features=("gist",))
    with pytest.raises(ValueError, match="grey channel"):
        create_model("handcrafted", modalities=("depth",))


def test_hog_lbp_separate_two_textures_a_linear_model_can_learn():
    """A sanity check that the features carry information: stripes vs checks, trained for a few steps."""
    torch.manual_seed(0)
    x = torch.arange(32.0)
    stripes = torch.sin(x / 2).view(1, 32).expand(32, 32)
    checks = torch.sin(x / 2).view(1, 32) * torch.sin(x / 2).view(32, 1)
    images = torch.stack([stripes, checks] * 8).unsqueeze(1) + 0.05 * torch.randn(16, 1, 32, 32)
    targets = torch.tensor([0, 1] * 8)
    model = create_model("handcrafted", num_classes=2, modalities=("gray",))
    optimiser = torch.optim.SGD(model.parameters(), lr=0.5)
    for _ in range(20):
        optimiser.zero_grad()
        torch.nn.functional.cross_entropy(model(images), targets).backward()
        optimiser.step()
    assert (model.eval()(images).argmax(1) == targets).float().mean() == 1.0
    assert np.isfinite(model.fc.weight.detach().numpy()).all()
