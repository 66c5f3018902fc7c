"""Has a model learnt from the rows a check scores it on? The evidence a fitted model carries.

Most checks score a student's model on a split the student can reach (a test split). A model
fitted on those very rows, or on the training and test rows together, or behind a scaler fitted
on everything before the split, looks better than it is: the mistake every chapter warns about.
Each such check describes its data with :class:`Scored` and calls :func:`expect_unseen`, which
looks for three kinds of evidence, from the most direct to the least:

* **counts**: how many rows each fitted part of the model learnt from (``n_samples_seen_`` of
  scalers, ``n_samples_fit_`` of k-NN, ``n_samples_`` of PCA, ``shape_fit_`` of SVMs, the root
  node of every tree, ``labels_`` of clusterers, ...; see :func:`rows_learnt`). A part that
  learnt from more rows than the training split holds has seen other rows.
* **membership**: parts that keep training rows (the k-NN training set, SVM support vectors)
  are searched for the scored rows, transformed as the model transforms them on their way.
* **score gap**: how well the model fits a sample of the scored rows against a sample of
  held-back rows of the same kind (the training split, a validation split, fresh data). An
  honest model fits the test rows no better than those; one that fits them clearly better on
  average, or fits too many of them as well as only the best-fitted fifth of the others (a
  model fitted on part of the test rows), has seen them. Both are one-sided tests at four
  standard errors.

Where a fit is cheap, :func:`refitted_on` names the rows a model was fitted on by refitting
copies of it on candidate rows. :func:`final_estimator` and :func:`parts` are the one way every
checker looks inside pipelines, searches and wrappers, and :func:`refuse_scaled_outside` names
the related mistake of a scaler fitted outside the model.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from helpers.exercises import Incorrect

#: How many rows of each side the membership and score-gap tests look at (a fixed, seeded
#: sample), so that they stay fast on 60,000 MNIST images.
SAMPLE = 1_000
#: The one-sided score-gap test: the scored rows must fit better than the reference rows by
#: this many standard errors (and by the measure's minimum gap) to count as evidence.
Z_LEAK = 4.0

_MULTICLASS_WRAPPERS = ("OneVsRestClassifier", "OneVsOneClassifier", "OutputCodeClassifier")


# --------------------------------------------------------------------------- looking inside a model


def final_estimator(model: Any) -> Any:
    """The estimator at the heart of ``model``: the last step of a pipeline, a search's
    ``best_estimator_``, a ``TransformedTargetRegressor``'s ``regressor_``, the first estimator
    of a one-vs-rest or one-vs-one wrapper, a calibrated classifier's estimator (nested
    wrappers are unwrapped in turn)."""
    for _ in range(20):
        if getattr(model, "best_estimator_", None) is not None:
            model = model.best_estimator_
        elif isinstance(getattr(model, "steps", None), list) and model.steps:
            model = model.steps[-1][1]
        elif getattr(model, "regressor_", None) is not None:
            model = model.regressor_
        elif type(model).__name__ in _MULTICLASS_WRAPPERS and getattr(model, "estimators_", None):
            model = model.estimators_[0]
        elif getattr(model, "calibrated_classifiers_", None):
            model = model.calibrated_classifiers_[0].estimator
        else:
            break
    return model


#: Ensembles whose members are each fitted on all the rows the ensemble gets (the members of
#: forests, boosting and bagging see samples of the rows, or weighted rows, instead).
_WHOLE_FIT_MEMBERS = ("Voting", "Stacking", *_MULTICLASS_WRAPPERS)


def _children(model: Any) -> list[tuple[Any, bool]]:
    """The fitted estimators directly inside ``model``, each with whether it was fitted on all
    the rows ``model`` was fitted on (False for the trees of a forest, a boosting, a bagging)."""
    found = []
    for attribute in ("best_estimator_", "regressor_", "transformer_", "estimator_",
                      "final_estimator_"):
        found.append((getattr(model, attribute, None), True))
    steps = getattr(model, "steps", None)
    if isinstance(steps, list):
        found += [(step, True) for _, step in steps]
    for attribute in ("transformers_", "transformer_list"):
        for entry in getattr(model, attribute, None) or []:
            if isinstance(entry, tuple) and len(entry) >= 2:
                found.append((entry[1], True))
    members = getattr(model, "estimators_", None)
    if isinstance(members, np.ndarray):  # gradient boosting: a 2-D array of trees
        members = list(members.ravel())
    if isinstance(members, list):
        whole = type(model).__name__.startswith(_WHOLE_FIT_MEMBERS)
        found += [(member, whole) for member in members]
    for calibrated in getattr(model, "calibrated_classifiers_", None) or []:
        found.append((getattr(calibrated, "estimator", None), False))
    return [(part, whole) for part, whole in found
            if hasattr(part, "fit") and not isinstance(part, type)]


def _walk(model: Any, whole_fits_only: bool) -> Iterator[Any]:
    seen: set[int] = set()
    pending = [model]
    while pending:
        part = pending.pop()
        if id(part) in seen or len(seen) > 5_000:
            continue
        seen.add(id(part))
        yield part
        pending.extend(reversed([child for child, whole in _children(part)
                                 if whole or not whole_fits_only]))


def parts(model: Any) -> Iterator[Any]:
    """``model`` and every fitted estimator nested inside it (each once, depth first)."""
    return _walk(model, whole_fits_only=False)


def _tree_rows(estimator: Any, tree: Any) -> int:
    """Rows a tree of ``estimator`` learnt from: bootstrap trees see weighted copies of rows,
    and their weights sum to the number of draws (the number of rows unless max_samples)."""
    if getattr(estimator, "bootstrap", False):
        return int(round(float(tree.weighted_n_node_samples[0])))
    return int(tree.n_node_samples[0])


def rows_learnt(part: Any) -> int | None:
    """How many rows ``part`` (one fitted estimator) learnt from, or None when it keeps no count.

    Read from ``n_samples_seen_`` (scalers, IncrementalPCA), ``n_samples_fit_`` (k-NN,
    LocalOutlierFactor), ``n_samples_`` (PCA), ``shape_fit_`` (SVMs), the root node of a tree
    (``tree_.n_node_samples``; for a forest, each tree's), ``class_count_`` (naive Bayes),
    ``labels_`` (clusterers) and ``embedding_`` (manifold learners).
    """
    try:
        if getattr(part, "tree_", None) is not None:
            return int(part.tree_.n_node_samples[0])
        trees = getattr(part, "estimators_", None)
        if isinstance(trees, list) and trees and all(getattr(t, "tree_", None) is not None for t in trees):
            return max(_tree_rows(part, tree.tree_) for tree in trees)  # a forest
        for attribute in ("n_samples_seen_", "n_samples_fit_", "n_samples_"):
            value = getattr(part, attribute, None)
            if value is not None and np.size(value) and np.issubdtype(np.asarray(value).dtype, np.number):
                return int(np.max(value))
        shape = getattr(part, "shape_fit_", None)
        if shape is not None and len(shape) == 2:
            return int(shape[0])
        counts = getattr(part, "class_count_", None)
        if counts is not None:
            return int(round(float(np.sum(counts))))
        for attribute in ("labels_", "embedding_"):
            value = getattr(part, attribute, None)
            if isinstance(value, np.ndarray) and value.ndim >= 1:
                return int(value.shape[0])
    except (TypeError, ValueError, AttributeError, IndexError):
        return None
    return None


def counts(model: Any) -> list[tuple[str, int]]:
    """``(name, rows)`` for each part of ``model`` that keeps a count of its training rows and
    was fitted on all the rows the model got (not the trees of a forest or a boosting, which
    see samples of them: the forest's own count covers them)."""
    found = []
    for part in _walk(model, whole_fits_only=True):
        rows = rows_learnt(part)
        if rows is not None:
            found.append((type(part).__name__, rows))
    return found


def _as_dense(X: Any) -> np.ndarray | None:
    """A 2-D float array, or None for what cannot be compared row by row (sparse, text...)."""
    if hasattr(X, "toarray") or hasattr(X, "tocsr"):
        return None
    try:
        array = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    return array if array.ndim == 2 else None


def _kept_rows(model: Any, X: Any, depth: int = 0) -> Iterator[tuple[str, np.ndarray, Any]]:
    """``(what they are, kept rows, X as that part sees it)`` for each part of ``model`` that
    keeps training rows: k-NN estimators (their whole training set), SVMs (support vectors)."""
    if depth > 10 or X is None:
        return
    if getattr(model, "best_estimator_", None) is not None:
        yield from _kept_rows(model.best_estimator_, X, depth + 1)
        return
    steps = getattr(model, "steps", None)
    if isinstance(steps, list) and steps:
        for _, step in steps[:-1]:
            if step is None or step == "passthrough":
                continue
            try:
                X = step.transform(X)
            except Exception:  # noqa: BLE001 - a step that cannot transform gives no evidence
                return
        yield from _kept_rows(steps[-1][1], X, depth + 1)
        return
    if getattr(model, "regressor_", None) is not None:
        yield from _kept_rows(model.regressor_, X, depth + 1)
        return
    members = getattr(model, "estimators_", None)
    if isinstance(members, list) and members and getattr(model, "tree_", None) is None:
        features = getattr(model, "estimators_features_", None)
        for index, member in enumerate(members):
            if features is not None:
                dense = _as_dense(X)
                member_X = None if dense is None else dense[:, features[index]]
            else:
                member_X = X
            yield from _kept_rows(member, member_X, depth + 1)
        return
    stored = getattr(model, "_fit_X", None)
    if stored is not None and hasattr(model, "n_samples_fit_"):
        yield f"training rows kept by its {type(model).__name__}", stored, X
        return
    vectors = getattr(model, "support_vectors_", None)
    if vectors is not None and np.ndim(vectors) == 2 and len(vectors):
        yield f"support vectors of its {type(model).__name__}", vectors, X


def kept_scored_rows(model: Any, X_scored: Any, sample: int = SAMPLE) -> list[tuple[str, int, int, int]]:
    """For each part that keeps training rows: ``(what they are, found, checked, kept)``, where
    ``found`` of ``checked`` kept rows (a seeded sample of at most ``sample`` of the ``kept``)
    are scored rows, as that part sees them (after the pipeline steps before it). Rows match
    within a relative 1e-5."""
    from sklearn.metrics import pairwise_distances_argmin_min

    results = []
    rng = np.random.default_rng(0)
    for kind, stored, X in _kept_rows(model, X_scored):
        stored, X = _as_dense(stored), _as_dense(X)
        if stored is None or X is None or stored.shape[1] != X.shape[1] or not len(X):
            continue
        kept = len(stored)
        if len(stored) > sample:
            stored = stored[np.sort(rng.choice(len(stored), sample, replace=False))]
        finite = np.all(np.isfinite(stored), axis=1)
        stored, X = stored[finite], X[np.all(np.isfinite(X), axis=1)]
        if not len(stored) or not len(X):
            continue
        _, distances = pairwise_distances_argmin_min(stored, X)
        tolerance = 1e-5 * (1.0 + np.linalg.norm(stored, axis=1))
        results.append((kind, int(np.sum(distances <= tolerance)), len(stored), kept))
    return results


# --------------------------------------------------------------------------- how well rows are fitted


@dataclass(frozen=True)
class Fit:
    """A per-row measure of how well a model fits rows, for the score-gap test.

    ``rows(model, X, y)`` returns one value per row, higher meaning a better fit; ``shown`` is
    +1 for a score shown as it is and -1 for an error (shown with its sign flipped). A gap
    counts as evidence only if it is at least ``min_gap`` plus ``relative`` times the
    reference's mean, and four standard errors.
    """

    name: str
    rows: Callable[[Any, Any, Any], np.ndarray]
    shown: int = 1
    min_gap: float = 0.0
    relative: float = 0.0


def _true_class_probability(model: Any, X: Any, y: Any) -> np.ndarray:
    y = np.asarray(y).ravel()
    proba = None
    if hasattr(model, "predict_proba"):
        try:
            proba = np.asarray(model.predict_proba(X), dtype=np.float64)
        except Exception:  # noqa: BLE001 - e.g. an SVC without probability=True, hard voting
            proba = None
    classes = np.asarray(getattr(model, "classes_", []))
    if proba is not None and proba.ndim == 2 and proba.shape == (len(y), len(classes)):
        column = {label: index for index, label in enumerate(classes.tolist())}
        index = np.array([column.get(label, -1) for label in y.tolist()])
        picked = proba[np.arange(len(y)), np.clip(index, 0, None)]
        return np.where(index >= 0, picked, 0.0)
    predicted = np.asarray(model.predict(X)).ravel()
    return (predicted == y).astype(np.float64)


def _negative_absolute_error(model: Any, X: Any, y: Any) -> np.ndarray:
    predicted = np.asarray(model.predict(X), dtype=np.float64).ravel()
    return -np.abs(predicted - np.asarray(y, dtype=np.float64).ravel())


def _log_density(model: Any, X: Any, y: Any) -> np.ndarray:
    return np.asarray(model.score_samples(X), dtype=np.float64).ravel()


#: Classifiers: the probability given to the right class (0 or 1 without predict_proba).
PROBABILITY = Fit("mean probability of the right class", _true_class_probability, min_gap=0.01)
#: Regressors: the absolute error (a 10% lower error on the scored rows is the least gap).
ABSOLUTE_ERROR = Fit("mean absolute error", _negative_absolute_error, shown=-1, relative=0.1)
#: Density models: the log-density of each row (score_samples).
LOG_DENSITY = Fit("mean log-density", _log_density, min_gap=1.0)


# --------------------------------------------------------------------------- the leakage check


@dataclass(frozen=True)
class Scored:
    """What a check scores a model on, and what the model may have learnt from.

    ``X`` and ``y`` are the scored rows as the model receives them, a split the student can
    reach, called ``what`` in messages ("test images"); ``n_train`` is the size of the split
    the prompt says to fit on, called ``train`` ("the training split"). ``reference`` holds
    held-back rows of the same kind ``(X, y, description)`` for the score gap, measured with
    ``fit``, on seeded samples of at most ``sample`` rows of each side; without a reference,
    the gap is not tested. ``fix`` says how to fit the model instead, and ``unit`` names the
    rows in messages ("images"). With ``augmented`` (the course teaches data augmentation for
    these rows, so a training set may be larger than the split), only a count of exactly the
    training and the scored rows together is evidence.
    """

    X: Any
    y: Any
    what: str
    n_train: int
    train: str = "the training split"
    reference: tuple | None = None
    fit: Fit = PROBABILITY
    fix: str = ""
    unit: str = "rows"
    sample: int = SAMPLE
    augmented: bool = False


def _sample(X: Any, y: Any, size: int, seed: int):
    n = len(y)
    if n <= size:
        return X, y
    rows = np.sort(np.random.default_rng(seed).choice(n, size, replace=False))
    take = (lambda data: data.iloc[rows]) if hasattr(X, "iloc") else (lambda data: np.asarray(data)[rows])
    return take(X), (y.iloc[rows] if hasattr(y, "iloc") else np.asarray(y)[rows])


def leak(scored: Scored, evidence: str) -> Incorrect:
    """The message for a model that has seen the scored rows, with the evidence and the fix."""
    fix = scored.fix or (f"Fit the model, and every step of its pipeline, on {scored.train} only: "
                         f"the {scored.what} are there to score the finished model.")
    return Incorrect(f"data leakage: this model has seen the {scored.what} ({evidence}). {fix}")


def count_evidence(model: Any, scored: Scored, allowed: int | None = None) -> str | None:
    """The first part that learnt from more than ``allowed`` rows (``n_train`` by default), or
    with ``scored.augmented``, from exactly the training and the scored rows together."""
    allowed = scored.n_train if allowed is None else allowed
    n_scored = len(scored.y)
    for name, rows in counts(model):
        if rows > allowed and (rows == scored.n_train + n_scored or not scored.augmented):
            if rows == scored.n_train + n_scored:
                how = (f"as many as {scored.train} ({scored.n_train:,}) and the {scored.what} "
                       f"({n_scored:,}) together")
            else:
                how = f"more than {scored.train} ({allowed:,} {scored.unit})"
            return f"its {name} was trained on {rows:,} {scored.unit}: {how}"
    return None


def membership_evidence(model: Any, scored: Scored) -> str | None:
    """Scored rows among the rows a part of the model keeps (k-NN training set, support vectors)."""
    for kind, found, checked, kept in kept_scored_rows(model, scored.X):
        if found >= max(2, 0.01 * checked):
            share = f"all {checked:,}" if found == checked else f"{found:,} of the {checked:,}"
            sampled = "" if checked == kept else f" (a sample of the {kept:,})"
            return f"{share} {kind}{sampled} are {scored.what}"
    return None


def _number(value: float) -> str:
    """12,345 for large numbers, three significant digits otherwise."""
    return f"{value:,.0f}" if abs(value) >= 1_000 else f"{value:.3g}"


def gap_evidence(model: Any, scored: Scored) -> str | None:
    """The scored rows fitted clearly better than held-back rows of the same kind."""
    if scored.reference is None:
        return None
    X_ref, y_ref, described = scored.reference
    try:
        X_a, y_a = _sample(scored.X, scored.y, scored.sample, seed=1)
        X_b, y_b = _sample(X_ref, y_ref, scored.sample, seed=2)
        a = np.asarray(scored.fit.rows(model, X_a, y_a), dtype=np.float64)
        b = np.asarray(scored.fit.rows(model, X_b, y_b), dtype=np.float64)
    except Exception:  # noqa: BLE001 - a model that cannot score these rows gives no evidence here
        return None
    if not (len(a) > 1 and len(b) > 1 and np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        return None
    gap = a.mean() - b.mean()
    error = np.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b))
    least = scored.fit.min_gap + scored.fit.relative * abs(b.mean())
    shown_a, shown_b = _number(scored.fit.shown * a.mean()), _number(scored.fit.shown * b.mean())
    if gap > Z_LEAK * error and gap > least:
        return (f"it fits them clearly better than {described}, rows of the same kind that an "
                f"honest model fits at least as well: {scored.fit.name} {shown_a} on the "
                f"{scored.what}, {shown_b} on those")
    # Fitted on part of the scored rows only, a model fits those few much better than any row
    # it never saw: too many scored rows among the best-fitted fifth of the reference's.
    top = np.quantile(b, 0.8)
    share_a, share_b = float(np.mean(a > top)), float(np.mean(b > top))
    pooled = (share_a * len(a) + share_b * len(b)) / (len(a) + len(b))
    spread = np.sqrt(pooled * (1 - pooled) * (1 / len(a) + 1 / len(b)))
    if spread > 0 and share_a - share_b > max(Z_LEAK * spread, 0.05):
        return (f"it fits {share_a:.0%} of them as well as only the best-fitted {share_b:.0%} of "
                f"{described}, rows of the same kind that an honest model fits at least as well "
                f"({scored.fit.name} {shown_a} on the {scored.what}, {shown_b} on those)")
    return None


def _keeps_its_rows(estimator: Any) -> bool:
    """True for a k-NN estimator (it keeps its whole training set) or an SVM."""
    return (getattr(estimator, "_fit_X", None) is not None and hasattr(estimator, "n_samples_fit_")
            or getattr(estimator, "support_vectors_", None) is not None)


def expect_unseen(model: Any, scored: Scored, allowed: int | None = None) -> None:
    """Raise :class:`Incorrect` naming data leakage when ``model`` shows that it learnt from the
    scored rows: counts, then membership, then the score gap (see the module's docstring). The
    gap is not measured for a model whose final estimator keeps its training rows (a k-NN, an
    SVM): membership has already looked at those rows themselves."""
    looks = [lambda: count_evidence(model, scored, allowed),
             lambda: membership_evidence(model, scored)]
    if not _keeps_its_rows(final_estimator(model)):
        looks.append(lambda: gap_evidence(model, scored))
    for look in looks:
        evidence = look()
        if evidence:
            raise leak(scored, evidence)


# --------------------------------------------------------------------------- refitting copies


def _outputs(model: Any, X: Any) -> np.ndarray:
    for method in ("decision_function", "predict_proba", "transform", "predict"):
        if hasattr(model, method):
            try:
                return np.asarray(getattr(model, method)(X), dtype=np.float64)
            except Exception:  # noqa: BLE001 - try the next method
                continue
    raise ValueError("the model gives no outputs")


def refitted_on(model: Any, candidates: dict[str, tuple[Any, Any]], X_probe: Any) -> str | None:
    """The name of the candidate rows ``(X, y)`` on which a fresh copy of ``model`` (a search's
    best estimator) gives the very outputs of ``model`` on ``X_probe``, or None (no match, or a
    model whose fits are random). Use it where fits are cheap."""
    from sklearn.base import clone

    fitted = getattr(model, "best_estimator_", model)
    try:
        expected = _outputs(fitted, X_probe)
    except Exception:  # noqa: BLE001
        return None
    scale = float(np.std(expected)) or 1.0
    for name, (X, y) in candidates.items():
        try:
            copy = clone(fitted).fit(X, y)
            got = _outputs(copy, X_probe)
        except Exception:  # noqa: BLE001 - a copy that cannot be refitted gives no evidence
            continue
        if got.shape == expected.shape and np.allclose(got, expected, rtol=1e-4, atol=1e-4 * scale):
            return name
    return None


# --------------------------------------------------------------------------- scaling outside the model


def refuse_scaled_outside(score: Callable[[Any], float], X_raw: Any, X_fit: Any, good: float,
                          raw_score: float, what: str, higher_is_better: bool = True) -> None:
    """Name a model trained on features scaled outside it.

    The check hands the model raw features. If it scores ``good`` or better once they are
    standardized (or min-max scaled) with statistics of ``X_fit`` (the training split), while
    ``raw_score`` on the raw features misses ``good``, it was trained on scaled features.
    ``score(X)`` scores the model on ``X`` (the rows of ``X_raw``, transformed).
    """
    from sklearn.preprocessing import MinMaxScaler, StandardScaler

    def passes(value: float) -> bool:
        return value >= good if higher_is_better else value <= good

    if passes(raw_score):
        return
    for scaler in (StandardScaler(), MinMaxScaler()):
        try:
            value = float(score(scaler.fit(X_fit).transform(X_raw)))
        except Exception:  # noqa: BLE001 - nothing to report
            continue
        if np.isfinite(value) and passes(value):
            raise Incorrect(
                f"{what} scores {raw_score:.3f} on the raw features the check hands it, but "
                f"{value:.3f} once they are scaled with a {type(scaler).__name__}: it was trained "
                "on features scaled outside the model. Put the scaler inside the model "
                "(make_pipeline(StandardScaler(), ...)) and fit them together on the training "
                "split only: a scaler fitted outside the model is easily fitted on all the data "
                "before the split, and that is data leakage (it has seen the test rows).")
