import sys

from bifrost.cli import main

sys.exit(main())
