"""Progress display of the estimators: scikit-learn's per-epoch lines with verbose=1 (plus the validation loss
and the epoch's time), and a live per-batch bar with verbose >= 2 (tqdm when installed, a one-line meter else)."""
import sys


class Progress:
    def __init__(self, verbose, n_batches):
        self.level = int(verbose)
        self.n_batches = n_batches
        self.bar = None

    def batch_end(self):
        if self.level < 2:
            return
        if self.bar is None:
            self.bar = _make_bar(self.n_batches)
        self.bar.update(1)

    def epoch_end(self, est, seconds):
        if self.level < 1:
            return
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        line = "Iteration %d, loss = %.8f" % (est.n_iter_, est.loss_)
        if est.early_stopping and est.validation_loss_curve_:
            line += ", validation loss = %.8f" % est.validation_loss_curve_[-1]
        print(line + (", %.3f s" % seconds if self.level >= 2 else ""))
        if est.early_stopping and est.validation_scores_:
            print("Validation score: %f" % est.validation_scores_[-1])


def _make_bar(total):
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return _PlainBar(total)
    return tqdm(total=total, leave=False, unit="batch")


class _PlainBar:
    """A one-line batch meter on stderr, drawn only when stderr is a terminal."""

    def __init__(self, total):
        self.total, self.count = total, 0
        self.live = sys.stderr.isatty()

    def update(self, n):
        self.count += n
        if self.live:
            sys.stderr.write(f"\r  batch {self.count}/{self.total}")
            sys.stderr.flush()

    def close(self):
        if self.live:
            sys.stderr.write("\r" + " " * 40 + "\r")
