"""`python -m _lowdim_cli` is the `lowdim` script (the tests start it this way)."""
import sys

from . import main

sys.exit(main())
