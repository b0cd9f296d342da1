"""Mixed precision by hardware: each path chosen where it should be, forced and checked on the CPU."""

import pytest
import torch

from ssl_lib import precision as prec


@pytest.mark.parametrize("gpu, capability, expected", [
    ("T4", (7, 5), "float16"), ("V100", (7, 0), "float16"), ("A100", (8, 0), "bfloat16"), ("H100", (9, 0), "bfloat16")])
def test_a_gpu_gets_bfloat16_only_where_it_computes_it_natively(monkeypatch, gpu, capability, expected):
    # torch reports a T4 as is_bf16_supported() == True: its default counts emulation
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True: including_emulation or capability >= (8, 0))
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: capability)
    assert prec.default_precision("cuda") == expected, gpu


@pytest.mark.parametrize("cpu_bf16, expected", [(True, "bfloat16"), (False, "float32")])
def test_a_cpu_gets_bfloat16_only_with_native_instructions(monkeypatch, cpu_bf16, expected):
    monkeypatch.setattr(prec, "cpu_has_bfloat16", lambda: cpu_bf16)
    assert prec.default_precision("cpu") == expected


def test_only_float16_scales_gradients():
    assert prec.grad_scaler("float16", "cpu").is_enabled()
    assert not prec.grad_scaler("bfloat16", "cpu").is_enabled()
    assert not prec.grad_scaler("float32", "cpu").is_enabled()


@pytest.mark.parametrize("precision, dtype", [("bfloat16", torch.bfloat16), ("float32", torch.float32)])
def test_autocast_computes_in_the_precision_and_the_loss_stays_float32(precision, dtype):
    layer = torch.nn.Conv2d(3, 4, 3).to(memory_format=prec.memory_format(precision, "cpu"))
    x = torch.rand(2, 3, 8, 8).contiguous(memory_format=prec.memory_format(precision, "cpu"))
    with prec.autocast(precision, "cpu"):
        y = layer(x)
    assert y.dtype == dtype
    assert y.float().sum().dtype == torch.float32


def test_memory_format_is_channels_last_for_reduced_precisions_and_float32_on_a_cpu():
    assert prec.memory_format("bfloat16", "cuda") == torch.channels_last
    assert prec.memory_format("float16", "cuda") == torch.channels_last
    assert prec.memory_format("bfloat16", "cpu") == torch.channels_last
    assert prec.memory_format("float32", "cpu") == torch.channels_last
    assert prec.memory_format("float32", "cuda") == torch.contiguous_format


def test_path_label_names_precision_and_layout():
    assert prec.path_label("float32", torch.channels_last) == "float32, channels-last"
    assert prec.path_label("float32", torch.contiguous_format) == "float32, contiguous"


def test_bad_precisions_name_the_choices():
    with pytest.raises(ValueError, match="bfloat16, float16, float32"):
        prec.check_precision("fp8", "cpu")
    with pytest.raises(ValueError, match="CUDA"):
        prec.check_precision("float16", "cpu")
    assert prec.check_precision(None, "cpu") == prec.default_precision("cpu")


def test_an_unknown_precision_is_named():
    with pytest.raises(ValueError, match="precision='float64' is not a precision; use one of bfloat16"):
        prec.autocast("float64", "cpu")


def test_emulated_bfloat16_on_a_cpu_warns_with_the_slowdown(monkeypatch):
    monkeypatch.setattr(prec, "cpu_has_bfloat16", lambda: False)
    with pytest.warns(UserWarning, match="about 5x slower than float32"):
        assert prec.check_precision("bfloat16", "cpu") == "bfloat16"
