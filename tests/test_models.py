"""Encoders and projection heads: shapes, the CIFAR adaptations, layer access, bad names."""

import pytest
import torch
from torch import nn

from ssl_lib import models


@pytest.mark.parametrize("name, kwargs, dim", [
    ("resnet18", {}, 512), ("convnet", {"width": 8}, 64), ("alexnet", {"width": 0.25, "fc_dim": 64}, 64)])
def test_encoders_map_images_to_features(name, kwargs, dim):
    encoder = models.build_encoder(name, **kwargs)
    assert encoder.feature_dim == dim
    assert encoder(torch.rand(2, 3, 32, 32)).shape == (2, dim)


def test_resnet18_is_adapted_to_cifar():
    net = models.resnet18_cifar()[1]
    assert net.conv1.kernel_size == (3, 3) and net.conv1.stride == (1, 1)
    assert isinstance(net.maxpool, nn.Identity) and isinstance(net.fc, nn.Identity)


def test_convnet_takes_smaller_images():
    assert models.small_convnet(8)(torch.rand(2, 3, 16, 16)).shape == (2, 64)


def test_alexnet_layers_by_name_and_index():
    net = models.alexnet_cifar(width=0.25, fc_dim=32).eval()
    x = torch.rand(2, 3, 32, 32)
    assert net.layer_names == ["conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7"]
    assert net.layer(x, "conv1").shape == (2, 24, 15, 15)
    torch.testing.assert_close(net.layer(x, 4), net.layer(x, "conv5"))
    torch.testing.assert_close(net.layer(x, "fc7"), net(x))
    with pytest.raises(KeyError, match="valid layers: conv1, conv2"):
        net.layer(x, "conv6")
    with pytest.raises(KeyError, match="out of range"):
        net.layer(x, 7)


@pytest.mark.parametrize("kind, shape", [("none", (4, 32)), ("linear", (4, 16)), ("mlp", (4, 16))])
def test_projection_heads(kind, shape):
    head = models.projection_head(kind, 32, 16)
    assert head(torch.rand(4, 32)).shape == shape


def test_ssl_model_returns_h_and_z():
    model = models.SSLModel(models.small_convnet(8), models.projection_head("mlp", 64, 16))
    h, z = model(torch.rand(4, 3, 32, 32))
    assert h.shape == (4, 64) and z.shape == (4, 16)


def test_unknown_names_list_the_valid_ones():
    with pytest.raises(ValueError, match="valid encoders: resnet18, convnet, alexnet"):
        models.build_encoder("vgg")
    with pytest.raises(ValueError, match="valid heads: none, linear, mlp"):
        models.projection_head("deep", 8)
    with pytest.raises(ValueError, match="width"):
        models.small_convnet(0)


@pytest.mark.parametrize("encoder", ["convnet", "alexnet", "resnet18"])
def test_an_encoder_refuses_raw_uint8_images(encoder):
    images = torch.randint(0, 256, (2, 3, 32, 32), dtype=torch.uint8)
    with pytest.raises(TypeError, match=r"float\(\) / 255"):
        models.build_encoder(encoder)(images)


def test_predictor_variants_and_learning_rate_ratio():
    z = torch.randn(5, 3)
    for variant in ("none", "identity", "offdiag", "linear"):
        torch.testing.assert_close(models.LinearPredictor(variant, 3)(z), z)  # all start at the identity
    head = models.LinearPredictor("offdiag", 3, lr_ratio=0.1)
    head(z).sum().backward()
    full = models.LinearPredictor("offdiag", 3)
    full(z).sum().backward()
    torch.testing.assert_close(head.weight.grad, 0.1 * full.weight.grad)
    head.weight.data.fill_(0.5)
    assert torch.diag(head.matrix()).eq(1).all()  # the diagonal stays fixed at 1
    with pytest.raises(ValueError, match="valid variants: none, identity, offdiag, linear"):
        models.LinearPredictor("mlp", 3)


def test_simsiams_mlp_predictor_and_its_learning_rate_ratio():
    z = torch.randn(8, 16)
    head = models.build_predictor("mlp", 16)
    assert isinstance(head, models.MLPPredictor) and head(z).shape == (8, 16)
    assert head.net[0].out_features == 4  # the bottleneck: a quarter of the width
    slow = models.build_predictor("mlp", 16, lr_ratio=0.1)
    slow.load_state_dict(head.state_dict())
    head(z).sum().backward()
    slow(z).sum().backward()
    torch.testing.assert_close(slow.net[3].weight.grad, 0.1 * head.net[3].weight.grad)
    assert isinstance(models.build_predictor("offdiag", 16), models.LinearPredictor)
    with pytest.raises(ValueError, match="not a linear head.*build_predictor"):
        models.LinearPredictor("mlp", 16)
    with pytest.raises(ValueError, match="valid variants: none, identity, offdiag, linear, mlp"):
        models.build_predictor("bottleneck", 16)
    for ratio in (0.0, -1.0, float("inf"), float("nan")):
        with pytest.raises(ValueError, match="head_lr_ratio"):
            models.build_predictor("mlp", 16, lr_ratio=ratio)


def test_simsiams_projector_batch_normalises_its_output():
    head = models.projection_head("mlp_bn", 32, 16).train()
    z = head(torch.randn(256, 32) * 3 + 1)
    torch.testing.assert_close(z.mean(dim=0), torch.zeros(16), atol=1e-5, rtol=0)
    torch.testing.assert_close(z.var(dim=0, unbiased=False), torch.ones(16), atol=1e-3, rtol=0)
    assert not any(p.requires_grad for p in head[-1].parameters())  # no affine parameters on the output
