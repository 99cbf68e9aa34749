"""fer_lib.models.poster: POSTER's streams, the cross-fusion pyramid, the baseline, sizes and weights loading."""

from __future__ import annotations

import warnings

import pytest
import torch

from fer_lib.losses import build_loss
from fer_lib.models.poster import POSTER, CrossAttention, IR50Stream, MobileFaceNet, SelfAttention, attention


def _quiet_poster(**options) -> POSTER:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return POSTER(**options)


def test_the_streams_give_49_tokens_at_any_input_size():
    torch.manual_seed(0)
    assert IR50Stream()(torch.randn(1, 3, 64, 64)).shape == (1, 256, 14, 14)  # resized to 112 inside
    out = MobileFaceNet().eval()(torch.randn(2, 3, 112, 112))
    assert out.landmarks.shape == (2, 136) and out.features.shape == (2, 512, 7, 7)


def test_sizes_match_the_authors_count_less_the_output_layer_their_forward_never_runs():
    """70.843 M trainable (REFERENCE.md) = what runs + IR50's unused output layer (BN 512, Linear(25088, 512),
    BN 512: 12,847,616); the frozen landmark network is 71.850 - 70.843 = 1.007 M."""
    model = _quiet_poster(num_classes=7)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    frozen = sum(p.numel() for p in model.parameters() if not p.requires_grad)
    unused_output_layer = 2 * 512 + 25088 * 512 + 512 + 2 * 512
    assert trainable + unused_output_layer == pytest.approx(70.843e6, abs=1e3)
    assert frozen == pytest.approx(1.007e6, abs=1e3)
    assert sum(p.numel() for p in _quiet_poster(num_classes=7, fusion="none").parameters()) < trainable


def test_poster_and_its_baseline_forward_and_the_landmark_stream_stays_frozen():
    torch.manual_seed(0)
    model = _quiet_poster(num_classes=7, depth=1)
    images = torch.randn(2, 3, 112, 112)
    out = model.train()(images)
    assert out.logits.shape == (2, 7) and out.feature.shape == (2, 512)
    assert not model.face_landback.training  # its batch-norm statistics are the trained ones
    build_loss("poster")(out, torch.tensor([0, 3])).backward()
    assert all(p.grad is None for p in model.face_landback.parameters())
    assert model.ir_back.input_layer[0].weight.grad is not None and model.downsample_m.weight.grad is not None
    baseline = _quiet_poster(num_classes=7, fusion="none", depth=1)
    assert baseline(images).logits.shape == (2, 7) and not hasattr(baseline, "face_landback")
    patch = _quiet_poster(num_classes=7, depth=1, token_layout="patch")
    assert patch.image_tokens(images).shape == (2, 49, 512)
    with pytest.warns(UserWarning, match="landmark_weights"):
        POSTER(depth=1)
    with pytest.raises(ValueError, match="fusion"):
        POSTER(fusion="late")


def test_cross_attention_takes_its_queries_from_the_other_stream():
    torch.manual_seed(0)
    attention = CrossAttention(16, 4)
    tokens, queries = torch.randn(1, 5, 16), torch.randn(1, 5, 16)
    changed = queries.clone()
    changed[0, 2] += 1.0
    a, b = attention(queries, tokens), attention(changed, tokens)
    assert torch.allclose(a[0, [0, 1, 3, 4]], b[0, [0, 1, 3, 4]]) and not torch.allclose(a[0, 2], b[0, 2])


def test_written_out_attention_is_pytorchs_scaled_dot_product_attention():
    torch.manual_seed(0)
    q, k, v = torch.randn(3, 2, 4, 5, 8).unbind(0)
    assert torch.allclose(attention(q, k, v), torch.nn.functional.scaled_dot_product_attention(q, k, v), atol=1e-6)


def test_the_baselines_self_attention_is_multi_head_attention_with_the_same_weights():
    torch.manual_seed(0)
    ours, reference = SelfAttention(16, 4), torch.nn.MultiheadAttention(16, 4, batch_first=True)
    with torch.no_grad():
        reference.in_proj_weight.copy_(ours.qkv.weight)
        reference.in_proj_bias.copy_(ours.qkv.bias)
        reference.out_proj.weight.copy_(ours.proj.weight)
        reference.out_proj.bias.copy_(ours.proj.bias)
    x = torch.randn(2, 5, 16)
    assert torch.allclose(ours(x), reference(x, x, x, need_weights=False)[0], atol=1e-6)


