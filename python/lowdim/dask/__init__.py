"""lowdim on Dask: projections, PQ/scalar/RaBitQ codes, exact kNN and intrinsic dimension.

Functions take and return row-chunked dask.array.Arrays (needs `pip install lowdim[dask]`);
each task calls the in-memory lowdim function on its block, random matrices are
regenerated from the seed on the workers and fitted state is shipped once per worker.
See docs/scale.md for running on a cluster and what each call sends over the network.
"""
from .io import from_npy, from_zarr
from .neighbors import intrinsic_dim, knn, lid, ph_dimension, twonn
from .pq import decode, encode, fit, search
from .projection import (fjlt, gaussian_random_projection, sparse_random_projection, srht,
                         transform)

__all__ = [
    "from_npy", "from_zarr",
    "fjlt", "gaussian_random_projection", "sparse_random_projection", "srht", "transform",
    "decode", "encode", "fit", "search",
    "intrinsic_dim", "knn", "lid", "ph_dimension", "twonn",
]
