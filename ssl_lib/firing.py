"""How the neurons of a trained encoder fire: layer activations, sparsity, class selectivity,
colour sensitivity.

Wen & Li (2021) argue that strong augmentation (above all colour distortion) makes a network
learn **sparse** features, each firing on few inputs, where weak augmentation lets it learn
**dense** ones; their Figure 4 shows this for AlexNet layers 2-5 on CIFAR-10 (we could not find
how they measured it). This module measures it several ways:

* :func:`layer_names`, :func:`layer_responses`: the response of every unit of a layer, either one
  per image (a conv channel's map reduced over space, mean or max), shape (N images, C units),
  or one per image and spatial position (``reduce="positions"``), shape (N·H·W, C);
* :func:`firing_rate`: the share of images (or positions) at which a unit is active;
* :func:`hoyer_sparsity`: Hoyer's (2004) sparsity index of each unit's responses;
* :func:`population_activity`: the share of a layer's units active on each image (or position);
* :func:`color_sensitivity`: how much a unit's response changes when the image loses its colour;
* :func:`class_selectivity`: how much a unit prefers one class (Morcos et al. 2018's index);
* :func:`top_activating`: the images that drive a unit most;
* :func:`sparsity_by_layer`: the per-layer summary the chapter plots;
* :func:`handmade_units`: four units with known answers (two colour-opponent, two edge), to test
  what the measures report before they are trusted on a trained network.

Why per position: a spatial mean mixes how often a unit fires with how much of the image it
fires on. A unit that answers small colour blobs gets small per-image means and looks sparse
over images even when it fires somewhere on most of them (chapter 06 measures this with
:func:`handmade_units`).
"""

from __future__ import annotations

import bisect
import math
from collections import OrderedDict

import torch
from torch import nn
from torchvision.transforms.v2.functional import rgb_to_grayscale

from ssl_lib.augment import LUMA, check_images

REDUCTIONS = ("mean", "max", "positions")


def layer_names(encoder: nn.Module) -> list[str]:
    """The measurable layers of ``encoder``, input to output.

    An encoder with a ``layer_names`` attribute (:class:`ssl_lib.models.AlexNetCIFAR`) names its
    own blocks; for any other module the layers are its ReLU modules, by qualified name.
    """
    if hasattr(encoder, "layer_names"):
        return list(encoder.layer_names)
    return [name for name, module in encoder.named_modules() if isinstance(module, nn.ReLU)]


def _layer_module(encoder: nn.Module, name: str) -> nn.Module:
    if hasattr(encoder, "layer_names"):
        return getattr(encoder.blocks, name)
    return encoder.get_submodule(name)


def resolve_layer(encoder: nn.Module, layer: str | int) -> str:
    """The name of ``layer`` (a name or an index into :func:`layer_names`).

    Raises ``ValueError`` listing the valid layers when the encoder has no such layer.
    """
    names = layer_names(encoder)
    if isinstance(layer, int) and not isinstance(layer, bool):
        if -len(names) <= layer < len(names):
            return names[layer]
        raise ValueError(f"layer index {layer} is out of range for this encoder; valid layers: "
                         f"{', '.join(names)} (indices 0..{len(names) - 1})")
    if layer not in names:
        raise ValueError(f"the encoder has no layer {layer!r}; valid layers: {', '.join(names)} "
                         f"(or their indices 0..{len(names) - 1})")
    return layer


