"""The progress display: a table row per epoch and, on a terminal or in a notebook, a live bar with the
loss and ETA during each phase (tqdm when installed, a plain one-line meter otherwise).

As fastai: when the output is redirected to a file or a pipe (nohup, CI, a log file) the table rows are
still printed, one line per epoch, but not the bar, so no carriage-return debris ends up there.
Learner(..., verbose=False) prints nothing, and `with learn.no_bar():` silences one fit. The bar reads the loss
only when it redraws (at most ten times a second): on a GPU each read waits for the device.
"""
from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, TextIO

from .callback import Callback

if TYPE_CHECKING:
    from .learner import Learner

__all__ = ["ProgressCallback", "format_time", "without_progress"]


def format_time(seconds: float) -> str:
    """mm:ss, or h:mm:ss from an hour on."""
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def is_interactive(file):
    """True for a terminal, or for the output stream of a Jupyter kernel."""
    isatty = getattr(file, "isatty", None)
    try:
        if isatty is not None and isatty():
            return True
    except ValueError:  # a closed stream
        return False
    return "ipykernel" in sys.modules and file is sys.stdout


class ProgressCallback(Callback):
    """One table row per epoch (columns from learn.recorder.metric_names) and a live bar per phase.

    file: where to write (sys.stdout at fit time by default). interactive: force the live bar on (True)
    or off (False); None shows it on a terminal or in a notebook only. The table is printed either way
    while learn.verbose is true. use_tqdm: None uses tqdm when importable.
    """

    order = 60

    def __init__(self, file: TextIO | None = None, interactive: bool | None = None, use_tqdm: bool | None = None):
        self.file, self.interactive, self.use_tqdm = file, interactive, use_tqdm
        self.bar = None
        self.active = self.show_bar = False

    def before_fit(self) -> None:
        """Decide where and whether to show the bar, and print the table's header."""
        self._close_bar()
        self.out = self.file if self.file is not None else sys.stdout
        self.active = bool(self.learn.verbose)
        self.show_bar = self.active and (is_interactive(self.out) if self.interactive is None else self.interactive)
        if self.active:
            names = self.learn.recorder.metric_names
            self.widths = [max(len(name), 10) for name in names]
            self._write_row(names)

    def before_train(self) -> None:
        """Open the training phase's bar."""
        self._open_bar("train")

    def before_validate(self) -> None:
        """Open the validation phase's bar."""
        self._open_bar("valid")

    def after_batch(self) -> None:
        """Advance the bar (the loss is read only when it redraws)."""
        if self.bar is not None:
            learn = self.learn
            # Training shows the smoothed loss, validation the running mean so far (what valid_loss will be),
            # as fastai; the Recorder (order 50) has already added this batch.
            self.bar.update(lambda: learn.smooth_loss if learn.training else learn.recorder.loss.value)

    def after_train(self) -> None:
        """Close the training phase's bar."""
        self._close_bar()

    def after_validate(self) -> None:
        """Close the validation phase's bar."""
        self._close_bar()

    def after_epoch(self) -> None:
        """Print the epoch's row of the table."""
        self._close_bar()
        if self.active:
            log = self.learn.recorder.log
            cells = [str(log[0])] + [_format_value(v) for v in log[1:-1]] + [format_time(log[-1])]
            self._write_row(cells)

    def after_fit(self) -> None:
        """Close any bar left open."""
        self._close_bar()

    def _open_bar(self, phase):
        self._close_bar()
        if not self.show_bar:
            return
        description = f"epoch {self.learn.epoch + 1}/{self.learn.n_epoch} {phase}"
        total = len(self.learn.dl)
        if self._tqdm_available():
            self.bar = _TqdmBar(total, description, self.out)
        else:
            self.bar = _PlainBar(total, description, self.out)

    def _tqdm_available(self):
        if self.use_tqdm is False:
            return False
        try:
            import tqdm  # noqa: F401
        except ImportError:
            if self.use_tqdm:
                raise ImportError("ProgressCallback(use_tqdm=True) needs tqdm: pip install tqdm") from None
            return False
        return True

    def _close_bar(self):
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def _write_row(self, cells):
        self.out.write("  ".join(cell.ljust(width) for cell, width in zip(cells, self.widths)).rstrip() + "\n")
        self.out.flush()


def _format_value(value):
    return "nan" if value != value else f"{value:.6f}"


_REDRAW_SECONDS = 0.1


class _TqdmBar:
    def __init__(self, total, description, file):
        from tqdm import tqdm

        self.bar = tqdm(total=total, desc=description, file=file, leave=False, dynamic_ncols=True)
        self.last_loss_read = -_REDRAW_SECONDS

    def update(self, read_loss):
        """One batch done; read_loss() gives the loss to show (called only when the shown value can change)."""
        now = time.perf_counter()
        if now - self.last_loss_read >= _REDRAW_SECONDS or self.bar.n + 1 >= self.bar.total:
            self.bar.set_postfix_str(f"loss {read_loss():.4f}", refresh=False)
            self.last_loss_read = now
        self.bar.update(1)

    def close(self):
        self.bar.close()


class _PlainBar:
    """A single line redrawn with a carriage return, at most ten times a second."""

    WIDTH = 24

    def __init__(self, total, description, file):
        self.total, self.description, self.file = max(total, 1), description, file
        self.done, self.start, self.last_draw, self.length = 0, time.perf_counter(), 0.0, 0

    def update(self, read_loss):
        """One batch done; read_loss() gives the loss to show (called only when the line is redrawn)."""
        self.done += 1
        now = time.perf_counter()
        if now - self.last_draw < _REDRAW_SECONDS and self.done < self.total:
            return
        loss = read_loss()
        self.last_draw = now
        elapsed = now - self.start
        eta = elapsed / self.done * (self.total - self.done)
        filled = self.WIDTH * self.done // self.total
        line = (f"{self.description} [{'#' * filled}{'.' * (self.WIDTH - filled)}] {self.done}/{self.total}"
                f" loss {loss:.4f} eta {format_time(eta)}")
        self.file.write("\r" + line.ljust(self.length))
        self.file.flush()
        self.length = len(line)

    def close(self):
        if self.length:
            self.file.write("\r" + " " * self.length + "\r")
            self.file.flush()


def without_progress(learn: Learner) -> contextlib.AbstractContextManager[None]:
    """learn without its progress display for the duration of a `with` block (lr_find is a mock training,
    validate shows nothing, fastai's no_bar)."""
    return _without_progress(learn)


@contextlib.contextmanager
def _without_progress(learn: Learner) -> Iterator[None]:
    progress = [cb for cb in learn.cbs if isinstance(cb, ProgressCallback)]
    for cb in progress:
        learn.remove_cb(cb)
    try:
        yield
    finally:
        learn.add_cbs(progress)
