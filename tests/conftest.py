"""Shared pytest set-up: R must find this checkout's installed R package (`make setup`)."""

import os
from pathlib import Path

# Before anything imports rpy2: embedded R reads R_LIBS once, when it starts.
os.environ.setdefault("R_LIBS", str(Path(__file__).resolve().parents[1] / ".Rlib"))