@torch.no_grad()
def layer_responses(encoder: nn.Module, images: torch.Tensor, layers: str | int | list[str | int] | tuple,
                    reduce: str = "mean", batch_size: int = 500) -> dict[str, torch.Tensor]:
    """The response of every unit of each layer in ``layers`` to every image.

    A conv layer's output (N, C, H, W) (after its ReLU and pooling) gives one response per
    channel and image, the map's spatial mean (``reduce="mean"``) or maximum (``"max"``), or
    one response per channel, image and position (``"positions"``: the map itself, its N·H·W
    (image, position) pairs as rows, image by image); a fully connected layer's (N, C) output is
    its own response.

    Args:
        encoder: a trained encoder (put in eval mode for the pass and restored after).
        images: (N, 3, 32, 32), uint8 or float in [0, 1], on the encoder's device.
        layers: a layer name or index, or a list of them (see :func:`layer_names`).
        reduce: ``"mean"``, ``"max"`` or ``"positions"``.
        batch_size: images per forward pass.

    Returns:
        {layer name: float32 tensor of shape (N, C), or (N·H·W, C) for ``"positions"``} on the CPU.
    """
    if reduce not in REDUCTIONS:
        raise ValueError(f"reduce must be one of {', '.join(REDUCTIONS)}, got {reduce!r}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if isinstance(layers, (str, int)):  # one layer, not a sequence of letters
        layers = [layers]
    names = [resolve_layer(encoder, layer) for layer in layers]
    if not names:
        raise ValueError(f"layers is empty; pass some of: {', '.join(layer_names(encoder))}")
    captured: dict[str, torch.Tensor] = {}

    def hook(name):
        def save(module, inputs, output):
            out = output.float()
            if out.ndim == 4 and reduce == "positions":
                out = out.permute(0, 2, 3, 1).flatten(0, 2)
            elif out.ndim == 4:
                out = out.mean(dim=(2, 3)) if reduce == "mean" else out.amax(dim=(2, 3))
            captured[name] = out.cpu()
        return save

    handles = [_layer_module(encoder, name).register_forward_hook(hook(name)) for name in names]
    was_training = encoder.training
    encoder.eval()
    out: dict[str, list[torch.Tensor]] = {name: [] for name in names}
    try:
        for start in range(0, images.shape[0], batch_size):
            encoder(check_images(images[start:start + batch_size]))
            for name in names:
                out[name].append(captured[name])
    finally:
        for handle in handles:
            handle.remove()
        encoder.train(was_training)
    return {name: torch.cat(parts) for name, parts in out.items()}


def _check_responses(responses: torch.Tensor, name: str = "responses") -> torch.Tensor:
    if not isinstance(responses, torch.Tensor) or responses.ndim != 2 or responses.shape[0] < 2:
        shape = tuple(responses.shape) if isinstance(responses, torch.Tensor) else type(responses).__name__
        raise ValueError(f"{name} must be a tensor of shape (N images >= 2, C units), got {shape}")
    if not torch.isfinite(responses).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    if (responses < 0).any():
        raise ValueError(f"{name} must be non-negative (responses after a ReLU); got a minimum of "
                         f"{responses.min().item():.3g}")
    return responses.float()


def active_units(responses: torch.Tensor) -> torch.Tensor:
    """(C,) bool: the units that respond to at least one image (the others are **dead**)."""
    return _check_responses(responses).amax(dim=0) > 0


def firing_rate(responses: torch.Tensor, threshold: float = 0.5) -> torch.Tensor:
    r"""The fraction of images on which each unit fires: :math:`\Pr_x[r_i(x) > \theta \max_{x'} r_i(x')]`.

    The threshold is relative to each unit's own largest response over the images, so the rate
    does not depend on the unit's scale. A low rate is a sparse unit. Dead units get rate 0.
    Given responses per position (``reduce="positions"``), it is the share of (image, position)
    pairs at which the unit fires.

    Args:
        responses: (N, C) non-negative responses (:func:`layer_responses`).
        threshold: θ in (0, 1).

    Returns:
        (C,) rates in [0, 1].
    """
    return _active(responses, threshold).float().mean(dim=0)


def population_activity(responses: torch.Tensor, threshold: float = 0.5) -> torch.Tensor:
    r"""The share of the units that are active on each row (image, or image and position):
    :math:`\frac1C \sum_i [r_i(x) > \theta \max_{x'} r_i(x')]`, each unit against its own
    largest response, as in :func:`firing_rate` (whose mean over units is this one's mean over
    rows). Low is a sparse **population** code: few units describe any one input.

    Args:
        responses: (N, C) non-negative responses; threshold: θ in (0, 1).

    Returns:
        (N,) shares in [0, 1].
    """
    return _active(responses, threshold).float().mean(dim=1)


def _active(responses: torch.Tensor, threshold: float) -> torch.Tensor:
    """(N, C) bool: where each unit responds above θ times its own largest response."""
    r = _check_responses(responses)
    if not (isinstance(threshold, (int, float)) and 0 < threshold < 1):
        raise ValueError(f"threshold is a share of each unit's maximum and must be in (0, 1), got {threshold!r}")
    peak = r.amax(dim=0)
    return (r > threshold * peak) & (peak > 0)


def hoyer_sparsity(responses: torch.Tensor) -> torch.Tensor:
    r"""Hoyer's (2004) sparsity index of each unit's responses over the N images:

    .. math:: S(r) = \frac{\sqrt{N} - \lVert r \rVert_1 / \lVert r \rVert_2}{\sqrt{N} - 1} ,

    1 when the unit responds to one image only, 0 when it responds equally to all.

    Args:
        responses: (N, C) non-negative responses.

    Returns:
        (C,) indices in [0, 1]; NaN for dead units (no response at all).
    """
    r = _check_responses(responses)
    n = r.shape[0]
    ratio = r.sum(dim=0) / r.norm(dim=0)
    return ((math.sqrt(n) - ratio) / (math.sqrt(n) - 1)).clamp(0, 1)


@torch.no_grad()
def color_sensitivity(encoder: nn.Module, images: torch.Tensor, layers: str | int | list[str | int] | tuple,
                      reduce: str = "mean", batch_size: int = 500) -> dict[str, torch.Tensor]:
    r"""How much each unit's response depends on colour: with :math:`g(x)` the grayscale image
    (ITU-R 601 luma in all three channels, torchvision's ``rgb_to_grayscale``),

    .. math:: c_i = \frac{\sum_x |r_i(x) - r_i(g(x))|}{\sum_x r_i(x) + r_i(g(x))} \in [0, 1],

    0 for a unit that sees only luminance (an edge detector answers an image and its gray
    version alike), 1 for one that answers colour only (a red-green opponent unit is silent on
    gray images). Responses are those of :func:`layer_responses` with the same ``reduce``.

    Returns:
        {layer name: (C,) sensitivities}; NaN for units silent on every image and its gray version.
    """
    images = check_images(images)
    color = layer_responses(encoder, images, layers, reduce, batch_size)
    gray = layer_responses(encoder, rgb_to_grayscale(images, num_output_channels=3), layers, reduce, batch_size)
    return {name: (color[name] - gray[name]).abs().sum(dim=0) / (color[name] + gray[name]).sum(dim=0)
            for name in color}


def filter_chromaticity(weight: torch.Tensor) -> torch.Tensor:
    r"""The share of each first-layer filter's energy that is colour rather than luminance.

    A filter :math:`w \in \mathbb{R}^{3 \times k \times k}` splits into its mean over the three
    channels, repeated in each (what a gray pattern drives), and the rest :math:`w_\perp` (what
    only colour differences drive); the chromaticity is :math:`\lVert w_\perp\rVert^2 /
    \lVert w \rVert^2`: 0 for a filter that weighs the channels alike, 1 for one whose channels
    sum to zero at every pixel (a colour-opponent filter).

    Args:
        weight: (C_out, 3, k, k) conv weights.

    Returns:
        (C_out,) chromaticities in [0, 1] (NaN for an all-zero filter).
    """
    if not isinstance(weight, torch.Tensor) or weight.ndim != 4 or weight.shape[1] != 3:
        shape = tuple(weight.shape) if isinstance(weight, torch.Tensor) else type(weight).__name__
        raise ValueError(f"weight must be first-layer conv weights of shape (C_out, 3, k, k), got {shape}")
    w = weight.detach().float().cpu()
    chroma = w - w.mean(dim=1, keepdim=True)
    return chroma.pow(2).sum(dim=(1, 2, 3)) / w.pow(2).sum(dim=(1, 2, 3))


def class_selectivity(responses: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    r"""Class-selectivity index of each unit (Morcos et al. 2018):
    :math:`(\mu_{\max} - \mu_{-\max}) / (\mu_{\max} + \mu_{-\max})`, where :math:`\mu_{\max}` is
    the unit's mean response on its preferred class and :math:`\mu_{-\max}` its mean over the
    other classes' means. 0: no preference; 1: fires for one class only.

    Args:
        responses: (N, C) non-negative responses; ``labels``: (N,) integer classes (>= 2 classes).

    Returns:
        (C,) indices in [0, 1]; NaN for dead units.
    """
    r = _check_responses(responses)
    if not isinstance(labels, torch.Tensor) or labels.shape != (r.shape[0],):
        raise ValueError(f"labels must be a tensor of shape ({r.shape[0]},), one class per image")
    classes = labels.unique()
    if len(classes) < 2:
        raise ValueError("labels must contain at least two classes to measure selectivity")
    means = torch.stack([r[labels.cpu() == c].mean(dim=0) for c in classes.cpu()])  # (K, C)
    best = means.amax(dim=0)
    rest = (means.sum(dim=0) - best) / (len(classes) - 1)
    return (best - rest) / (best + rest)


def preferred_class(responses: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """(C,) the class on which each unit's mean response is largest."""
    r = _check_responses(responses)
    classes = labels.unique().cpu()
    means = torch.stack([r[labels.cpu() == c].mean(dim=0) for c in classes])
    return classes[means.argmax(dim=0)]


def top_activating(responses: torch.Tensor, k: int = 8) -> torch.Tensor:
    """(C, k) indices of the k images with the largest response of each unit, largest first."""
    r = _check_responses(responses)
    if not 1 <= k <= r.shape[0]:
        raise ValueError(f"k must be between 1 and the number of images ({r.shape[0]}), got {k}")
    return r.topk(k, dim=0).indices.T


def firing_by_color_sensitivity(units: dict[str, dict[str, list[float]]], bands: int = 3) -> list[dict]:
    """The per-image firing rate of units that care about colour equally, network against network.

    ``units`` maps a network's name to its units of one layer: ``{"color_sensitivity": [...],
    "image_firing_rate": [...]}`` (:func:`color_sensitivity`, :func:`firing_rate`; NaN
    sensitivities, of silent units, are left out). The units of all the networks together are cut
    into ``bands`` bands of colour sensitivity with equally many units each (quantiles); returns one
    row per band: its range ``(low, high)`` and, per network, the mean firing rate of its units in
    the band and their number (NaN and 0 where it has none). Where two networks' rates agree band
    by band, a difference of their layer means comes from how many units of each kind they have.
    """
    if bands < 1:
        raise ValueError(f"bands must be >= 1, got {bands}")
    for name, layer in units.items():
        if len(layer["color_sensitivity"]) != len(layer["image_firing_rate"]):
            raise ValueError(f"network {name!r}: {len(layer['color_sensitivity'])} colour sensitivities "
                             f"for {len(layer['image_firing_rate'])} firing rates; give one of each per unit")
    kept = {name: [(c, r) for c, r in zip(layer["color_sensitivity"], layer["image_firing_rate"]) if not math.isnan(c)]
            for name, layer in units.items()}
    pooled = torch.tensor([c for pairs in kept.values() for c, _ in pairs], dtype=torch.float64)
    if pooled.numel() < bands:
        raise ValueError(f"{pooled.numel()} units with a colour sensitivity cannot fill {bands} bands")
    edges = torch.quantile(pooled, torch.linspace(0, 1, bands + 1, dtype=torch.float64)).tolist()

    def band_of(c: float) -> int:  # [edges[b], edges[b + 1]), the last band closed above
        return min(bisect.bisect_right(edges, c) - 1, bands - 1)

    rows = [{"band": (edges[b], edges[b + 1])} for b in range(bands)]
    for name, pairs in kept.items():
        for b, row in enumerate(rows):
            rates = [r for c, r in pairs if band_of(c) == b]
            row[name] = (sum(rates) / len(rates) if rates else float("nan"), len(rates))
    return rows


def sparsity_by_layer(responses: dict[str, torch.Tensor], threshold: float = 0.5) -> dict[str, dict[str, float]]:
    """Per layer: the mean firing rate and mean Hoyer index of its live units, the mean
    population activity (:func:`population_activity`) and the dead share.

    Given per-image responses, the rates and indices are over images; given responses per
    position (``layer_responses(..., reduce="positions")``), over (image, position) pairs.

    Args:
        responses: {layer: (N, C) responses} from :func:`layer_responses`.
        threshold: θ of :func:`firing_rate`.
    """
    summary = {}
    for name, r in responses.items():
        live = active_units(r)
        summary[name] = {
            "firing_rate": firing_rate(r, threshold)[live].mean().item() if live.any() else 0.0,
            "hoyer": hoyer_sparsity(r)[live].mean().item() if live.any() else 1.0,
            "population_activity": population_activity(r, threshold).mean().item(),
            "dead_share": 1 - live.float().mean().item(),
        }
    return summary


# ----------------------------------------------------------------------------------------------
# Units with known answers
# ----------------------------------------------------------------------------------------------

HANDMADE_UNITS = ("red-green", "blue-yellow", "vertical edge", "horizontal edge")


class HandmadeUnits(nn.Module):
    """One conv layer ``conv`` of four hand-set 3x3 units, then a ReLU (:data:`HANDMADE_UNITS`):

    * ``red-green``: R - G at the centre pixel, a colour-opponent unit (silent on gray images);
    * ``blue-yellow``: B - (R + G)/2 at the centre pixel, another;
    * ``vertical edge``, ``horizontal edge``: a luminance gradient (the luma weights times
      [-1, 0, 1] across columns or rows, times [1, 2, 1] along them): a gray image drives them
      as its colour original does.

    Images are taken in [0, 1] without normalisation. It has ``layer_names`` and ``blocks`` like
    :class:`ssl_lib.models.AlexNetCIFAR`, so every function of this module measures it.
    """

    def __init__(self):
        super().__init__()
        conv = nn.Conv2d(3, len(HANDMADE_UNITS), 3, padding=1, bias=False)
        weight = torch.zeros_like(conv.weight)
        weight[0, :, 1, 1] = torch.tensor([1.0, -1.0, 0.0])
        weight[1, :, 1, 1] = torch.tensor([-0.5, -0.5, 1.0])
        luma = torch.tensor(LUMA).view(3, 1, 1)
        gradient = torch.tensor([-1.0, 0.0, 1.0])[None, :] * torch.tensor([1.0, 2.0, 1.0])[:, None] / 4
        weight[2] = luma * gradient
        weight[3] = luma * gradient.T
        conv.weight = nn.Parameter(weight, requires_grad=False)
        self.blocks = nn.Sequential(OrderedDict(conv=nn.Sequential(conv, nn.ReLU())))

    @property
    def layer_names(self) -> list[str]:
        return ["conv"]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.blocks(x)


def handmade_units() -> HandmadeUnits:
    """The four hand-set units of :class:`HandmadeUnits`."""
    return HandmadeUnits().eval()
