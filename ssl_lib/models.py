"""Encoders and projection heads for 32x32 images.

* :func:`resnet18_cifar`: ResNet-18 adapted to CIFAR-10 as in SimCLR (Chen et al. 2020,
  appendix B.9): a 3x3 stride-1 stem and no max-pool; 512-d representation h.
* :func:`small_convnet`: four conv-BN-ReLU blocks, small enough to train on a CPU in seconds.
* :class:`AlexNetCIFAR`: the small AlexNet of Wang & Isola's reference code, whose layers
  ``conv1`` ... ``conv5``, ``fc6``, ``fc7`` can be read by name or index.
* :func:`projection_head`: SimCLR's g, none, linear or a one-hidden-layer MLP.
* :class:`LinearPredictor`: SimSiam's prediction head restricted to a linear map (Wen & Li 2022).

Every encoder takes float images in [0, 1] of shape (N, 3, 32, 32) and normalises them itself
(CIFAR-10 channel statistics), so callers never forget to.
"""

from __future__ import annotations

from collections import OrderedDict

import math

import torch
from torch import nn

CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2470, 0.2435, 0.2616)
ENCODERS = ("resnet18", "convnet", "alexnet")
HEADS = ("none", "linear", "mlp", "mlp_bn")


class Normalize(nn.Module):
    """Subtract the CIFAR-10 channel means and divide by the standard deviations."""

    def __init__(self, mean=CIFAR10_MEAN, std=CIFAR10_STD):
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not torch.is_tensor(x) or not x.is_floating_point():
            raise TypeError(f"an encoder takes float images in [0, 1], got "
                            f"{x.dtype if torch.is_tensor(x) else type(x).__name__}; convert uint8 images "
                            "with images.float() / 255")
        return (x - self.mean) / self.std


def resnet18_cifar() -> nn.Module:
    """ResNet-18 for 32x32 inputs: 3x3 stride-1 stem, no max-pool, no classifier; h is 512-d.

    Its ``feature_dim`` attribute is 512.
    """
    from torchvision.models import resnet18

    net = resnet18(weights=None)
    net.conv1 = nn.Conv2d(3, 64, kernel_size=3, stride=1, padding=1, bias=False)
    net.maxpool = nn.Identity()
    net.fc = nn.Identity()
    model = nn.Sequential(Normalize(), net)
    model.feature_dim = 512
    return model


def _conv_block(c_in: int, c_out: int, pool: bool) -> list[nn.Module]:
    layers = [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]
    return layers + ([nn.MaxPool2d(2)] if pool else [])


def small_convnet(width: int = 32) -> nn.Module:
    """A small ConvNet: conv blocks of width w, 2w, 4w, 8w with 2x2 max-pools, global average pool.

    Representation h has 8w dimensions (``feature_dim``); about 1.2M parameters for w = 32.
    """
    if width < 1:
        raise ValueError(f"width must be a positive number of channels, got {width}")
    widths = [3, width, 2 * width, 4 * width, 8 * width]
    blocks = []
    for i in range(4):
        blocks += _conv_block(widths[i], widths[i + 1], pool=i < 3)
    model = nn.Sequential(Normalize(), *blocks, nn.AdaptiveAvgPool2d(1), nn.Flatten())
    model.feature_dim = widths[-1]
    return model


