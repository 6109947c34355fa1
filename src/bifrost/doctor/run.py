"""`bifrost doctor` (being built)."""

from __future__ import annotations

import argparse
import sys


def doctor_main(args: argparse.Namespace) -> int:
    print("bifrost doctor: not implemented yet in this build", file=sys.stderr)
    return 2
