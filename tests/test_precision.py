"""Mixed precision by hardware: each path chosen where it should be, forced and checked on the CPU."""

import pytest
import torch

from ssl_lib import precision as prec


@pytest.mark.parametrize("cuda_bf16, expected", [(True, "bfloat16"), (False, "float16")])
def test_a_gpu_gets_bfloat16_or_float16_with_a_scaler(monkeypatch, cuda_bf16, expected):
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: cuda_bf16)
    assert prec.default_precision("cuda") == expected


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
    layer = torch.nn.Conv2d(3, 4, 3).to(memory_format=prec.memory_format(precision))
    x = torch.rand(2, 3, 8, 8).contiguous(memory_format=prec.memory_format(precision))
    with prec.autocast(precision, "cpu"):
        y = layer(x)
    assert y.dtype == dtype
    assert y.float().sum().dtype == torch.float32


def test_memory_format_is_channels_last_for_reduced_precisions():
    assert prec.memory_format("bfloat16") == torch.channels_last
    assert prec.memory_format("float16") == torch.channels_last
    assert prec.memory_format("float32") == torch.contiguous_format


def test_bad_precisions_name_the_choices():
    with pytest.raises(ValueError, match="bfloat16, float16, float32"):
        prec.check_precision("fp8", "cpu")
    with pytest.raises(ValueError, match="CUDA"):
        prec.check_precision("float16", "cpu")
    assert prec.check_precision(None, "cpu") == prec.default_precision("cpu")
