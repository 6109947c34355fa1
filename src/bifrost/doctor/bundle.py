"""`bifrost support-bundle` (being built)."""

from __future__ import annotations

import argparse
import sys


def bundle_main(args: argparse.Namespace) -> int:
    print("bifrost support-bundle: not implemented yet in this build", file=sys.stderr)
    return 2
