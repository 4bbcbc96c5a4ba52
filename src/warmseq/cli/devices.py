"""Check a --device flag before any model is loaded: a typo or a missing GPU is one line, exit code 2."""

from __future__ import annotations

from warmseq.cli.errors import UsageError


def check_device(name: str | None, flag: str = "--device") -> None:
    """Raise UsageError unless `name` (None: the default choice) is a device this machine has."""
    if name is None:
        return
    import torch

    try:
        device = torch.device(name)
    except (RuntimeError, ValueError):
        raise UsageError(f"{flag} {name!r} is not a device; expected cpu, cuda, cuda:N or mps") from None
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise UsageError(f"{flag} {name}: CUDA is not available on this machine; use --device cpu")
        if device.index is not None and device.index >= count:
            raise UsageError(f"{flag} {name}: this machine has {count} CUDA device(s), cuda:0 to cuda:{count - 1}")
    elif device.type == "mps" and not torch.backends.mps.is_available():
        raise UsageError(f"{flag} {name}: MPS is not available on this machine; use --device cpu")
    elif device.type not in ("cpu", "cuda", "mps"):
        raise UsageError(f"{flag} {name}: warmseq runs on cpu, cuda or mps, not {device.type}")