def test_landmark_and_ir50_weights_load_from_files_named_as_the_authors(tmp_path):
    torch.manual_seed(0)
    landmarks = MobileFaceNet()
    torch.save({"state_dict": {f"module.{k}": v for k, v in landmarks.state_dict().items()}}, tmp_path / "mfn.pth.tar")
    ir = IR50Stream()
    torch.save(ir.state_dict(), tmp_path / "ir50.pth")
    model = POSTER(depth=1, landmark_weights=tmp_path / "mfn.pth.tar", pretrained_path=tmp_path / "ir50.pth")
    assert torch.equal(model.face_landback.conv1.conv.weight, landmarks.conv1.conv.weight)
    assert torch.equal(model.ir_back.body[20].res_layer[1].weight, ir.body[20].res_layer[1].weight)


def test_a_56_px_image_stream_keeps_49_tokens_and_a_frozen_stream_gets_no_gradient():
    torch.manual_seed(0)
    small = _quiet_poster(num_classes=7, depth=1, fusion="none", image_size=64)  # under 112 px: the 56 px stream
    assert small.stream_size == 56 and small.ir_layer.in_features == 256
    assert small.ir_back(torch.randn(1, 3, 64, 64)).shape == (1, 256, 7, 7)
    patch = _quiet_poster(num_classes=7, depth=1, fusion="none", image_size=64, token_layout="patch")
    assert patch.image_tokens(torch.randn(2, 3, 64, 64)).shape == (2, 49, 512)
    with pytest.raises(ValueError, match="multiple of 56"):
        _quiet_poster(stream_size=80)
    with pytest.raises(ValueError, match="embed_dim 512"):
        _quiet_poster(embed_dim=256)
    frozen = _quiet_poster(num_classes=3, depth=1, image_size=64, freeze_trunk=True)
    before = {k: v.clone() for k, v in frozen.ir_back.state_dict().items()}
    frozen.train()
    assert not frozen.ir_back.training and frozen.blocks.training
    frozen(torch.randn(4, 3, 64, 64)).logits.sum().backward()
    assert all(p.grad is None for p in frozen.ir_back.parameters())
    assert frozen.ir_layer.weight.grad is not None
    assert all(torch.equal(before[k], v) for k, v in frozen.ir_back.state_dict().items())  # BN statistics too


def test_a_frozen_posters_stream_features_stand_in_for_its_images():
    torch.manual_seed(0)
    images = torch.randn(3, 3, 64, 64)
    for fusion in ("cross", "none"):
        model = _quiet_poster(num_classes=4, depth=1, image_size=64, fusion=fusion, freeze_trunk=True).eval()
        features = model.stream_features(images)
        assert features.image_maps.shape == (3, 256, 7, 7)
        assert features.landmark_maps.shape == ((3, 512, 7, 7) if fusion == "cross" else (3, 0))
        assert torch.allclose(model(features).logits, model(images).logits, atol=1e-5)
    with pytest.raises(ValueError, match="freeze_trunk"):
        _quiet_poster(num_classes=4, depth=1, image_size=64).stream_features(images)


def test_the_ir50_trunk_pretrained_as_a_classifier_loads_into_the_image_stream(tmp_path):
    from fer_lib.models import create_model

    torch.manual_seed(0)
    trunk = create_model("ir50", num_classes=7, image_size=64)
    assert trunk(torch.randn(2, 3, 64, 64)).shape == (2, 7)
    path = tmp_path / "trunk.pt"
    torch.save({k: v for k, v in trunk.state_dict().items() if not k.startswith("fc.")}, path)
    model = _quiet_poster(num_classes=7, depth=1, image_size=64, pretrained_path=path)
    for name, value in model.ir_back.state_dict().items():
        assert torch.equal(value, trunk.state_dict()[name]), name


def test_poster_loss_is_twice_the_smoothed_ce_plus_the_plain_one():
    logits, target = torch.randn(4, 7), torch.tensor([0, 1, 2, 3])
    smoothed = torch.nn.functional.cross_entropy(logits, target, label_smoothing=0.2)
    plain = torch.nn.functional.cross_entropy(logits, target)
    assert torch.allclose(build_loss("poster")(logits, target), 2 * smoothed + plain)
    assert build_loss("poster").identity()["smoothing"] == 0.2
    with pytest.raises(ValueError, match="smoothing"):
        build_loss("poster", smoothing=1.0)
