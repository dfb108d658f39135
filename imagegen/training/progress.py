"""A text progress bar for the training commands (no dependency; plain lines when the output
is not a terminal, so logs stay readable)."""
from __future__ import annotations

import time
from typing import TextIO


class ProgressBar:
    def __init__(self, stream: TextIO, total: int, start: int = 0, width: int = 30) -> None:
        self.stream, self.total, self.width = stream, max(total, 1), width
        self.start_step, self.started = start, time.perf_counter()
        self.tty = bool(getattr(stream, "isatty", lambda: False)())
        self._last_line_pct = -1

    def __call__(self, step: int, total: int, losses: dict[str, float]) -> None:
        self.total = max(total, 1)
        done = step / self.total
        elapsed = time.perf_counter() - self.started
        rate = (step - self.start_step) / elapsed if elapsed > 0 else 0.0
        eta = (self.total - step) / rate if rate > 0 else 0.0
        figures = "  ".join(f"{k} {v:.4g}" for k, v in losses.items())
        bar = "#" * int(done * self.width)
        line = f"[{bar:<{self.width}}] {step}/{self.total} {rate:.2f} steps/s eta {eta:.0f}s  {figures}"
        if self.tty:
            self.stream.write("\r" + line + ("\n" if step >= self.total else ""))
            self.stream.flush()
        elif int(done * 10) != self._last_line_pct or step >= self.total:
            self._last_line_pct = int(done * 10)
            self.stream.write(line + "\n")
            self.stream.flush()
