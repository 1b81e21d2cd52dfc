"""`lowdim report`: a geometry and compression report for an embedding matrix.

io.py reads files, sample.py makes the built-in sample, analysis.py computes every
number (a JSON-ready dict), render.py prints it or writes a self-contained HTML page.
"""
from .analysis import analyse
from .io import ReportInputError, load_matrix
from .sample import builtin_sample

__all__ = ["ReportInputError", "analyse", "builtin_sample", "load_matrix"]