class AlexNetCIFAR(nn.Module):
    """The small AlexNet of Wang & Isola (2020)'s reference code, for 32x32 images.

    Five conv layers (96, 192, 384, 384, 192 channels times ``width``; 3x3 max-pools of stride
    2 after conv1, conv2 and conv5) and two fully connected layers fc6, fc7 of ``fc_dim`` units,
    each followed by batch norm and ReLU. The representation h is fc7's output (``feature_dim``).
    :meth:`layer` returns the activations of any layer, by name or index.
    """

    def __init__(self, width: float = 1.0, fc_dim: int = 4096):
        super().__init__()
        if width <= 0 or fc_dim < 1:
            raise ValueError(f"width must be > 0 and fc_dim >= 1, got width={width}, fc_dim={fc_dim}")
        c = [3] + [max(1, round(k * width)) for k in (96, 192, 384, 384, 192)]
        pool = {1: True, 2: True, 3: False, 4: False, 5: True}
        blocks: OrderedDict[str, nn.Module] = OrderedDict()
        for i in range(1, 6):
            layers = [nn.Conv2d(c[i - 1], c[i], 3, padding=1, bias=False), nn.BatchNorm2d(c[i]), nn.ReLU(inplace=True)]
            if pool[i]:
                layers.append(nn.MaxPool2d(3, stride=2))
            blocks[f"conv{i}"] = nn.Sequential(*layers)
        blocks["fc6"] = nn.Sequential(nn.Flatten(), nn.Linear(c[5] * 3 * 3, fc_dim, bias=False),
                                      nn.BatchNorm1d(fc_dim), nn.ReLU(inplace=True))
        blocks["fc7"] = nn.Sequential(nn.Linear(fc_dim, fc_dim, bias=False), nn.BatchNorm1d(fc_dim),
                                      nn.ReLU(inplace=True))
        self.normalize = Normalize()
        self.blocks = nn.Sequential(blocks)
        self.feature_dim = fc_dim

    @property
    def layer_names(self) -> list[str]:
        """The names of the measurable layers, input to output."""
        return list(self.blocks._modules)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.blocks(self.normalize(x))

    def layer(self, x: torch.Tensor, which: str | int) -> torch.Tensor:
        """The activations (after ReLU and pooling) of layer ``which``, a name or an index.

        Shapes: (N, C, H, W) for conv layers, (N, fc_dim) for fc6 and fc7.
        """
        names = self.layer_names
        if isinstance(which, int) and not isinstance(which, bool):
            if not -len(names) <= which < len(names):
                raise KeyError(f"layer index {which} is out of range; valid: 0..{len(names) - 1} ({', '.join(names)})")
            which = names[which]
        if which not in names:
            raise KeyError(f"no layer {which!r}; valid layers: {', '.join(names)} (or their indices)")
        x = self.normalize(x)
        for name, block in self.blocks.named_children():
            x = block(x)
            if name == which:
                return x
        raise AssertionError("unreachable")


def alexnet_cifar(width: float = 1.0, fc_dim: int = 4096) -> AlexNetCIFAR:
    """:class:`AlexNetCIFAR` with channel multiplier ``width`` and ``fc_dim`` units in fc6/fc7."""
    return AlexNetCIFAR(width, fc_dim)


def build_encoder(name: str, **kwargs) -> nn.Module:
    """The encoder f called ``name`` (one of :data:`ENCODERS`); it has a ``feature_dim``."""
    builders = {"resnet18": resnet18_cifar, "convnet": small_convnet, "alexnet": alexnet_cifar}
    if name not in builders:
        raise ValueError(f"unknown encoder {name!r}; valid encoders: {', '.join(ENCODERS)}")
    return builders[name](**kwargs)


def projection_head(kind: str, in_dim: int, out_dim: int = 128, hidden_dim: int | None = None) -> nn.Module:
    """SimCLR's projection head g(h) (Chen et al. 2020, section 2.1).

    ``none``: z = h; ``linear``: z = W h; ``mlp``: z = W2 ReLU(BN(W1 h)), hidden width
    ``hidden_dim`` (default ``in_dim``); ``mlp_bn``: SimSiam's projector (Chen & He 2021, section
    4.4: batch norm on every fully connected layer's output, the last one included, without its
    affine parameters as in their code), z = BN(W2 ReLU(BN(W1 h))). Output (N, out_dim), or
    (N, in_dim) for ``none``.
    """
    if kind not in HEADS:
        raise ValueError(f"unknown projection head {kind!r}; valid heads: {', '.join(HEADS)}")
    if kind == "none":
        return nn.Identity()
    if kind == "linear":
        return nn.Linear(in_dim, out_dim)
    hidden = hidden_dim or in_dim
    layers = [nn.Linear(in_dim, hidden, bias=False), nn.BatchNorm1d(hidden), nn.ReLU(inplace=True)]
    if kind == "mlp_bn":
        return nn.Sequential(*layers, nn.Linear(hidden, out_dim, bias=False), nn.BatchNorm1d(out_dim, affine=False))
    return nn.Sequential(*layers, nn.Linear(hidden, out_dim))


