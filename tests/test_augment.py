"""The batched image augmentations: shapes, devices, per-image randomness, agreement with
torchvision's operations, presets and bad input. (Masking is tested with the theory chapters.)"""

import pytest
import torch
import torch.nn.functional as F
import torchvision.transforms.functional as TF

from ssl_lib.augment import PRESETS, ImageAugment, augment, check_images, preset, two_views

ZERO_JITTER = dict(brightness=0.0, contrast=0.0, saturation=0.0, hue=0.0)


def images(n=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8, generator=g)


@pytest.mark.parametrize("name", list(PRESETS))
def test_presets_give_views_in_range(name):
    v1, v2 = two_views(images(), preset(name), torch.Generator().manual_seed(0))
    assert v1.shape == v2.shape == (16, 3, 32, 32)
    assert v1.dtype == torch.float32 and 0 <= v1.min() and v1.max() <= 1


def test_none_is_identity_and_views_differ_otherwise():
    x = images()
    v1, v2 = two_views(x, preset("none"))
    torch.testing.assert_close(v1, x.float() / 255)
    torch.testing.assert_close(v2, x.float() / 255)
    v1, v2 = two_views(x, preset("simclr"), torch.Generator().manual_seed(0))
    assert (v1 - v2).abs().mean() > 0.02


def test_parameters_are_drawn_per_image():
    x = images(1).repeat(64, 1, 1, 1)  # the same image 64 times
    views = augment(x, preset("simclr"), torch.Generator().manual_seed(0))
    distinct = {tuple(v.flatten()[:50].tolist()) for v in views}
    assert len(distinct) > 50


def test_same_seed_same_views():
    a = two_views(images(), preset("simclr"), torch.Generator().manual_seed(3))
    b = two_views(images(), preset("simclr"), torch.Generator().manual_seed(3))
    torch.testing.assert_close(a, b)


def test_flip_and_resize_are_exact():
    x = torch.rand(4, 3, 32, 32)
    torch.testing.assert_close(augment(x, preset("none", flip=1.0)), x.flip(-1))
    torch.testing.assert_close(augment(x, preset("none", size=16)), F.avg_pool2d(x, 2))


def test_crop_covers_a_share_of_the_image():
    # a crop of scale (0.25, 0.25) of an image that is a horizontal ramp spans a quarter of the area
    ramp = torch.linspace(0, 1, 32).expand(8, 3, 32, 32).contiguous()
    views = augment(ramp, preset("crop", crop_scale=(0.25, 0.25), crop_ratio=(1.0, 1.0)))
    widths = views[:, 0, 0, -1] - views[:, 0, 0, 0]  # the ramp's range across the crop
    torch.testing.assert_close(widths, torch.full((8,), 0.5), atol=0.02, rtol=0)  # 15.5 of 31 steps


@pytest.mark.parametrize("op, reference", [
    ("brightness", TF.adjust_brightness), ("contrast", TF.adjust_contrast), ("saturation", TF.adjust_saturation)])
def test_single_jitter_matches_torchvision(op, reference):
    x = images(8).float() / 255
    config = preset("none", jitter=1.0, **{**ZERO_JITTER, op: 0.5})
    out = augment(x, config, torch.Generator().manual_seed(0))
    g = torch.Generator().manual_seed(0)  # replay the draws: apply?, then one factor per strength
    torch.rand(8, generator=g)
    factors = [torch.empty(8).uniform_(0.5, 1.5, generator=g) for _ in range(3)]
    f = factors[("brightness", "contrast", "saturation").index(op)]
    expected = torch.stack([reference(xi, fi.item()) for xi, fi in zip(x, f)])
    torch.testing.assert_close(out, expected, atol=1e-4, rtol=0)


def test_hue_shift_is_close_to_torchvision():
    x = images(32).float() / 255
    out = augment(x, preset("none", jitter=1.0, **{**ZERO_JITTER, "hue": 0.5}), torch.Generator().manual_seed(0))
    g = torch.Generator().manual_seed(0)
    torch.rand(32, generator=g)
    [torch.empty(32).uniform_(1, 1, generator=g) for _ in range(3)]
    shift = torch.empty(32).uniform_(-0.5, 0.5, generator=g)
    expected = torch.stack([TF.adjust_hue(xi, si.item()) for xi, si in zip(x, shift)])
    # YIQ rotation vs HSV: not identical, but far closer to torchvision than doing nothing
    assert (out - expected).abs().mean() < 0.5 * (x - expected).abs().mean()


def test_grayscale_matches_torchvision():
    x = images(8).float() / 255
    out = augment(x, preset("none", grayscale=1.0))
    torch.testing.assert_close(out, TF.rgb_to_grayscale(x, 3), atol=1e-4, rtol=0)


def test_blur_smooths():
    x = images(8).float() / 255
    out = augment(x, preset("none", blur=1.0, blur_sigma=(1.0, 1.0)))
    assert out.diff(dim=-1).abs().mean() < 0.6 * x.diff(dim=-1).abs().mean()
    torch.testing.assert_close(out.mean(), x.mean(), atol=0.01, rtol=0)


def test_unknown_preset_lists_valid_ones():
    with pytest.raises(ValueError, match="valid presets: none, crop"):
        preset("jitter_only")


@pytest.mark.parametrize("kwargs, name", [
    (dict(crop_scale=(0.0, 1.0)), "crop_scale"), (dict(crop_scale=(0.5, 1.2)), "crop_scale"),
    (dict(crop_ratio=(2.0, 1.0)), "crop_ratio"), (dict(flip=1.5), "flip"), (dict(jitter=-0.1), "jitter"),
    (dict(grayscale=2.0), "grayscale"), (dict(blur=-1.0), "blur"), (dict(brightness=-0.4), "brightness"),
    (dict(saturation=-1.0), "saturation"), (dict(hue=0.7), "hue"), (dict(blur_kernel=4), "blur_kernel"),
    (dict(size=0), "size"),
])
def test_bad_parameters_name_the_argument(kwargs, name):
    with pytest.raises(ValueError, match=name):
        ImageAugment(**kwargs)


@pytest.mark.parametrize("bad", [
    torch.zeros(3, 32, 32, dtype=torch.uint8),        # no batch dimension
    torch.zeros(2, 32, 32, 3, dtype=torch.uint8),     # channels last
    torch.zeros(2, 3, 32, 32, dtype=torch.int64),     # wrong dtype
    torch.full((2, 3, 32, 32), float("nan")),         # not finite
])
def test_bad_images_raise(bad):
    with pytest.raises(ValueError, match="images"):
        two_views(bad, preset("simclr"))


def test_check_images_converts_uint8():
    assert check_images(torch.full((1, 3, 2, 2), 255, dtype=torch.uint8)).max() == 1.0


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_views_stay_on_the_gpu():
    v1, _ = two_views(images().cuda(), preset("simclr"), torch.Generator().manual_seed(0))
    assert v1.is_cuda


def test_float_images_in_0_255_are_refused_naming_the_fix():
    images = torch.rand(2, 3, 32, 32) * 255  # a 0..255 image kept as floats: the likeliest slip
    with pytest.raises(ValueError, match=r"must be in \[0, 1\]: divide 0..255 images by 255"):
        augment(images, preset("simclr"))
    augment(images / 255, preset("simclr"))  # the fix
