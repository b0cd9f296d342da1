"""Augmentations: how a positive pair is made from one input.

* Random masking of coordinates, the augmentation of the theory chapters (Wen & Li 2021;
  Ji et al. 2021): :func:`bernoulli_mask`, :func:`complementary_views`.
* SimCLR's image augmentations (Chen et al. 2020), batched: :class:`ImageAugment` holds the
  settings, :func:`preset` names the sets the chapters compare, :func:`augment` makes one view
  and :func:`two_views` a positive pair of every image of a batch, on the batch's own device.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F


def bernoulli_mask(shape: tuple[int, ...], p: float, generator: torch.Generator | None = None,
                   device: torch.device | str = "cpu") -> torch.Tensor:
    """A float mask of ``shape`` whose entries are 1 with probability ``p``, else 0."""
    if not 0 < p < 1:
        raise ValueError(f"mask probability p must be in (0, 1), got {p}")
    return (torch.rand(shape, generator=generator, device=device) < p).float()


def complementary_views(
    x: torch.Tensor, p: float = 0.5, generator: torch.Generator | None = None, rescale: bool = True
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""A positive pair from complementary random masks of the coordinates of ``x``.

    With :math:`D = \mathrm{diag}(d_1, \dots, d_n)`, :math:`d_j \sim \mathrm{Bernoulli}(p)` drawn
    independently for every row of ``x``, the views are

    .. math:: x_1 = \frac{1}{p} D x, \qquad x_2 = \frac{1}{1 - p} (I - D) x ,

    which for p = 1/2 is the pair :math:`x_1 = 2Dx`, :math:`x_2 = 2(I - D)x` of Wen & Li (2021).
    The scaling makes each view an unbiased estimate of x; ``rescale=False`` returns
    :math:`Dx` and :math:`(I - D)x` as in Ji et al. (2021).

    Args:
        x: inputs of shape (N, d).
        p: the probability that a coordinate goes to the first view, in (0, 1).
        generator: the source of randomness.
        rescale: whether to divide the views by p and 1 - p.
    """
    if x.ndim != 2:
        raise ValueError(f"x must have shape (N, d), got {tuple(x.shape)}")
    mask = bernoulli_mask(tuple(x.shape), p, generator, x.device).to(x.dtype)
    x1, x2 = mask * x, (1 - mask) * x
    if rescale:
        x1, x2 = x1 / p, x2 / (1 - p)
    return x1, x2


