"""Base classes for lowdim's scikit-learn-style estimators.

With scikit-learn installed, estimators derive from its BaseEstimator and
TransformerMixin, so clone(), pipelines, grid search and check_estimator treat them
as native. Without it, a minimal stand-in gives the same get_params / set_params /
fit_transform protocol (parameters are read from __init__'s signature) and the same
messages. Input checks never use scikit-learn's validation: check_feature_names ports its
DataFrame column-name rules, so errors and warnings do not depend on it being installed.
"""
from __future__ import annotations

import inspect
import warnings
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:  # scikit-learn ships no type information: what lowdim relies on
    from typing_extensions import Self

    class _ParamsBase:
        def get_params(self, deep: bool = True) -> dict[str, Any]: ...
        def set_params(self, **params: Any) -> Self: ...
        def __sklearn_tags__(self) -> Any: ...

    class TransformerMixin:
        def fit_transform(self, X: Any, y: Any = None) -> Any: ...
        def set_output(self, *, transform: str | None = None) -> Self: ...

    class _SklearnNotFittedError(ValueError, AttributeError):
        pass
else:
    try:
        from sklearn.base import BaseEstimator as _ParamsBase, TransformerMixin
    except ImportError:  # scikit-learn is optional
        class _ParamsBase:
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
                    if key not in valid:      # scikit-learn's text
                        raise ValueError(f"Invalid parameter {key!r} for estimator {self}. "
                                         f"Valid parameters are: {valid!r}.")
                    setattr(self, key, value)
                return self

            def __repr__(self):
                # Only parameters that differ from their defaults, as scikit-learn prints them.
                sig = inspect.signature(type(self).__init__).parameters
                args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items()
                                 if repr(v) != repr(sig[k].default))
                return f"{type(self).__name__}({args})"

        class TransformerMixin:
            def fit_transform(self, X, y=None, **fit_params):
                return self.fit(X, y, **fit_params).transform(X)


    try:
        from sklearn.exceptions import NotFittedError as _SklearnNotFittedError
    except ImportError:  # scikit-learn is optional: the same bases as its NotFittedError
        class _SklearnNotFittedError(ValueError, AttributeError):
            pass


class BaseEstimator(_ParamsBase):
    """Pickles carry the lowdim and random-generator versions; unpickling refuses a
    generator version other than this one (the seeds would give other transforms)."""

    def __getstate__(self) -> dict[str, Any]:
        from . import __version__
        from ._rng import GENERATOR_VERSION
        parent = getattr(super(), "__getstate__", None)
        state = parent() if parent is not None else None
        state = dict(self.__dict__ if state is None else state)
        state["_lowdim_versions"] = {"lowdim": __version__, "generator": GENERATOR_VERSION}
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        from . import __version__
        from ._rng import GENERATOR_VERSION
        state = dict(state)
        # Pickles older than this entry were all made with generator version 1.
        made = state.pop("_lowdim_versions", {"lowdim": "unknown", "generator": 1})
        if made.get("generator") != GENERATOR_VERSION:
            raise ValueError(
                f"this {type(self).__name__} was pickled by lowdim {made.get('lowdim')} with "
                f"random-generator version {made.get('generator')}; lowdim {__version__} has "
                f"version {GENERATOR_VERSION} and cannot reproduce it exactly: refit it, or "
                f"load it with lowdim {made.get('lowdim')}")
        parent = getattr(super(), "__setstate__", None)
        if parent is not None:
            parent(state)
        else:
            self.__dict__.update(state)


class NotFittedError(_SklearnNotFittedError):
    """Raised when an estimator is used before fit.

    A subclass of scikit-learn's NotFittedError when it is installed (so ``except
    sklearn.exceptions.NotFittedError`` catches it), else of ValueError and AttributeError
    (scikit-learn's bases); the message is scikit-learn's either way.
    """


def check_is_fitted(estimator: object, attribute: str) -> None:
    if not hasattr(estimator, attribute):
        raise NotFittedError(f"This {type(estimator).__name__} instance is not fitted yet. "
                             "Call 'fit' with appropriate arguments before using this estimator.")


def _feature_names(X: Any) -> np.ndarray | None:
    """Column names of a DataFrame-like X when they are all strings, else None."""
    columns = getattr(X, "columns", None)
    if columns is None or isinstance(X, np.ndarray) or getattr(X, "ndim", 2) != 2:
        return None
    names = np.asarray(list(columns), dtype=object)
    if len(names) == 0:
        return None
    types = sorted(t.__qualname__ for t in set(type(v) for v in names))
    if len(types) > 1 and "str" in types:
        raise TypeError(
            "Feature names are only supported if all input features have string names, "
            f"but your input has {types} as feature name / column name types. "
            "If you want feature names to be stored and validated, you must convert "
            "them all to strings, by using X.columns = X.columns.astype(str) for "
            "example. Otherwise you can remove feature / column names from your input "
            "data, or convert them all to a non-string data type.")
    return names if types == ["str"] else None


