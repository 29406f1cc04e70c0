"""Time limits for sympy calls that can run for minutes on hard input.

SIGALRM interrupts a call on the main thread; elsewhere nothing can, so off the main thread only small
expressions are tried (`Budget`) and simplify is skipped.
"""

from __future__ import annotations

import signal
import threading
import time
from typing import Any, Callable

BUILD_SECONDS = 2.0     # building and differentiating the expression, and printing it
CALL_SECONDS = 1.5      # one limit, range or proof

class TooSlow(BaseException):
    """Raised by the alarm. Not an Exception, so that sympy's own `except Exception` cannot swallow it."""


def alarm_usable() -> bool:
    """SIGALRM can bound a call: on the main thread, where no other alarm is set."""
    return (hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
            and signal.getitimer(signal.ITIMER_REAL)[0] == 0)


def time_limited(fn: Callable[[], Any], seconds: float) -> Any:
    """fn(), interrupted by TooSlow after `seconds`; where no alarm can be used (another thread) it
    runs unbounded, and the callers skip what can be slow (see Budget, _simplified)."""
    if not alarm_usable():
        return fn()

    def alarm(signum, frame):
        caller = frame
        while caller is not None and caller.f_code is not time_limited.__code__:
            caller = caller.f_back
        if caller is None:
            return  # a late alarm, after time_limited returned: nothing of ours to interrupt
        # Again in 50 ms, should this one be lost: raised inside a finaliser that the garbage
        # collector happened to run (Python prints it as "unraisable"), or caught by sympy.
        signal.setitimer(signal.ITIMER_REAL, 0.05)
        raise TooSlow

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        return fn()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


UNBOUNDED_MAX_OPS = 40  # off the main thread nothing can interrupt sympy: only small expressions are tried


class Budget:
    """Seconds left for a series of sympy calls; each call gets at most CALL_SECONDS of them. Where
    no alarm can bound a call, it is made only for expressions of at most `size` UNBOUNDED_MAX_OPS."""

    def __init__(self, seconds: float, size: int = 0):
        self.deadline = time.monotonic() + seconds
        self.small = size <= UNBOUNDED_MAX_OPS

    def attempt(self, fn: Callable[[], Any], seconds: float = CALL_SECONDS) -> Any:
        """fn() or None when it fails, runs out of time or sympy gives up."""
        left = min(seconds, self.deadline - time.monotonic())
        if left <= 0.01 or not (self.small or alarm_usable()):
            return None
        try:
            return time_limited(fn, left)
        except TooSlow:
            return None
        except Exception:  # NotImplementedError, and whatever else sympy raises on hard input
            return None
