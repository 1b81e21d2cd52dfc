"""Run every bench/bench_*.py in turn (one process each) and join their sections into
bench/RESULTS.md. Usage: python bench/run_all.py [name ...]  (names like 'hadamard')."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent


def main(names: list[str]) -> int:
    scripts = sorted(HERE.glob("bench_*.py"))
    if names:
        scripts = [s for s in scripts if s.stem.removeprefix("bench_") in names]
    failed = []
    for script in scripts:
        print(f"== {script.name}", flush=True)
        # OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE are set on some machines for old OpenBLAS
        # builds and slow a current numpy: peers get the BLAS kernel they would normally run.
        env = {k: v for k, v in os.environ.items() if not k.startswith("OPENBLAS_")}
        if subprocess.run([sys.executable, str(script)], env=env).returncode != 0:
            failed.append(script.name)
    sections = sorted((HERE / "results").glob("*.md"))
    text = ["# lowdim benchmark results",
            "",
            "Each section was measured in one run of its bench script, lowdim and the peers in "
            "the same process on the machine named in its header. Ratios > 1 mean lowdim is "
            "faster. Regenerate with `python bench/run_all.py` (peers: `pip install .[bench]`).",
            ""]
    text += [s.read_text() for s in sections]
    (HERE / "RESULTS.md").write_text("\n".join(text))
    if failed:
        print("failed:", ", ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
