"""`python -m bifrost.mock [options]`: the same as `bifrost mock`."""

import sys

from .server import main

if __name__ == "__main__":
    sys.exit(main())