# --------------------------------------------------------------------------------------------
# Image augmentations, batched: every operation acts on a whole (N, 3, H, W) batch on its own
# device, with independent random parameters for every image (Chen et al. 2020, appendix A).
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ImageAugment:
    """The settings of SimCLR's stochastic augmentation; each operation can be switched off.

    The defaults are SimCLR's CIFAR-10 recipe (Chen et al. 2020, appendix B.9): random resized
    crop, horizontal flip, colour jitter of strength s = 0.5 applied with probability 0.8,
    grayscale with probability 0.2, and no blur.

    Attributes:
        crop: whether to take a random resized crop.
        crop_scale: (min, max) share of the image's area a crop covers, within (0, 1].
        crop_ratio: (min, max) aspect ratio of a crop (drawn log-uniformly), positive.
        flip: probability of a horizontal flip.
        jitter: probability of colour jitter.
        brightness, contrast, saturation: jitter strengths b >= 0; each factor is drawn
            uniformly from [max(0, 1 - b), 1 + b].
        hue: jitter strength in [0, 0.5]; the hue shift is uniform in [-hue, hue] turns (a
            rotation about the gray axis in YIQ space; torchvision rotates in HSV space).
        grayscale: probability of converting to grayscale.
        blur: probability of a Gaussian blur.
        blur_sigma: (min, max) standard deviation of the blur in pixels, positive.
        blur_kernel: odd kernel size of the blur.
        size: side of the output images (a crop is resized to size x size).
    """

    crop: bool = True
    crop_scale: tuple[float, float] = (0.08, 1.0)
    crop_ratio: tuple[float, float] = (3 / 4, 4 / 3)
    flip: float = 0.5
    jitter: float = 0.8
    brightness: float = 0.4
    contrast: float = 0.4
    saturation: float = 0.4
    hue: float = 0.1
    grayscale: float = 0.2
    blur: float = 0.0
    blur_sigma: tuple[float, float] = (0.1, 2.0)
    blur_kernel: int = 3
    size: int = 32

    def __post_init__(self) -> None:
        lo, hi = self.crop_scale
        if not 0 < lo <= hi <= 1:
            raise ValueError(f"crop_scale must satisfy 0 < min <= max <= 1, got {self.crop_scale}")
        lo, hi = self.crop_ratio
        if not 0 < lo <= hi:
            raise ValueError(f"crop_ratio must satisfy 0 < min <= max, got {self.crop_ratio}")
        for name in ("flip", "jitter", "grayscale", "blur"):
            p = getattr(self, name)
            if not 0 <= p <= 1:
                raise ValueError(f"{name} is a probability and must be in [0, 1], got {p}")
        for name in ("brightness", "contrast", "saturation"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} is a jitter strength and must be >= 0, got {getattr(self, name)}")
        if not 0 <= self.hue <= 0.5:
            raise ValueError(f"hue must be in [0, 0.5] (a fraction of the colour wheel), got {self.hue}")
        lo, hi = self.blur_sigma
        if not 0 < lo <= hi:
            raise ValueError(f"blur_sigma must satisfy 0 < min <= max, got {self.blur_sigma}")
        if self.blur_kernel < 1 or self.blur_kernel % 2 == 0:
            raise ValueError(f"blur_kernel must be an odd positive integer, got {self.blur_kernel}")
        if self.size < 1:
            raise ValueError(f"size must be a positive number of pixels, got {self.size}")


def color_distortion(strength: float, jitter: float = 0.8, grayscale: float = 0.2) -> dict:
    """SimCLR's colour distortion of ``strength`` s (Chen et al. 2020, appendix A): jitter of
    brightness, contrast and saturation 0.8 s and hue 0.2 s, as keyword arguments of
    :class:`ImageAugment`."""
    if strength < 0:
        raise ValueError(f"strength must be >= 0, got {strength}")
    return dict(jitter=jitter, brightness=0.8 * strength, contrast=0.8 * strength,
                saturation=0.8 * strength, hue=min(0.2 * strength, 0.5), grayscale=grayscale)


_OFF = dict(crop=False, flip=0.0, jitter=0.0, grayscale=0.0, blur=0.0)
PRESETS: dict[str, ImageAugment] = {
    "none": ImageAugment(**_OFF),
    "crop": ImageAugment(**{**_OFF, "crop": True}),
    "color": ImageAugment(**{**_OFF, **color_distortion(0.5)}),
    "crop_flip": ImageAugment(**{**_OFF, "crop": True, "flip": 0.5}),
    "crop_color": ImageAugment(**{**_OFF, "crop": True, **color_distortion(0.5)}),
    "simclr": ImageAugment(),
}


def preset(name: str, **overrides) -> ImageAugment:
    """The named augmentation set, optionally with some settings changed.

    ``none``: identity; ``crop``: random resized crop; ``color``: colour distortion only;
    ``crop_flip``: crop and flip; ``crop_color``: crop and colour distortion; ``simclr``: crop,
    flip and colour distortion (SimCLR's CIFAR-10 recipe).
    """
    if name not in PRESETS:
        raise ValueError(f"unknown augmentation preset {name!r}; valid presets: {', '.join(PRESETS)}")
    return replace(PRESETS[name], **overrides)


