from __future__ import annotations

import pytest
import torch

from fer_lib.models import create_model, list_models, load_pretrained


def test_unknown_model_lists_the_registered_ones():
    with pytest.raises(ValueError, match="resnet18"):
        create_model("resnet19")


def test_unknown_option_is_rejected_by_name():
    with pytest.raises(ValueError, match="colour"):
        create_model("resnet18", colour="red")


@pytest.mark.parametrize("name", ["resnet18", "resnet34", "resnet50"])
def test_resnets_build_with_any_class_count(name):
    assert name in list_models()
    model = create_model(name, num_classes=8).eval()
    with torch.no_grad():
        assert model(torch.zeros(1, 3, 64, 64)).shape == (1, 8)


def test_weights_load_from_a_user_file_and_head_is_skipped(tmp_path):
    source = create_model("resnet18", num_classes=1000)
    path = tmp_path / "msceleb_resnet18.pth"
    torch.save({"state_dict": {f"module.{k}": v for k, v in source.state_dict().items()}}, path)
    model = create_model("resnet18", num_classes=7, pretrained_path=path)
    assert torch.equal(model.conv1.weight, source.conv1.weight)
    assert model.fc.out_features == 7
    grey = create_model("resnet18", in_chans=1, pretrained_path=path)
    assert torch.allclose(grey.conv1.weight, source.conv1.weight.sum(1, keepdim=True))


def test_bad_weight_files_give_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="weights file not found"):
        create_model("resnet18", pretrained_path=tmp_path / "missing.pth")
    other = tmp_path / "other.pth"
    torch.save({"encoder.w": torch.zeros(3)}, other)
    with pytest.raises(ValueError, match="no tensor"):
        load_pretrained(create_model("resnet18"), other)
