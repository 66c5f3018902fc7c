"""Progress bars for scikit-learn work that joblib runs: cross-validation and searches.

scikit-learn hands the training runs of ``cross_val_score``, ``GridSearchCV`` and friends to
joblib, whose own progress report (``verbose=...``) is a stream of text lines on stderr. This
module shows a ``tqdm`` bar instead, advanced each time joblib reports a finished task::

    from helpers.progress_bars import joblib_progress_bar

    with joblib_progress_bar(total=45, desc="grid search"):
        search.fit(X, y)

Only the first outermost joblib call made inside the ``with`` block moves the bar: the short
joblib calls nested in its tasks (a ``ColumnTransformer`` fitting its parts, say) or made
after it (a search's final refit) do not count. The hook works with every joblib backend, parallel
(``n_jobs=-1``) or sequential, because joblib reports each finished task to the
``print_progress()`` method of its ``Parallel`` object whatever the backend.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from joblib import Parallel
from tqdm.auto import tqdm

_active = threading.Lock()  # held while a bar is hooked in: the blocks do not nest


@contextmanager
def joblib_progress_bar(total: int | None = None, desc: str | None = None, unit: str = "fit",
                    **tqdm_options) -> Iterator[tqdm]:
    """Show a tqdm bar for the joblib tasks run inside the ``with`` block.

    ``total`` is the number of tasks expected (for a search: candidates x folds); with
    ``None`` the bar counts without a total. Other keyword arguments go to ``tqdm``. The bar
    is yielded, so the caller may read ``bar.n`` afterwards.
    """
    if not _active.acquire(blocking=False):
        raise RuntimeError("joblib_progress_bar() blocks cannot be nested or run in parallel")
    try:
        bar = tqdm(total=total, desc=desc, unit=unit, **tqdm_options)
    except BaseException:
        _active.release()
        raise
    tracked: list[Parallel] = []  # the outermost Parallel object called in the block
    depth = threading.local()
    original_call = Parallel.__call__
    original_progress = Parallel.print_progress

    def call(self, iterable):
        level = getattr(depth, "value", 0)
        if level == 0 and not tracked:
            tracked.append(self)
        depth.value = level + 1
        try:
            return original_call(self, iterable)
        finally:
            depth.value = level

    def print_progress(self):
        if tracked and self is tracked[0]:
            done = int(self.n_completed_tasks)
            if done > bar.n:
                bar.update(done - bar.n)
        return original_progress(self)

    Parallel.__call__ = call
    Parallel.print_progress = print_progress
    try:
        yield bar
    finally:
        Parallel.__call__ = original_call
        Parallel.print_progress = original_progress
        bar.close()
        _active.release()
