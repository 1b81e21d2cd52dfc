"""Intrinsic-dimension estimators with the scikit-dimension interface.

`from lowdim import id as skdim_id` then `skdim_id.MLE().fit(X).dimension_` works like
`skdim.id.MLE` (also ESS, DANCo, MiND_ML: _ess, _danco, _mind); see each class for the
deliberate differences. The package also holds the
calibration of lowdim.intrinsic_dim (_reference, _calibration, calibration_table.txt) and
id_scale_curve (_scale: Gride and TwoNN under decimation).
"""
from ._estimators import MLE, TwoNN
from ._scale import id_scale_curve
from ._corrint import CorrInt
from ._danco import DANCo
from ._ess import ESS
from ._gride import GRIDE
from ._lpca import lPCA
from ._mind import MiND_ML
from ._mom import MOM
from ._tle import TLE

__all__ = ["MLE", "TwoNN", "id_scale_curve", "CorrInt", "DANCo", "ESS", "GRIDE", "lPCA",
           "MiND_ML", "MOM", "TLE"]
