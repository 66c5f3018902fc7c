"""helpers.progress_bars: a tqdm bar that follows the tasks joblib runs for scikit-learn."""

import io

import numpy as np
import pytest
from joblib import Parallel, delayed
from sklearn.linear_model import LinearRegression
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from helpers.progress_bars import joblib_progress_bar


def _quiet(**kwargs):
    return joblib_progress_bar(file=io.StringIO(), **kwargs)


def _square(x):
    return x * x


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_counts_every_task(n_jobs):
    with _quiet(total=7) as bar:
        results = Parallel(n_jobs=n_jobs)(delayed(_square)(i) for i in range(7))
    assert results == [i * i for i in range(7)]
    assert bar.n == 7


def _nested(x):
    return sum(Parallel(n_jobs=1)(delayed(_square)(i) for i in range(x + 1)))


def test_nested_and_later_calls_do_not_count():
    with _quiet(total=3) as bar:
        Parallel(n_jobs=1)(delayed(_nested)(i) for i in range(3))  # 1 + 2 + 3 inner tasks
        Parallel(n_jobs=1)(delayed(_square)(i) for i in range(10))  # a later call
    assert bar.n == 3


@pytest.mark.parametrize("n_jobs", [None, 2])
def test_scikit_learn_search(n_jobs):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y = X @ [1.0, 2.0, 3.0] + rng.normal(scale=0.1, size=60)
    search = GridSearchCV(make_pipeline(StandardScaler(), LinearRegression()),
                          {"linearregression__fit_intercept": [True, False]}, cv=3,
                          n_jobs=n_jobs)
    with _quiet(total=6) as bar:
        search.fit(X, y)
    assert bar.n == 6
    with _quiet(total=4) as bar:
        scores = cross_val_score(LinearRegression(), X, y, cv=4, n_jobs=n_jobs)
    assert bar.n == 4 and scores.shape == (4,)


def test_restores_joblib_even_after_an_error():
    call, progress = Parallel.__call__, Parallel.print_progress
    with pytest.raises(ZeroDivisionError), _quiet(total=1):
        Parallel(n_jobs=1)(delayed(lambda: 1 / 0)() for _ in range(1))
    assert Parallel.__call__ is call and Parallel.print_progress is progress
    with _quiet(total=1) as bar:  # usable again
        Parallel(n_jobs=1)(delayed(_square)(2) for _ in range(1))
    assert bar.n == 1


def test_blocks_do_not_nest():
    with _quiet(total=1), pytest.raises(RuntimeError, match="nested"), _quiet(total=1):
        pass