def check_images(images: torch.Tensor, name: str = "images") -> torch.Tensor:
    """Validate a batch of RGB images and return it as float32 in [0, 1], shape (N, 3, H, W).

    Accepts uint8 (0..255) or floating point (0..1) tensors; floats outside [0, 1] (0..255
    images not divided by 255, the likeliest slip) raise.
    """
    if not isinstance(images, torch.Tensor):
        raise ValueError(f"{name} must be a torch.Tensor of shape (N, 3, H, W), got {type(images).__name__}")
    if images.ndim != 4 or images.shape[1] != 3:
        raise ValueError(
            f"{name} must have shape (N, 3, H, W) (channels first, RGB), got {tuple(images.shape)}; "
            f"for (N, H, W, 3) arrays use .permute(0, 3, 1, 2)"
        )
    if images.dtype == torch.uint8:
        return images.float().div_(255)
    if not images.is_floating_point():
        raise ValueError(f"{name} must be uint8 (0..255) or floating point (0..1), got {images.dtype}")
    if not torch.isfinite(images).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    if images.numel() and (images.min() < -RANGE_SLACK or images.max() > 1 + RANGE_SLACK):
        raise ValueError(
            f"{name} are floats with values in [{images.min().item():.4g}, {images.max().item():.4g}]; float "
            f"images must be in [0, 1]: divide 0..255 images by 255, or pass them as uint8"
        )
    return images.float()


#: How far outside [0, 1] a float image may stray by rounding before it counts as out of range.
RANGE_SLACK = 1e-4


def augment(images: torch.Tensor, config: ImageAugment, generator: torch.Generator | None = None
            ) -> torch.Tensor:
    """One random view of every image: crop, flip, colour jitter, grayscale, blur, in that order.

    Random parameters are drawn independently for every image from ``generator`` (a CPU
    generator is fine for a GPU batch: the few parameters are moved to the batch's device).

    Args:
        images: (N, 3, H, W), uint8 in 0..255 or float in [0, 1], on any device.
        config: the augmentation settings (see :func:`preset`).
        generator: the source of randomness.

    Returns:
        Float32 views of shape (N, 3, config.size, config.size), values in [0, 1].
    """
    x = check_images(images)
    n = x.shape[0]
    if config.crop or config.flip > 0 or x.shape[-1] != config.size or x.shape[-2] != config.size:
        x = _crop_flip(x, config, generator)
    if config.jitter > 0 or config.grayscale > 0:
        x = _color_transform(x, config, generator)
    if config.blur > 0:
        x = _gaussian_blur(x, config, _bernoulli(n, config.blur, generator, x.device), generator)
    return x


def two_views(images: torch.Tensor, config: ImageAugment, generator: torch.Generator | None = None
              ) -> tuple[torch.Tensor, torch.Tensor]:
    """The two views of a positive pair for every image, made in one batched call.

    Returns two float32 tensors of shape (N, 3, size, size); row i of each comes from image i.
    """
    x = check_images(images)
    if x.shape[0] < 1:
        raise ValueError("images is an empty batch; pass at least one image")
    views = augment(torch.cat([x, x]), config, generator)
    return views[: x.shape[0]], views[x.shape[0]:]


def _bernoulli(n: int, p: float, generator, device) -> torch.Tensor:
    return (torch.rand(n, generator=generator) < p).to(device)


