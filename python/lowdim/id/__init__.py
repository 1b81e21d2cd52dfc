"""Intrinsic-dimension estimators with the scikit-dimension interface.

`from lowdim import id as skdim_id` then `skdim_id.MLE().fit(X).dimension_` works like
`skdim.id.MLE`; see each class for the deliberate differences.
"""
from ._estimators import MLE, TwoNN

__all__ = ["MLE", "TwoNN"]