class SSLModel(nn.Module):
    """An encoder f and a projection head g: ``forward(x)`` returns ``(h, z)`` with h = f(x), z = g(h).

    ``extras`` holds any further trainable modules an objective needs (a SimSiam predictor, a
    classifier), by name.
    """

    def __init__(self, encoder: nn.Module, head: nn.Module, extras: dict[str, nn.Module] | None = None):
        super().__init__()
        self.encoder, self.head = encoder, head
        self.extras = nn.ModuleDict(extras or {})

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.encoder(x)
        return h, self.head(h)


PREDICTORS = ("none", "identity", "offdiag", "linear", "mlp")
#: The predictors that are a linear map E (:class:`LinearPredictor`).
LINEAR_PREDICTORS = PREDICTORS[:4]


class LinearPredictor(nn.Module):
    """SimSiam's prediction head p = E z, restricted to a linear map, in four variants:

    * ``none``: no head, p = z;
    * ``identity``: E = I fixed (the same function as ``none``, kept as a check);
    * ``offdiag``: E = I + O, O zero on the diagonal and initialised at 0 (Wen & Li's head);
    * ``linear``: every entry of E trained, initialised at I.

    The engine trains all parameters with one learning rate; ``lr_ratio`` multiplies the
    gradient of E (a gradient hook), which for SGD with momentum is the same as a learning rate
    ``lr_ratio`` times smaller (weight decay is not scaled). z: (n, dim) -> p: (n, dim).
    """

    def __init__(self, variant: str, dim: int, lr_ratio: float = 1.0):
        super().__init__()
        check_predictor(variant, lr_ratio)
        if variant not in LINEAR_PREDICTORS:
            raise ValueError(f"{variant!r} is not a linear head; valid variants: {', '.join(LINEAR_PREDICTORS)} "
                             f"(build any predictor with build_predictor)")
        self.variant = variant
        self.register_buffer("eye", torch.eye(dim))
        if variant in ("offdiag", "linear"):
            start = torch.zeros(dim, dim) if variant == "offdiag" else torch.eye(dim)
            self.weight = nn.Parameter(start)
            if lr_ratio != 1.0:
                self.weight.register_hook(lambda grad: grad * lr_ratio)

    def matrix(self) -> torch.Tensor:
        """E, (dim, dim)."""
        if self.variant == "offdiag":
            return self.eye + self.weight * (1 - self.eye)
        if self.variant == "linear":
            return self.weight
        return self.eye

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return z if self.variant == "none" else z @ self.matrix().T.to(z.dtype)


class MLPPredictor(nn.Module):
    """SimSiam's own prediction head (Chen & He 2021, section 4.4): a bottleneck MLP
    p = W2 ReLU(BN(W1 z)), hidden width ``dim // 4`` (2048-512-2048 in the paper), no batch norm
    on its output. ``lr_ratio`` multiplies the gradients of its parameters, as for
    :class:`LinearPredictor`. z: (n, dim) -> p: (n, dim)."""

    def __init__(self, dim: int, lr_ratio: float = 1.0):
        super().__init__()
        check_predictor("mlp", lr_ratio)
        hidden = max(1, dim // 4)
        self.net = nn.Sequential(nn.Linear(dim, hidden, bias=False), nn.BatchNorm1d(hidden), nn.ReLU(inplace=True),
                                 nn.Linear(hidden, dim))
        if lr_ratio != 1.0:
            for parameter in self.parameters():
                parameter.register_hook(lambda grad: grad * lr_ratio)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


def build_predictor(variant: str, dim: int, lr_ratio: float = 1.0) -> nn.Module:
    """The prediction head ``variant`` (one of :data:`PREDICTORS`) on ``dim``-dimensional z."""
    check_predictor(variant, lr_ratio)
    return MLPPredictor(dim, lr_ratio) if variant == "mlp" else LinearPredictor(variant, dim, lr_ratio)


def check_predictor(variant: str, lr_ratio: float) -> None:
    """Raise ValueError for an unknown head variant (listing the valid ones) or a head learning-rate
    ratio that is not a finite number > 0."""
    if variant not in PREDICTORS:
        raise ValueError(f"unknown head variant {variant!r}; valid variants: {', '.join(PREDICTORS)}")
    if not (isinstance(lr_ratio, (int, float)) and math.isfinite(lr_ratio) and lr_ratio > 0):
        raise ValueError(f"head_lr_ratio (the head's learning rate over the encoder's) must be a "
                         f"finite number > 0, got {lr_ratio!r}")
