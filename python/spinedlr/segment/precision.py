"""Numeric precision for every network the toolkit trains or runs (``segment.precision``).

Why: the network's convolutions and matrix products dominate its cost, and on hardware with
native bfloat16 (AVX512-BF16 / AMX CPUs, Ampere and later GPUs) they run about twice as fast
in 16 bits (bench/results/segment.json). Mixed precision keeps what needs the range and
resolution of fp32 there: master weights and optimiser state stay fp32, autocast runs the
forward pass in 16 bits op by op (PyTorch keeps reductions, norms and softmax in fp32), and
the loss, the metrics and every returned logit or feature are computed from fp32 tensors.

- ``fp32``: no autocast.
- ``bf16``: autocast to bfloat16 on CPU or GPU; same exponent range as fp32, so no scaling.
- ``fp16``: autocast to float16, CUDA only, with a gradient scaler (fp16 gradients underflow
  without one); refused on CPU, where PyTorch's fp16 kernels are slower than fp32.
- ``auto``: bf16 where the device runs it natively, else fp32 (see ``resolve_precision``).
"""

from __future__ import annotations

import contextlib

import torch

from spinedlr.errors import ConfigError

DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def native_bf16(device: torch.device) -> bool:
    """Whether ``device`` has native bfloat16 arithmetic.

    CPU: AVX512-BF16 or AMX (x86). Without them oneDNN emulates bf16 and is no faster than
    fp32, so ``auto`` stays fp32 there (other CPU architectures too: not measured).
    """
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported(including_emulation=False)
    if device.type == "cpu":
        return torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()
    return False


def resolve_precision(spec: str, device: torch.device) -> str:
    """``spec`` with ``auto`` decided for ``device``: one of fp32, bf16, fp16.

    Depends only on the hardware, so a study resolves the same way on every run on the
    same machine (and the checkpoint records what was used).
    """
    if spec == "auto":
        return "bf16" if native_bf16(device) else "fp32"
    if spec == "fp16" and device.type != "cuda":
        raise ConfigError(
            f"precision fp16 needs a CUDA device, not {device.type}: use bf16 or auto on this machine"
        )
    if spec == "bf16" and device.type not in ("cpu", "cuda"):
        raise ConfigError(f"precision bf16 is not supported on {device.type}: use fp32")
    if spec not in ("fp32", "bf16", "fp16"):
        raise ConfigError(f"precision must be auto, fp32, bf16 or fp16, not {spec!r}")
    return spec


def autocast(precision: str, device: torch.device) -> contextlib.AbstractContextManager:
    """The autocast region for a resolved precision (a no-op for fp32)."""
    if precision == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=DTYPES[precision])


def grad_scaler(precision: str, device: torch.device) -> torch.amp.GradScaler:
    """Loss scaler: active for fp16 only (a pass-through for fp32 and bf16)."""
    return torch.amp.GradScaler(device.type, enabled=precision == "fp16")