def check_feature_names(estimator: Any, X: Any, *, reset: bool) -> None:
    """Set (fit) or check (transform) feature_names_in_, with scikit-learn's messages."""
    names = _feature_names(X)
    if reset:
        if names is not None:
            estimator.feature_names_in_ = names
        elif hasattr(estimator, "feature_names_in_"):
            delattr(estimator, "feature_names_in_")
        return
    fitted = getattr(estimator, "feature_names_in_", None)
    cls = type(estimator).__name__
    if fitted is None and names is None:
        return
    if fitted is None:
        warnings.warn(f"X has feature names, but {cls} was fitted without feature names",
                      UserWarning, stacklevel=3)
        return
    if names is None:
        warnings.warn(f"X does not have valid feature names, but {cls} was fitted with "
                      "feature names", UserWarning, stacklevel=3)
        return
    if len(fitted) == len(names) and np.all(fitted == names):
        return
    message = "The feature names should match those that were passed during fit.\n"
    unexpected, missing = sorted(set(names) - set(fitted)), sorted(set(fitted) - set(names))

    def listing(items: list[Any]) -> str:
        lines = [f"- {item}\n" for item in items[:5]]
        return "".join(lines) + ("- ...\n" if len(items) > 5 else "")
    if unexpected:
        message += "Feature names unseen at fit time:\n" + listing(unexpected)
    if missing:
        message += "Feature names seen at fit time, yet now missing:\n" + listing(missing)
    if not unexpected and not missing:
        message += "Feature names must be in the same order as they were in fit.\n"
    raise ValueError(message)


def validate_rows(estimator: Any, X: Any, *, reset: bool,
                  dtype: npt.DTypeLike | None = None) -> np.ndarray:
    """X (n, d) for fit (reset=True: sets feature_names_in_) or for a fitted estimator's
    transform-like method (checks names and n_features_in_), with scikit-learn's texts
    whether or not it is installed; a C-contiguous float array (of `dtype` when given)."""
    from ._validate import as_float_array, sklearn_style_array
    check_feature_names(estimator, X, reset=reset)
    x = as_float_array(sklearn_style_array(X), ndim=2, dtype=dtype)
    if not reset and x.shape[1] != estimator.n_features_in_:
        raise ValueError(f"X has {x.shape[1]} features, but {type(estimator).__name__} "
                         f"is expecting {estimator.n_features_in_} features as input")
    return x


def check_feature_names_in(estimator: Any,
                           input_features: npt.ArrayLike | None = None) -> np.ndarray | None:
    """input_features as get_feature_names_out receives it, checked with scikit-learn's rules
    and texts: equal to feature_names_in_ when that is set, of length n_features_in_."""
    if input_features is None:
        return getattr(estimator, "feature_names_in_", None)
    input_features = np.asarray(input_features, dtype=object)
    fitted = getattr(estimator, "feature_names_in_", None)
    if fitted is not None and not np.array_equal(fitted, input_features):
        raise ValueError("input_features is not equal to feature_names_in_")
    n_in = getattr(estimator, "n_features_in_", None)
    if n_in is not None and len(input_features) != n_in:
        raise ValueError("input_features should have length equal to number of "
                         f"features ({n_in}), got {len(input_features)}")
    return input_features


def prefixed_feature_names_out(estimator: Any, n_features_out: int,
                               input_features: npt.ArrayLike | None = None) -> np.ndarray:
    """<classname-lowercase>0 … <classname-lowercase>{n-1}, input_features validated first
    (what scikit-learn's ClassNamePrefixFeaturesOutMixin returns)."""
    check_feature_names_in(estimator, input_features)
    prefix = type(estimator).__name__.lower()
    return np.asarray([f"{prefix}{i}" for i in range(n_features_out)], dtype=object)


class ReconstructingQuantizerMixin:
    """The Pipeline face shared by the quantizers (ProductQuantizer, ScalarQuantizer, RaBitQ):
    transform is the float32 reconstruction decode(encode(X)), so the next step sees
    quantized features, not code bit patterns; it keeps the d input columns and their names."""

    def _check_fitted(self) -> None:
        check_is_fitted(self, "n_features_in_")

    def transform(self, X: npt.ArrayLike) -> np.ndarray:
        """Reconstruction decode(encode(X)): (n, d) float32, what the codes keep of X; the
        codes themselves come from encode."""
        out: np.ndarray = self.decode(self.encode(X))  # type: ignore[attr-defined]
        return out

    def get_feature_names_out(self, input_features: npt.ArrayLike | None = None) -> np.ndarray:
        """transform keeps the d input columns: feature_names_in_ (or input_features, checked
        against it as scikit-learn does), else x0 … x{d-1}."""
        self._check_fitted()
        names = check_feature_names_in(self, input_features)
        if names is None:
            n_in: int = self.n_features_in_  # type: ignore[attr-defined]
            names = np.asarray([f"x{i}" for i in range(n_in)], dtype=object)
        return names

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()  # type: ignore[misc]
        tags.transformer_tags.preserves_dtype = ["float32"]   # codes live in float32's space
        return tags