def _crop_flip(x: torch.Tensor, config: ImageAugment, generator) -> torch.Tensor:
    """Random resized crop and horizontal flip of every image, resampled bilinearly.

    A crop box resized to size x size is separable: rows and columns are interpolated
    independently, ``out = R x C^T`` with an interpolation matrix R (size x H) for the rows
    and C (size x W) for the columns of each image; a flip reverses the rows of C. Two batched
    matrix products do the whole batch.
    """
    n, _, height, width = x.shape
    if config.crop:
        # torchvision's rule, vectorised: 10 tries of (area, log-ratio); the first box that fits
        # the image wins; if none fits, the whole image.
        tries = 10
        area = torch.empty(n, tries).uniform_(*config.crop_scale, generator=generator)
        log_ratio = torch.empty(n, tries).uniform_(
            math.log(config.crop_ratio[0]), math.log(config.crop_ratio[1]), generator=generator)
        w, h = (area * log_ratio.exp()).sqrt(), (area / log_ratio.exp()).sqrt()  # shares of W, H
        fits = (w <= 1) & (h <= 1)
        found = fits.any(dim=1)
        first = fits.float().argmax(dim=1, keepdim=True)
        w = torch.where(found, w.gather(1, first)[:, 0], 1.0)
        h = torch.where(found, h.gather(1, first)[:, 0], 1.0)
        left = torch.rand(n, generator=generator) * (1 - w)  # top-left corner, shares of W, H
        top = torch.rand(n, generator=generator) * (1 - h)
    else:
        w, h, left, top = torch.ones(n), torch.ones(n), torch.zeros(n), torch.zeros(n)
    flip = torch.rand(n, generator=generator) < config.flip
    rows = _interpolation_matrix(top * height, h * height, height, config.size)
    cols = _interpolation_matrix(left * width, w * width, width, config.size)
    cols = torch.where(flip.view(n, 1, 1), cols.flip(1), cols)
    rows, cols = rows.to(x.device, x.dtype), cols.to(x.device, x.dtype)
    return rows[:, None] @ x @ cols.transpose(1, 2)[:, None]


def _interpolation_matrix(start: torch.Tensor, length: torch.Tensor, n_in: int, n_out: int) -> torch.Tensor:
    """(N, n_out, n_in) bilinear weights sampling ``n_out`` pixel centres of [start, start + length)."""
    centres = start[:, None] + (torch.arange(n_out) + 0.5) * (length[:, None] / n_out) - 0.5
    centres = centres.clamp(0, n_in - 1)
    below = centres.floor().long().clamp(max=n_in - 2) if n_in > 1 else centres.floor().long()
    frac = centres - below
    weights = torch.zeros(start.shape[0], n_out, n_in)
    weights.scatter_add_(2, below[:, :, None], (1 - frac)[:, :, None])
    if n_in > 1:
        weights.scatter_add_(2, (below + 1)[:, :, None], frac[:, :, None])
    return weights


#: The ITU-R 601 weights of R, G and B in luma (grey level), as torchvision rounds them.
LUMA = (0.2989, 0.587, 0.114)
# RGB <-> YIQ: hue rotation turns the (I, Q) plane about the gray axis Y.
_RGB_TO_YIQ = torch.tensor([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]])


