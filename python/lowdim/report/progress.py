"""Progress of `lowdim report` on stderr: one line per step, with its wall time.

In a log (stderr not a terminal) each step is one clean line written when it ends. On a
terminal the running step's line is redrawn a few times a second by a small thread: the
elapsed seconds, and a bar with done/total when the step reports them (the compression
settings, the streamed chunks); when it ends the line is overwritten by its result. Hand
made (a dozen lines) rather than rich or tqdm: no dependency for one line of output.
"""
from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

BAR = 20            # characters of the bar
INTERVAL = 0.25     # seconds between redraws on a terminal


class Step:
    """Handle of a running step: `advance(done, total)` feeds the bar."""

    def __init__(self) -> None:
        self.done: int | None = None
        self.total: int | None = None

    def advance(self, done: int, total: int) -> None:
        self.done, self.total = done, total


class Progress:
    """Prints each step with its wall time; records wall and CPU seconds per step (on a
    shared machine the CPU seconds say what the step costs, the wall time what others
    left of the machine)."""

    def __init__(self, stream: TextIO | None, interval: float = INTERVAL) -> None:
        self.stream, self.interval = stream, interval
        self.timings: dict[str, float] = {}
        self.cpu: dict[str, float] = {}
        isatty = getattr(stream, "isatty", None)
        self.live = bool(isatty and isatty())
        self._lock = threading.Lock()

    @contextmanager
    def step(self, name: str) -> Iterator[Step]:
        handle, stop = Step(), threading.Event()
        t0, c0 = time.perf_counter(), time.process_time()
        ticker = None
        if self.stream is not None and self.live:
            ticker = threading.Thread(target=self._tick, args=(name, handle, t0, stop),
                                      daemon=True)
            ticker.start()
        try:
            yield handle
        finally:     # the line is finished even when the step fails
            stop.set()
            if ticker is not None:
                ticker.join()
            dt = time.perf_counter() - t0
            self.timings[name] = round(dt, 3)
            self.cpu[name] = round(time.process_time() - c0, 3)   # all threads of the process
            if self.stream is not None:
                self._write(("\r\x1b[K" if self.live else "") + f"  ✓ {name} ({dt:.1f} s)")

    def _tick(self, name: str, handle: Step, t0: float, stop: threading.Event) -> None:
        while True:
            self._write("\r\x1b[K" + live_line(name, handle, time.perf_counter() - t0,
                                               shutil.get_terminal_size().columns), end="")
            if stop.wait(self.interval):
                return

    def _write(self, line: str, end: str = "\n") -> None:
        with self._lock:
            if self.stream is None:
                return
            try:
                print(line, end=end, file=self.stream, flush=True)
            except BrokenPipeError:   # `lowdim report 2>&1 | head`: the reader left, go on quietly
                self.stream = None


def live_line(name: str, handle: Step, elapsed: float, width: int) -> str:
    """`  … name [###·················] 3/38  12.3 s`, the name cut to fit `width`
    (a line that wraps cannot be redrawn with a carriage return)."""
    tail = f"  {elapsed:.1f} s"
    if handle.total and handle.done is not None:     # advance sets both together
        filled = round(BAR * min(handle.done, handle.total) / handle.total)
        tail = f" [{'#' * filled}{'·' * (BAR - filled)}] {handle.done}/{handle.total}" + tail
    room = max(8, width - 1 - 4 - len(tail))
    return f"  … {name if len(name) <= room else name[:room - 1] + '…'}{tail}"
