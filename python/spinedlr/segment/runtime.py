"""Where and on how many threads the network runs: the ``device`` and ``num_threads`` settings.

Kept apart from training so benchmarks and prediction resolve them the same way, and light
(torch only) so the throughput benchmark runs on a machine without the imaging stack.
"""

from __future__ import annotations

import os

import torch


def resolve_device(spec: str) -> torch.device:
    """``auto`` = CUDA when available, else CPU; anything else as torch spells it."""
    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(spec)


TORCH_DEFAULT_THREADS = torch.get_num_threads()
"""torch's own choice at import, restored by ``auto`` once the machine is no longer busy
(otherwise one busy moment would pin the process to a single thread for good)."""


def configure_threads(n: int) -> int:
    """Apply RuntimeSettings.num_threads (0 = auto, see there); returns the count in use."""
    if n == 0:
        busy = os.getloadavg()[0] > (os.cpu_count() or 1)
        n = 1 if busy else TORCH_DEFAULT_THREADS
    torch.set_num_threads(n)
    return torch.get_num_threads()