def _color_transform(x: torch.Tensor, config: ImageAugment, generator) -> torch.Tensor:
    r"""Colour jitter and grayscale of every image as one affine colour map, x -> A x + c.

    Each adjustment of torchvision's ColorJitter is affine in RGB (w are the luma weights):
    brightness :math:`x \to f x`; saturation :math:`x \to f x + (1 - f) \mathbf{1} w^\top x`;
    contrast :math:`x \to f x + (1 - f) \bar y` with :math:`\bar y` the mean luma of the image;
    grayscale :math:`x \to \mathbf{1} w^\top x`. The hue is rotated by 2π·shift about the
    gray axis in YIQ space, a linear map too. Composing the four in a random order per image
    (as ColorJitter does) gives one 3x3 matrix and offset per image, applied in a single pass;
    the result is clamped to [0, 1] once, at the end. Two differences from torchvision, both
    small: torchvision rotates the hue in HSV space and clamps after every adjustment.
    """
    n, device = x.shape[0], x.device
    eye = torch.eye(3).expand(n, 3, 3)
    w = torch.tensor(LUMA)
    ones_w = torch.ones(3, 1) * w[None, :]  # 1 w^T
    A, c = eye.clone(), torch.zeros(n, 3)
    mean_rgb = x.mean(dim=(2, 3)).cpu().float()  # (N, 3): what the contrast's mean luma needs
    if config.jitter > 0:
        apply = torch.rand(n, generator=generator) < config.jitter
        s = (config.brightness, config.contrast, config.saturation)
        f = [torch.empty(n).uniform_(max(0.0, 1 - v), 1 + v, generator=generator) for v in s]
        angle = torch.empty(n).uniform_(-config.hue, config.hue, generator=generator) * 2 * math.pi
        f = [torch.where(apply, fi, 1.0) for fi in f]
        angle = torch.where(apply, angle, 0.0)
        cos, sin = angle.cos(), angle.sin()
        rot = torch.zeros(n, 3, 3)
        # clockwise in the (I, Q) plane: the direction in which HSV's hue increases
        rot[:, 0, 0], rot[:, 1, 1], rot[:, 1, 2], rot[:, 2, 1], rot[:, 2, 2] = 1, cos, sin, -sin, cos
        hue = torch.linalg.inv(_RGB_TO_YIQ) @ rot @ _RGB_TO_YIQ
        order = torch.rand(n, 4, generator=generator).argsort(dim=1)  # a permutation per image
        for slot in range(4):
            op = order[:, slot].view(n, 1, 1)
            fb, fc, fs = (fi.view(n, 1, 1) for fi in f)
            mean_luma = ((A @ mean_rgb[:, :, None])[:, :, 0] + c) @ w  # (N,) luma mean so far
            candidates_A = torch.stack([fb * A, fc * A, (fs * eye + (1 - fs) * ones_w) @ A, hue @ A])
            candidates_c = torch.stack([
                fb[:, :, 0] * c,
                fc[:, :, 0] * c + (1 - fc[:, :, 0]) * mean_luma[:, None],
                ((fs * eye + (1 - fs) * ones_w) @ c[:, :, None])[:, :, 0],
                (hue @ c[:, :, None])[:, :, 0],
            ])
            A = candidates_A.gather(0, op.view(1, n, 1, 1).expand(1, n, 3, 3))[0]
            c = candidates_c.gather(0, op.view(1, n, 1).expand(1, n, 3))[0]
    if config.grayscale > 0:
        gray = (torch.rand(n, generator=generator) < config.grayscale).view(n, 1, 1)
        A = torch.where(gray, ones_w @ A, A)
        c = torch.where(gray[:, :, 0], (c @ w)[:, None].expand(n, 3), c)
    A, c = A.to(device, x.dtype), c.to(device, x.dtype)
    n, _, height, width = x.shape
    out = torch.baddbmm(c[:, :, None], A, x.reshape(n, 3, height * width))
    return out.clamp_(0, 1).view(n, 3, height, width)


def _gaussian_blur(x: torch.Tensor, config: ImageAugment, apply: torch.Tensor, generator) -> torch.Tensor:
    """Separable Gaussian blur with a random sigma per image (a depthwise convolution)."""
    n, c, height, width = x.shape
    sigma = torch.empty(n).uniform_(*config.blur_sigma, generator=generator).to(x.device, x.dtype)
    half = config.blur_kernel // 2
    offsets = torch.arange(-half, half + 1, device=x.device, dtype=x.dtype)
    kernel = torch.exp(-offsets[None] ** 2 / (2 * sigma[:, None] ** 2))
    kernel = kernel / kernel.sum(dim=1, keepdim=True)
    kernel = kernel.repeat_interleave(c, dim=0)  # (N * C, k)
    flat = F.pad(x.reshape(1, n * c, height, width), (half, half, half, half), mode="reflect")
    flat = F.conv2d(flat, kernel[:, None, None, :], groups=n * c)
    flat = F.conv2d(flat, kernel[:, None, :, None], groups=n * c)
    return torch.where(apply.view(n, 1, 1, 1), flat.view(n, c, height, width), x)
