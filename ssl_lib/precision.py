"""Mixed precision by hardware: which number format the networks compute in.

* ``bfloat16``: autocast to bfloat16 with channels-last memory, on a CUDA GPU that computes it
  natively (compute capability 8.0 or more) and on a CPU with native bfloat16 instructions
  (AVX-512 BF16 or AMX), where it trains the medium ConvNet more than twice as fast as float32
  (``bench/bench_simclr_step.py``: 2.4x with AMX, 2026-12-01; on an AMD EPYC with AVX-512 BF16 and
  no AMX 2.4-2.7x float32 contiguous and 1.9-2.0x float32 channels-last, 2026-12-08);
* ``float16``: autocast to float16 with a gradient scaler, on an older CUDA GPU (a T4, capability
  7.5, where torch's ``is_bf16_supported()`` says True because it counts emulation);
* ``float32``: everything else, channels-last on a CPU (:func:`memory_format`).

Only the networks' forward and backward passes change format: losses, kNN and linear probes
are computed in float32 (the objectives cast z to float32; :func:`ssl_lib.evaluate.extract_features`
returns float32 features).
"""

from __future__ import annotations

import contextlib
import functools
import warnings

import torch

PRECISIONS = ("bfloat16", "float16", "float32")
_DTYPES = {"bfloat16": torch.bfloat16, "float16": torch.float16}


@functools.lru_cache(maxsize=1)
def cpu_has_bfloat16() -> bool:
    """Whether this CPU computes bfloat16 natively (AVX-512 BF16 or AMX tiles)."""
    checks = (getattr(torch.cpu, "_is_avx512_bf16_supported", None),
              getattr(torch.cpu, "_is_amx_tile_supported", None))
    return any(check is not None and check() for check in checks)


def cuda_has_bfloat16(device: torch.device | str = "cuda") -> bool:
    """Whether the GPU computes bfloat16 natively: compute capability 8.0 or more (Ampere and
    later). ``torch.cuda.is_bf16_supported()`` also counts emulation, and so says True on a T4
    (capability 7.5), where bfloat16 runs slowly and without tensor-core convolutions."""
    major, _ = torch.cuda.get_device_capability(device)
    return major >= 8


def default_precision(device: torch.device | str) -> str:
    """The fastest safe precision on ``device`` (see the module docstring)."""
    device = torch.device(device)
    if device.type == "cuda":
        return "bfloat16" if cuda_has_bfloat16(device) else "float16"
    if device.type == "cpu" and cpu_has_bfloat16():
        return "bfloat16"
    return "float32"


def check_precision(precision: str | None, device: torch.device | str) -> str:
    """``precision`` if valid on ``device`` (None: :func:`default_precision`), else a ValueError."""
    device = torch.device(device)
    if precision is None:
        return default_precision(device)
    if precision not in PRECISIONS:
        raise ValueError(f"precision={precision!r} is not a precision; use one of {', '.join(PRECISIONS)}")
    if precision == "float16" and device.type != "cuda":
        raise ValueError("precision='float16' needs a CUDA GPU (it relies on a gradient scaler and "
                         "fast float16 units); use 'bfloat16' or 'float32' on this device")
    if precision == "bfloat16" and device.type == "cpu" and not cpu_has_bfloat16():
        warnings.warn("precision='bfloat16' on a CPU without AVX-512 BF16 or AMX is emulated: about 5x "
                      "slower than float32 (the medium ConvNet step on an AMD EPYC, 2026-12); use float32 "
                      "here (the default)", stacklevel=2)
    return precision


def autocast(precision: str, device: torch.device | str) -> contextlib.AbstractContextManager:
    """The autocast context of ``precision`` on ``device`` (a no-op for float32)."""
    device = torch.device(device)
    if precision not in PRECISIONS:
        raise ValueError(f"precision={precision!r} is not a precision; use one of {', '.join(PRECISIONS)}")
    if precision == "float32":
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=_DTYPES[precision])


def memory_format(precision: str, device: torch.device | str) -> torch.memory_format:
    """The memory layout the networks train in: channels-last for the reduced precisions (their
    fast convolutions want it) and for float32 on a CPU, where oneDNN's convolutions run faster
    in it too (the medium ConvNet's SimCLR step 1.3x faster on an AMD EPYC with AVX2,
    ``bench/bench_simclr_step.py``, 2026-12-07); contiguous for float32 on a GPU."""
    if precision == "float32" and torch.device(device).type != "cpu":
        return torch.contiguous_format
    return torch.channels_last


def grad_scaler(precision: str, device: torch.device | str) -> torch.amp.GradScaler:
    """A gradient scaler, enabled for float16 only (bfloat16 has float32's range)."""
    device = torch.device(device)
    return torch.amp.GradScaler(device.type, enabled=precision == "float16")


def path_label(precision: str, layout: torch.memory_format) -> str:
    """A training path in words, as provenance and the cost lines name it: ``"float32, channels-last"``."""
    return f"{precision}, {layout_name(layout)}"


def layout_name(layout: torch.memory_format) -> str:
    """``"channels-last"`` or ``"contiguous"``."""
    return "channels-last" if layout == torch.channels_last else "contiguous"
