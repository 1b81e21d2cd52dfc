"""Entry point of the `lowdim` script: runs lowdim/cli.py without importing the lowdim
package first, so `lowdim --help` and `lowdim --version` take a fraction of a second
(importing lowdim loads numpy, scikit-learn and scipy: seconds). The package is imported
by cli.py itself only when a command runs.
"""
from __future__ import annotations

import importlib.util
import os
import sys


def _load_cli():
    spec = importlib.util.find_spec("lowdim")      # finds the package, does not run it
    path = os.path.join(spec.submodule_search_locations[0], "cli.py")
    cli_spec = importlib.util.spec_from_file_location("_lowdim_cli.cli", path)
    module = importlib.util.module_from_spec(cli_spec)
    cli_spec.loader.exec_module(module)
    return module


def main(argv=None) -> int:
    return _load_cli().main(argv)
