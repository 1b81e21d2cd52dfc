"""Base classes for lowdim's scikit-learn-style estimators.

With scikit-learn installed, estimators derive from its BaseEstimator and
TransformerMixin, so clone(), pipelines, grid search and check_estimator treat them
as native. Without it, a minimal stand-in gives the same get_params / set_params /
fit_transform protocol (parameters are read from __init__'s signature).
"""
from __future__ import annotations

import inspect

try:
    from sklearn.base import BaseEstimator, TransformerMixin
except ImportError:  # scikit-learn is optional
    class BaseEstimator:  # type: ignore[no-redef]
        @classmethod
        def _get_param_names(cls):
            sig = inspect.signature(cls.__init__)
            return sorted(p.name for p in sig.parameters.values()
                          if p.name != "self" and p.kind != p.VAR_KEYWORD)

        def get_params(self, deep=True):
            return {name: getattr(self, name) for name in self._get_param_names()}

        def set_params(self, **params):
            valid = self._get_param_names()
            for key, value in params.items():
                if key not in valid:
                    raise ValueError(f"invalid parameter {key!r} for {type(self).__name__}")
                setattr(self, key, value)
            return self

        def __repr__(self):
            args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
            return f"{type(self).__name__}({args})"

    class TransformerMixin:  # type: ignore[no-redef]
        def fit_transform(self, X, y=None, **fit_params):
            return self.fit(X, y, **fit_params).transform(X)


class NotFittedError(ValueError, AttributeError):
    """Raised when an estimator is used before fit (same bases as scikit-learn's)."""


def check_is_fitted(estimator, attribute: str) -> None:
    if not hasattr(estimator, attribute):
        raise NotFittedError(f"This {type(estimator).__name__} instance is not fitted yet. "
                             "Call 'fit' with appropriate arguments before using this estimator.")
