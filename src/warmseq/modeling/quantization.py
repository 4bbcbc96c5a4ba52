"""Lower-precision generation, opt-in: `compute_type="int8" | "bf16" | "float32"` (CTranslate2's names).

Every linear product of the call changes: the encoder's, the cross-attention keys and values computed from
its output, the decoder's and the LM head; embeddings, layer norms, attention's softmax and weighted sums
and the cache stay float32. (At batch 16 with 128-token sources the encoder is half of a 32-token call's
time, so a decoder-only int8 left most of the call at float32 speed.) On this project's 2-core AMD EPYC
(AVX-512 VNNI and BF16), one thread, the weights read from memory (MiniLM's shapes, ms per product;
`benchmarks/bench_linear.py --compute-types`):

| product, rows | float32 packed | bf16 packed | int8 weight-only (bf16 x) | int8 dynamic |
|---|---:|---:|---:|---:|
| LM head 30,522 x 384, 1 | 2.05 | 0.78 | 0.79 | 0.45 |
| LM head, 16 | 2.99 | 1.54 | 5.85 | 1.82 |
| q/k/v 1,152 x 384, 16 | 0.13 | 0.08 | 0.16 | 0.09 |

So int8 is dynamic quantization: weights int8 per output channel (symmetric, scale = max |w| / 127), each
call's activations quantized per tensor, int8 products with int32 accumulation (torch's quantized CPU
engine, fbgemm or oneDNN), float32 out. bf16 keeps bf16 weights (packed by oneDNN where it runs) and
rounds the activations to bf16 at each product, accumulating in float32.

Neither is exact. On the MiniLM warm start (untrained cross-attention, 8 sources, teacher-forced), the
logits' relative error was 0.09 for int8 (most of it from the decoder body, not the LM head; per-tensor
activation scales are coarse) and 0.007 for bf16; the next-token choice agreed at 87% and 97% of positions.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from warmseq.modeling.packed import kept_modules, packed_decoder, with_replaced_linears
from warmseq.modeling.products import has_onednn, onednn_product, pack_weight

COMPUTE_TYPES = ("float32", "bf16", "int8")
ALIASES = {"float32": "float32", "fp32": "float32", "float": "float32", "default": "float32",
           "bf16": "bf16", "bfloat16": "bf16", "int8": "int8", "int8_float32": "int8"}


def check_compute_type(value: object, where: str = "compute_type") -> str:
    """The canonical name of a compute type, or a one-line error naming the argument."""
    name = ALIASES.get(str(value).lower()) if isinstance(value, str) else None
    if name is None:
        raise ValueError(f"{where}={value!r} is not a compute type; expected one of {', '.join(COMPUTE_TYPES)}")
    return name


class BF16Linear(nn.Module):
    """`x @ weight.T + bias` with bf16 weights and inputs, float32 accumulation and output."""

    def __init__(self, weight: Tensor, bias: Tensor | None, rows: int) -> None:
        super().__init__()
        self.weight = weight.detach().to(torch.bfloat16)
        self.uses_onednn = weight.device.type == "cpu" and has_onednn()
        if self.uses_onednn:
            self.weight = pack_weight(self.weight, rows)
        self.bias = None if bias is None else bias.detach().float()

    def forward(self, x: Tensor) -> Tensor:
        low = x.to(torch.bfloat16)
        y = onednn_product(low, self.weight, None) if self.uses_onednn else nn.functional.linear(low, self.weight)
        y = y.float()
        return y if self.bias is None else y.add_(self.bias)


class Int8Linear(nn.Module):
    """`x @ weight.T + bias` with int8 weights (per output channel) and dynamically quantized inputs."""

    def __init__(self, weight: Tensor, bias: Tensor | None) -> None:
        super().__init__()
        if weight.device.type != "cpu":
            raise ValueError(f"compute_type='int8' runs on CPU only; the model is on {weight.device}")
        weight = weight.detach().float()
        scales = (weight.abs().amax(dim=1) / 127.0).clamp_min(1e-12).double()  # (out,)
        zero_points = torch.zeros(weight.shape[0], dtype=torch.long)
        with warnings.catch_warnings():  # torch marks quantized tensors deprecated; its CPU kernels still run
            warnings.simplefilter("ignore")
            quantized = torch.quantize_per_channel(weight, scales, zero_points, 0, torch.qint8)
            self.packed = torch.ops.quantized.linear_prepack(quantized, None if bias is None else bias.detach().float())

    def forward(self, x: Tensor) -> Tensor:
        # 7-bit activations on CPUs without VNNI, whose 16-bit partial sums would overflow with 8 bits
        return torch.ops.quantized.linear_dynamic(x.float().contiguous(), self.packed, not has_vnni())


@functools.cache
def has_vnni() -> bool:
    """Whether the CPU multiplies int8 with 32-bit sums (AVX-512 VNNI or AVX-VNNI): then activations keep all
    8 bits, which halves int8's error here (MiniLM warm start, relative logit error 0.18 -> 0.09)."""
    try:
        flags = Path("/proc/cpuinfo").read_text().split()
    except OSError:
        return False
    return "avx512_vnni" in flags or "avx_vnni" in flags


def low_precision_linear(weight: Tensor, bias: Tensor | None, rows: int, compute_type: str) -> nn.Module:
    return Int8Linear(weight, bias) if compute_type == "int8" else BF16Linear(weight, bias, rows)


def check_engine(compute_type: str) -> None:
    if compute_type == "int8" and "fbgemm" not in torch.backends.quantized.supported_engines \
            and "onednn" not in torch.backends.quantized.supported_engines:
        raise ValueError("compute_type='int8' needs torch's quantized CPU engine (fbgemm or onednn), absent here")


def low_precision_copy(module: nn.Module, rows: int, compute_type: str) -> nn.Module:
    """A copy of `module` sharing its other tensors, each `nn.Linear` in `compute_type`."""
    check_engine(compute_type)
    return with_replaced_linears(module, lambda m: low_precision_linear(m.weight, m.bias, rows, compute_type))


ENCODER_ROWS = 1024  # the row count bf16 weights of an encoder are laid out for (any count works)


def encoder_for(encoder: nn.Module, compute_type: str) -> nn.Module:
    """The encoder whose linears run in `compute_type` (float32: the encoder itself), kept between calls
    while its weights are unchanged."""
    if compute_type == "float32":
        return encoder
    return kept_modules(encoder, ENCODER_ROWS, lambda: low_precision_copy(encoder, ENCODER_ROWS, compute_type),
                          compute_type)


def decode_modules_for(decoder: Any, rows: int, compute_type: str) -> tuple[nn.Module | None, Callable]:
    """The decoder copy (None: the decoder itself) and LM head of decode steps of `rows` rows."""
    if compute_type == "float32":
        return packed_decoder(decoder, rows)
    copy = low_precision_copy(decoder, rows, compute_type)
    return copy, low_precision_linear(decoder.output_weight(), decoder.lm_head.bias, rows, compute_type)
