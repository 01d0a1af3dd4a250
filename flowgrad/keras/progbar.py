"""Keras's progress bar: ``12/50 ━━━━━━━━━━━━━━━━━━━━ 3s 75ms/step - loss: 0.4321``.

On a terminal (or in a notebook) the line is redrawn in place with ``\\r``. Anywhere else -- a
CI log, a file, a pipe -- redraws would only flood the output, so nothing is written until the
bar is finalised, and then the final line alone.
"""

from __future__ import annotations

import math
import numbers
import sys
import time
from collections.abc import Iterable
from typing import TextIO

from flowgrad.errors import at_user_site

__all__ = ["Progbar"]

_BOLD, _GREEN, _GREY, _RESET = "\x1b[1m", "\x1b[32m", "\x1b[37m", "\x1b[0m"


class Progbar:
    """A progress bar over ``target`` steps (``None``: unknown, e.g. a generator).

    ``verbose``: 0 silent, 1 a bar redrawn at most every ``interval`` seconds (the step count,
    the bar, the time left, the time per step and the values), 2 one line when the bar is
    finalised (the step count, the total time, the time per step and the values). Values are
    ``(name, value)`` pairs; each shown value is the average over the steps so far, weighted
    by steps, except for names in ``stateful_metrics`` (shown as given). Pass
    ``stateless_metrics`` instead to name the values that are averaged; the rest are shown as
    given. The first step is left out of the time per step (it usually includes warm-up).
    ``stream``: where to write (default: ``sys.stdout`` at the time of writing).

    >>> import io
    >>> out = io.StringIO()
    >>> bar = Progbar(4, verbose=2, stream=out)
    >>> for step in range(1, 5):
    ...     bar.update(step, [("loss", 1.0 / step)])
    >>> print(out.getvalue().split(" - ")[-1], end="")  # the last update shows its own value
    loss: 0.2500
    """

    def __init__(self, target: int | None, width: int = 30, verbose: int = 1,
                 interval: float = 0.05, stateful_metrics: Iterable[str] | None = None,
                 unit_name: str = "step", *, stateless_metrics: Iterable[str] | None = None,
                 stream: TextIO | None = None) -> None:
        if target is not None and (not isinstance(target, numbers.Integral) or target < 0):
            raise ValueError(at_user_site(
                f"Progbar(target={target!r}): target is a number of steps (an int >= 0) or "
                f"None when unknown"))
        if verbose not in (0, 1, 2):
            raise ValueError(at_user_site(f"Progbar(verbose={verbose!r}): verbose is 0, 1 or 2"))
        if stateful_metrics is not None and stateless_metrics is not None:
            raise ValueError(at_user_site(
                "Progbar: pass stateful_metrics (the values not averaged) or stateless_metrics "
                "(the values averaged), not both"))
        self.target = None if target is None else int(target)
        self.width = width
        self.verbose = verbose
        self.interval = interval
        self.unit_name = unit_name
        self._stateful = None if stateful_metrics is None else set(stateful_metrics)
        self._stateless = None if stateless_metrics is None else set(stateless_metrics)
        if self._stateful is None and self._stateless is None:
            self._stateful = set()
        self._stream = stream
        self._values: dict[str, list[float]] = {}  # name -> [weighted sum, weight]
        self._seen_so_far = 0
        self._start = time.monotonic()
        self._last_update = -math.inf
        self._time_after_first_step: float | None = None
        self._previous_width = 0

    @property
    def stream(self) -> TextIO:
        return sys.stdout if self._stream is None else self._stream

    def _dynamic(self) -> bool:
        """Whether redrawing in place works: a terminal, or a notebook's output cell."""
        isatty = getattr(self.stream, "isatty", None)
        return bool(isatty and isatty()) or "ipykernel" in sys.modules

    def _averaged(self, name: str) -> bool:
        if self._stateful is not None:
            return name not in self._stateful
        return name in self._stateless

    def update(self, current: int, values: Iterable[tuple[str, float]] | None = None,
               finalize: bool | None = None) -> None:
        """Move the bar to step ``current`` with the values of the last step(s). ``finalize``:
        whether this is the last update (default: ``current >= target``). A finalising update
        shows its values as given: they are the epoch's results."""
        if finalize is None:
            finalize = self.target is not None and current >= self.target
        for name, value in values or ():
            value = float(value)
            if self._averaged(name) and not finalize:
                steps = max(current - self._seen_so_far, 1)
                total = self._values.setdefault(name, [0.0, 0])
                total[0] += value * steps
                total[1] += steps
            else:
                self._values[name] = [value, 1]
        self._seen_so_far = current
        now = time.monotonic()
        time_per_step = self._step_duration(current, now)
        if self.verbose == 1:
            self._draw(current, now, time_per_step, finalize)
        elif self.verbose == 2 and finalize:
            count = self._count(current)
            line = (f"{count} - {now - self._start:.0f}s -"
                    f"{_format_duration(time_per_step, self.unit_name)}{self._format_values()}")
            self._write(line + "\n")

    def add(self, n: int, values: Iterable[tuple[str, float]] | None = None) -> None:
        """Move the bar ``n`` steps forward."""
        self.update(self._seen_so_far + n, values)

    def _draw(self, current: int, now: float, time_per_step: float, finalize: bool) -> None:
        dynamic = self._dynamic()
        if not finalize and (not dynamic or now - self._last_update < self.interval):
            return
        self._last_update = now
        bold, green, grey, reset = (_BOLD, _GREEN, _GREY, _RESET) if dynamic else ("",) * 4
        if self.target:
            filled = int(self.width * min(current / self.target, 1.0))
            plain = f"{self._count(current)} {'━' * self.width}"
            rest_of_bar = "━" if dynamic else "─"  # without colours: a lighter line
            bar = (f"{bold}{self._count(current)}{reset} {green}{'━' * filled}{reset}"
                   f"{grey}{rest_of_bar * (self.width - filled)}{reset}")
        else:
            plain = bar = f"{current:7d}/Unknown"
        if self.target and not finalize:
            seconds = _format_eta(time_per_step * (self.target - current))
        else:
            seconds = f"{now - self._start:.0f}s"
        rest = _format_duration(time_per_step, self.unit_name) + self._format_values()
        width = len(plain) + 1 + len(seconds) + len(rest)  # what the eye sees
        line = f"{bar} {bold}{seconds}{reset}{rest}"
        if not dynamic:
            self._write(line + "\n")
            return
        padding = " " * max(self._previous_width - width, 0)
        self._previous_width = width
        self._write("\r" + line + padding + ("\n" if finalize else ""))

    def _count(self, current: int) -> str:
        if not self.target:
            return f"{current}/Unknown"
        digits = len(str(self.target))
        return f"{current:{digits}d}/{self.target}"

    def _format_values(self) -> str:
        text = ""
        for name, (total, weight) in self._values.items():
            average = total / max(weight, 1)
            shown = f"{average:.4f}" if abs(average) > 1e-3 else f"{average:.4e}"
            text += f" - {name}: {shown}"
        return text

    def _step_duration(self, current: int, now: float) -> float:
        """Seconds per step, leaving out the first step once there are more."""
        if not current:
            return 0.0
        if self._time_after_first_step is not None and current > 1:
            duration = (now - self._time_after_first_step) / (current - 1)
        else:
            duration = (now - self._start) / current
        if current == 1:
            self._time_after_first_step = now
        return duration

    def _write(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()


def _format_eta(seconds: float) -> str:
    """``1:02:03``, ``2:03`` or ``3s``."""
    if seconds > 3600:
        return f"{int(seconds // 3600)}:{int(seconds % 3600 // 60):02d}:{int(seconds % 60):02d}"
    if seconds > 60:
        return f"{int(seconds // 60)}:{int(seconds % 60):02d}"
    return f"{int(seconds)}s"


def _format_duration(seconds: float, unit_name: str) -> str:
    """`` 3s/step``, `` 75ms/step`` or `` 80us/step``."""
    if seconds >= 1 or seconds == 0:
        return f" {seconds:.0f}s/{unit_name}"
    if seconds >= 1e-3:
        return f" {seconds * 1e3:.0f}ms/{unit_name}"
    return f" {seconds * 1e6:.0f}us/{unit_name}"
