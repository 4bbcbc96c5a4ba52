"""The CPU paths of one inference product `x @ weight.T + bias`, all equal to `F.linear` up to rounding.

Which of them is fastest depends on the processor, its BLAS and the row count (`calibration.py` measures
them once per machine; `linear.py` and `packed.py` follow its plan). On the 2-core AMD EPYC of this
project, with the weights evicted from cache as in decoding (docs/results.md):

- `linear`: `F.linear`, i.e. MKL. Slow there (~110 GFLOP/s at best, far less for a few rows), fast elsewhere.
- `halves`: `W @ x.T` with `W` viewed as two halves of its output features, multiplied as a batch of two
  (`torch.bmm`): the 30,522 x 384 LM head at 1 row 1.1 ms against 5.2 ms. A view, nothing copied.
- `onednn`: oneDNN's inner product (`torch.ops.mkldnn._linear_pointwise`, an operator torch registers for its
  own compiler): ~210 GFLOP/s on the encoder's 2,048 rows against 130-190.
- `packed`: the same with the weight reordered once into oneDNN's blocked layout for a row count
  (`pack_weight`); the copy costs time and memory, so only a decode step's weights are packed (`packed.py`).
"""

from __future__ import annotations

import functools
from typing import List, Optional  # noqa: UP035 - TorchScript's names (`onednn_product`)

import torch
import torch.nn.functional as F
from torch import Tensor

UNPACKED_PATHS = ("linear", "halves", "onednn")
PATHS = (*UNPACKED_PATHS, "packed")


@functools.cache
def has_onednn() -> bool:
    """Whether oneDNN's product and weight packing run here: probed once on a tiny product, since a build
    may register the operators yet fail to create their kernels (other CPUs, other builds)."""
    return torch.backends.mkldnn.is_available() and products_of_ones_run(torch.float32, packed_only=False)


@functools.cache
def has_bf16_onednn() -> bool:
    """Whether oneDNN multiplies bf16 by a packed bf16 weight here (older CPUs and builds may lack the kernel)."""
    return has_onednn() and products_of_ones_run(torch.bfloat16, packed_only=True)


def products_of_ones_run(dtype: torch.dtype, packed_only: bool) -> bool:
    """Whether oneDNN's product of (2, 4) ones by (2, 4) ones in `dtype` gives 4s, by a packed weight and,
    unless `packed_only`, by the plain one too."""
    try:
        x, weight = torch.ones(2, 4, dtype=dtype), torch.ones(2, 4, dtype=dtype)
        with torch.inference_mode():
            results = [onednn_product(x, pack_weight(weight, 2), None)]
            if not packed_only:
                results.append(onednn_product(x, weight, None))
        return all(bool((y == 4).all()) for y in results)
    except (AttributeError, RuntimeError):
        return False


def halves_product(x: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
    """The product for an even number of outputs, as a batch of two `W_half @ x.T` (TorchScript compiles it)."""
    rows = x.numel() // x.shape[-1]
    out_features, in_features = weight.shape[0], weight.shape[1]
    half = out_features // 2
    halves = weight.view(2, half, in_features)  # (2, out / 2, in)
    columns = x.reshape(rows, in_features).t().expand(2, in_features, rows)  # (2, in, rows)
    if bias is None:
        y = torch.bmm(halves, columns)
    else:
        y = torch.baddbmm(bias.view(2, half, 1), halves, columns)
    # (2, out / 2, rows) -> (..., out), copied to row-major order as the ops that follow expect
    return y.view(out_features, rows).t().contiguous().view(list(x.shape[:-1]) + [out_features])


def onednn_product(x: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
    """oneDNN's product; `weight` is (out, in) or a `pack_weight` copy (TorchScript compiles it)."""
    # TorchScript's own name for the operator's `Scalar?[]`: a local annotation, which Python never evaluates
    scalars: List[Optional[number]] = []  # noqa: F821, UP006, UP045
    return torch.ops.mkldnn._linear_pointwise(x, weight, bias, "none", scalars, "")


# activations oneDNN can apply to a product's outputs as it writes them: our name -> (oneDNN's, its algorithm)
ONEDNN_ACTIVATIONS = {
    "gelu": ("gelu", "none"),  # erf
    "gelu_new": ("gelu", "tanh"),
    "gelu_pytorch_tanh": ("gelu", "tanh"),
    "gelu_fast": ("gelu", "tanh"),
    "relu": ("relu", ""),
}


def onednn_activated_product(x: Tensor, weight: Tensor, bias: Tensor | None, activation: str) -> Tensor:
    """`activation(x @ weight.T + bias)` in one oneDNN call: the activation is applied to each output as it is
    written, which saves a pass over the (rows, out) result (an encoder's 2,048 x 1,536 feed-forward: ~10 ms
    a layer here) and gives the same values as the activation applied after."""
    name, algorithm = ONEDNN_ACTIVATIONS[activation]
    return torch.ops.mkldnn._linear_pointwise(x, weight, bias, name, [], algorithm)


def pack_weight(weight: Tensor, rows: int) -> Tensor:
    """`weight` (out, in) reordered into oneDNN's blocked layout for products of `rows` rows (opaque: only
    `onednn_product` reads it; other row counts work too)."""
    return torch.ops.mkldnn._reorder_linear_weight(weight.detach(), rows)


PRODUCTS = {"linear": F.linear, "halves": halves_product, "onednn": onednn_product}  # the unpacked paths


def run_path(path: str, x: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
    """The product by the named unpacked path (the packed one needs its copy: `pack_weight`)."""
    return PRODUCTS[path](x, weight, bias)


def path_applies(path: str, out_features: int) -> bool:
    """Whether the path can compute a product with `out_features` outputs here."""
    if path == "halves":
        return out_features % 2 == 0
    if path in ("onednn", "packed"):
        return has_onednn()
    return True
