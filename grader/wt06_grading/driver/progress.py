"""What `make grade` is doing, from its first second to its summary.

``Display`` prints one line per phase (preparing the course, building incidents,
computing reference results, starting workers) and, while grading, each finished
submission with "n of N" and an estimate of the time left. On a terminal the current
line is redrawn every second with the seconds spent so far; elsewhere (CI logs, a pipe)
each event is one plain line. Times are wall-clock from the start of the *process*, so
the summary's wall time is the whole command's, imports and preparation included.

The course's preparation (bundle.course_bundle) names its stages as they start through
``Display.phase`` (releasing, building incidents, computing reference results).
"""

from __future__ import annotations

import sys
import threading
import time


def process_started() -> float:
    """The wall-clock time this process started (``time.time()`` scale)."""
    try:
        import psutil

        return psutil.Process().create_time()
    except Exception:  # noqa: BLE001 (no psutil: from the first import of this module)
        return _IMPORTED


_IMPORTED = time.time()


def _duration(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


class Display:
    def __init__(self, stream=sys.stderr, *, enabled: bool = True, started: float | None = None) -> None:
        self.stream, self.enabled = stream, enabled
        self.started = started if started is not None else process_started()
        self.tty = enabled and hasattr(stream, "isatty") and stream.isatty()
        self.line = ""
        self.total = self.done = 0
        self.grading_started = 0.0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None

    @property
    def elapsed(self) -> float:
        return time.time() - self.started

    def _write(self, text: str, *, keep: bool) -> None:
        if not self.enabled:
            return
        with self._lock:
            stamp = f"[{_duration(self.elapsed):>6}] "
            if self.tty:
                self.stream.write("\r" + (stamp + text)[:118].ljust(118) + ("\n" if keep else ""))
            else:
                self.stream.write(stamp + text + "\n")
            self.stream.flush()
            self.line = "" if keep else text

    def _tick(self) -> None:
        while not self._stop.wait(1.0):
            if self.line:
                self._write(self.line, keep=False)

    def phase(self, text: str) -> None:
        """A new step of the command (the previous one is done)."""
        if self.tty and self._ticker is None and self.enabled:
            self._ticker = threading.Thread(target=self._tick, daemon=True, name="wt06-progress")
            self._ticker.start()
        if self.tty and self.line:
            self._write(self.line, keep=True)
        self._write(text + ("…" if self.tty else ""), keep=not self.tty)

    def grading(self, total: int, workers: int) -> None:
        self.total, self.done, self.grading_started = total, 0, time.time()
        self.phase(f"grading {total} submission(s) on {workers} worker(s)")

    def left(self) -> str:
        if not self.done or self.done >= self.total:
            return ""
        spent = time.time() - self.grading_started
        return f", about {_duration(spent / self.done * (self.total - self.done))} left"

    def step(self, student: str, text: str, *, look: bool = False, lost: int = 0) -> None:
        self.done += 1
        flag = "  (needs a look)" if look else ""
        extra = f"  [{lost} worker(s) lost]" if lost else ""
        line = f"graded {self.done} of {self.total}{self.left()}: {student} {text}{flag}{extra}"
        if self.tty:
            self._write(line, keep=True)
            if self.done < self.total:
                self._write(f"grading {self.done + 1}–{self.total} of {self.total}{self.left()}", keep=False)
        else:
            self._write(line, keep=True)

    def close(self) -> None:
        self._stop.set()
        if self.tty and self.line:
            self._write(self.line, keep=True)
        self.line = ""
