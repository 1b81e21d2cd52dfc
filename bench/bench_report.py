"""`lowdim report` end to end on 100k × 768 float32 (issue 7 targets).

Generates a deterministic clustered embedding set (16-dimensional latent mixture mapped to
768 dims plus noise) as an .npy file, then times the CLI as a user runs it: `--quick`
(target < 10 s) and the default (target < 2 minutes), each in a fresh process.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from _common import table, write_section


def make_embeddings(n: int, d: int, path: Path) -> None:
    rng = np.random.default_rng(7)
    latent_dim, clusters = 16, 50
    centres = rng.normal(scale=2.0, size=(clusters, latent_dim))
    mixing = rng.normal(size=(latent_dim, d)) / np.sqrt(latent_dim)
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(n, d))
    for start in range(0, n, 10000):
        m = min(10000, n - start)
        z = centres[rng.integers(0, clusters, m)] + rng.normal(size=(m, latent_dim))
        out[start:start + m] = z @ mixing + 0.05 * rng.normal(size=(m, d))
    out.flush()


def run_report(path: Path, *extra: str) -> tuple[float, dict]:
    with tempfile.TemporaryDirectory() as tmp:
        js = Path(tmp) / "r.json"
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "lowdim.cli", "report", str(path), "--quiet",
                        "--json", str(js), *extra], check=True, capture_output=True)
        return time.perf_counter() - t0, json.loads(js.read_text())


def main(quick: bool) -> None:
    n, d = (20000, 768) if quick else (100000, 768)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "emb.npy"
        make_embeddings(n, d, path)
        rows, notes = [], []
        for label, args, target in (("--quick", ("--quick",), 10.0), ("default", (), 120.0)):
            wall, rep = run_report(path, *args)
            slow = sorted(rep["timings_s"].items(), key=lambda kv: -kv[1])[:3]
            rows.append([label, f"{wall:.1f}", f"{target:.0f}", "met" if wall < target else "MISSED",
                         f"{rep['shape']['twonn']:.1f} / {rep['shape']['mle']:.1f}",
                         "; ".join(f"{k} {v:.1f}s" for k, v in slow)])
            comp = rep["compression"]
            notes.append(f"{label}: {len(comp['rows'])} settings, metric {comp['metric']}; "
                         + "; ".join(r["text"] for r in comp["recommendations"]))
    body = (f"Input: {n} × {d} float32 .npy (clustered 16-dimensional latent mixture + noise), "
            "wall time of the whole CLI process including imports and file reading.\n\n"
            + table(["mode", "wall s", "target s", "target", "TwoNN / MLE", "slowest steps"], rows)
            + "\n\n" + "\n".join(f"- {s}" for s in notes))
    write_section("report", "lowdim report end to end", body)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    main(parser.parse_args().quick)
