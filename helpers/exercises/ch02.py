"""Exercises of chapter 2: the end-to-end housing project.

The checkers rebuild the chapter's stratified split themselves (income categories,
``test_size=0.2``, ``random_state=42``) and score models on its 4,128 test districts, which
no exercise trains on: ``helpers.exercises.leakage`` makes sure the model has not seen them.
``load_split()`` and ``make_preprocessing()`` rebuild the chapter's training data and
preprocessing pipeline, so the reference solutions run on their own.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.cluster import KMeans
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.metrics import root_mean_squared_error
from sklearn.metrics.pairwise import rbf_kernel
from sklearn.model_selection import GridSearchCV, RandomizedSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

from helpers import env
from helpers.exercises import (
    Exercise,
    Incorrect,
    a_type,
    call_student,
    expect_fitted,
    expect_type,
    leakage,
)

TARGET = "median_house_value"

# --------------------------------------------------------------------------- the chapter's data


@lru_cache(maxsize=1)
def _split():
    from helpers.data import load_housing

    housing = load_housing()
    income_cat = pd.cut(housing["median_income"], bins=[0.0, 1.5, 3.0, 4.5, 6.0, np.inf],
                        labels=[1, 2, 3, 4, 5])
    return train_test_split(housing, test_size=0.2, stratify=income_cat, random_state=42)


def load_split():
    """The chapter's stratified split as ``X_train, y_train, X_test, y_test`` (fresh copies)."""
    train, test = _split()
    return (train.drop(columns=TARGET), train[TARGET].copy(),
            test.drop(columns=TARGET), test[TARGET].copy())


# --------------------------------------------------------------------------- the chapter's preprocessing


class GeoSimilarity(TransformerMixin, BaseEstimator):
    """How close each district lies to a few k-means centres of the map (an RBF of the distance).

    The chapter's geographic feature: ``n_centres`` columns, one per centre, near 1 close to
    it and near 0 far away (``width`` is the RBF's gamma).
    """

    def __init__(self, n_centres=10, width=1.0, seed=42):
        self.n_centres = n_centres
        self.width = width
        self.seed = seed

    def fit(self, X, y=None, sample_weight=None):
        finder = KMeans(n_clusters=self.n_centres, n_init=1, random_state=self.seed)
        self.centres_ = finder.fit(X, sample_weight=sample_weight).cluster_centers_
        self.n_features_in_ = self.centres_.shape[1]
        return self

    def transform(self, X):
        return rbf_kernel(np.asarray(X, dtype=float), self.centres_, gamma=self.width)

    def get_feature_names_out(self, input_features=None):
        return np.asarray([f"near_centre_{i}" for i in range(self.n_centres)], dtype=object)


def _divide(pair):
    """The first column over the second, kept two-dimensional."""
    return pair[:, :1] / pair[:, 1:2]


def _quotient_label(_transformer, _names):
    return ["quotient"]


def _quotient(numerator, denominator):
    steps = [SimpleImputer(strategy="median"),
             FunctionTransformer(_divide, feature_names_out=_quotient_label),
             StandardScaler()]
    return make_pipeline(*steps), [numerator, denominator]


def make_preprocessing(n_clusters=10):
    """A fresh, unfitted copy of the chapter's preprocessing (24 output features)."""
    filled = SimpleImputer(strategy="median")
    logged = FunctionTransformer(func=np.log, inverse_func=np.exp, feature_names_out="one-to-one")
    skewed = ["total_bedrooms", "total_rooms", "population", "households", "median_income"]
    parts = [(name, *_quotient(top, bottom)) for name, top, bottom in [
        ("bedrooms", "total_bedrooms", "total_rooms"),
        ("rooms_per_house", "total_rooms", "households"),
        ("people_per_house", "population", "households"),
    ]]
    parts += [
        ("log", make_pipeline(clone(filled), logged, StandardScaler()), skewed),
        ("geo", GeoSimilarity(n_centres=n_clusters), ["latitude", "longitude"]),
        ("cat", make_pipeline(SimpleImputer(strategy="most_frequent"),
                              OneHotEncoder(handle_unknown="ignore", sparse_output=False)),
         ["ocean_proximity"]),
    ]
    return ColumnTransformer(parts, remainder=make_pipeline(clone(filled), StandardScaler()))


# --------------------------------------------------------------------------- checker tools


def _find(estimator, kind):
    return [part for part in leakage.parts(estimator) if isinstance(part, kind)]


def _test_rmse(model, what="model"):
    """RMSE of ``model`` on the chapter's test districts, after the checks that its predictions
    are prices in dollars, one finite number per district."""
    _, _, X_test, y_test = load_split()
    try:
        predictions = model.predict(X_test)
    except Exception as exc:  # noqa: BLE001 - reported in words below
        n_in = getattr(leakage.final_estimator(model), "n_features_in_", None)
        if not hasattr(model, "steps") and n_in is not None and n_in != X_test.shape[1]:
            raise Incorrect(
                f"{what} takes {n_in} prepared features, not the raw districts: the "
                "preprocessing ran outside the model. Put it inside the pipeline (its first "
                "step), so that the model takes raw districts and its preprocessing is fitted "
                "with it on the training districts only. Fitted outside, the preprocessing is "
                "easily fitted on all the districts before the split: data leakage, since it "
                "has then seen the test districts.") from None
        raise Incorrect(f"{what}.predict(X_test) failed on the raw test districts "
                        f"({type(exc).__name__}: {' '.join(str(exc).split())[:200]}): the "
                        "model must take the raw districts (the columns of X_train), with the "
                        "preprocessing inside its pipeline.") from None
    predictions = np.asarray(predictions, dtype=float).ravel()
    if predictions.shape != (len(X_test),):
        raise Incorrect(f"{what}.predict() returned {predictions.size} values for "
                        f"{len(X_test)} districts.")
    if not np.all(np.isfinite(predictions)):
        raise Incorrect(f"{what}.predict() returned NaN or infinite values.")
    typical = float(np.median(np.abs(predictions)))
    if typical < 1_000:
        raise Incorrect(
            f"{what} predicts values around {typical:,.3g}, but the test districts' prices are "
            f"in dollars (median {float(np.median(y_test)):,.0f}): it was trained on a "
            "transformed target (divided by 100,000, or its log?). Train on y_train as it is, "
            "or wrap the regressor in TransformedTargetRegressor(regressor=..., func=np.log, "
            "inverse_func=np.exp), which transforms the target for training and turns the "
            "predictions back into dollars.")
    return root_mean_squared_error(y_test, predictions)


def _scored_districts():
    """The leakage check's view of the data: the test districts it scores, the training split."""
    X_train, y_train, X_test, y_test = load_split()
    return leakage.Scored(
        X_test, y_test, what="test districts", n_train=len(X_train),
        train="the training districts", unit="districts",
        reference=(X_train, y_train, "5,000 training districts"), fit=leakage.ABSOLUTE_ERROR,
        sample=5_000)


def _expect_rmse_below(rmse, full, quick, advice):
    limit = env.pick(full=full, quick=quick)
    if rmse > limit:
        raise Incorrect(
            f"the RMSE on the held-out test districts is {rmse:,.0f}, above the {limit:,.0f} "
            f"this check asks for in {env.mode()} mode (full mode: {full:,.0f}, quick mode: "
            f"{quick:,.0f}). {advice}")


def _readable(params):
    """Best parameters with plain, rounded numbers (no np.float64(...) noise)."""
    return {key: float(f"{value:.4g}") if isinstance(value, float) else value
            for key, value in params.items()}


def _expect_search(answer, kind, name):
    expect_type(answer, kind, f"a fitted {name}")
    if not hasattr(answer, "best_estimator_"):
        if hasattr(answer, "cv_results_"):
            raise Incorrect("this search was run with refit=False, so it has no best_estimator_ "
                            "to evaluate: keep the default refit=True.")
        raise Incorrect(f"the {name} is not fitted yet: call .fit(X, y) on it first.")
    from sklearn.svm import SVR

    if not _find(answer.best_estimator_, SVR):
        raise Incorrect("the best estimator of your search contains no SVR: put "
                        "sklearn.svm.SVR at the end of the pipeline you search over.")
    return answer.best_estimator_


# --------------------------------------------------------------------------- exercise 1


def _check_ex1(search):
    """What the prompt asks for, and how it is checked:

    * a fitted ``GridSearchCV`` (another search type, a class, an unfitted one, refit=False
      are named);
    * over a pipeline that starts with the preprocessing and ends with an ``SVR`` (the best
      estimator must contain an SVR and take the raw districts; preprocessing done outside
      the search is named);
    * with several combinations to search (``cv_results_`` must hold two or more: a one-point
      grid is named);
    * fitted on training districts only (``leakage.expect_unseen``): no fitted part learnt
      from more rows than the 16,512 training districts (counts of scalers, SVR, trees...),
      no SVR support vector is a test district (after the model's own preprocessing), and
      its errors on the test districts are not clearly lower than on 5,000 training
      districts (on average, or on too many of them); each is named as data leakage;
    * predicting prices in dollars (a target divided by 100,000 or logged is named);
    * RMSE of the best estimator on the 4,128 held-out test districts below 70,000 in full
      mode, 75,000 in quick mode (the bars the prompt states).

    Not verified: the comparison with the random forest (the prompt's question).
    """
    best = _expect_search(search, GridSearchCV, "GridSearchCV")
    n_candidates = len(search.cv_results_["params"])
    if n_candidates < 2:
        raise Incorrect("your grid has a single combination: give it several values of C "
                        "(and of gamma for the RBF kernel) so that there is something to search.")
    rmse = _test_rmse(best, "search.best_estimator_")
    leakage.expect_unseen(best, _scored_districts())
    _expect_rmse_below(rmse, full=70_000, quick=75_000,
                       advice="Try larger values of C (SVR's default C=1.0 is far too small "
                              "for prices in dollars) and compare the linear and RBF kernels.")
    return (f"{n_candidates} combinations searched; best {_readable(search.best_params_)}; "
            f"RMSE on the held-out test districts {rmse:,.0f}.")

ex1 = Exercise(
    "ex1", "Support vector regression tuned with a grid search", _check_ex1,
    hint="""
    Build Pipeline([("preprocessing", preprocessing), ("svr", SVR())]) and a param_grid of
    two dictionaries: one with svr__kernel=["linear"] and a few values of svr__C, one with
    svr__kernel=["rbf"] and values of svr__C and svr__gamma. The labels are in dollars, so the
    useful values of C are large (thousands and more). Fit the GridSearchCV on the first few
    thousand training districts only: SVR gets slow on big training sets.
    """,
    solution="""
    from sklearn.pipeline import Pipeline
    from sklearn.model_selection import GridSearchCV
    from sklearn.svm import SVR

    from helpers.exercises.ch02 import load_split, make_preprocessing

    X_train, y_train, X_test, y_test = load_split()  # the chapter's stratified split
    n_rows = 3_000  # an SVR's training time grows quickly with the rows: tune on a subset
    svr_pipeline = Pipeline([("preprocessing", make_preprocessing()), ("svr", SVR())])
    param_grid = [
        {"svr__kernel": ["linear"], "svr__C": [3_000.0, 30_000.0]},
        {"svr__kernel": ["rbf"], "svr__C": [30_000.0, 100_000.0], "svr__gamma": [0.1, 0.3]},
    ]
    svr_grid_search = GridSearchCV(svr_pipeline, param_grid, cv=3, n_jobs=-1,
                                   scoring="neg_root_mean_squared_error")
    svr_grid_search.fit(X_train.iloc[:n_rows], y_train.iloc[:n_rows])
    print("best parameters:", svr_grid_search.best_params_)
    print(f"cross-validation RMSE of the best: {-svr_grid_search.best_score_:,.0f}")
    """,
    defines="svr_grid_search",
)


# --------------------------------------------------------------------------- exercise 2


def _check_ex2(search):
    """What the prompt asks for, and how it is checked:

    * a fitted ``RandomizedSearchCV`` (a grid search is named), over a pipeline that starts
      with the preprocessing and ends with an ``SVR``;
    * sampling several combinations: ``n_iter`` of at least 2, and at least two distinct
      candidates in ``cv_results_`` (distributions that hold one value each are named);
    * fitted on training districts only (``leakage.expect_unseen``): no fitted part learnt
      from more rows than the 16,512 training districts (counts of scalers, SVR, trees...),
      no SVR support vector is a test district (after the model's own preprocessing), and
      its errors on the test districts are not clearly lower than on 5,000 training
      districts (on average, or on too many of them); each is named as data leakage;
    * predicting prices in dollars (a transformed target is named);
    * RMSE of the best estimator on the held-out test districts below 62,000 in full mode,
      66,000 in quick mode.

    Not verified: that C and gamma come from probability distributions rather than lists
    (both are sampled the same way by RandomizedSearchCV).
    """
    best = _expect_search(search, RandomizedSearchCV, "RandomizedSearchCV")
    if search.n_iter < 2:
        raise Incorrect("with n_iter=1 nothing is compared: sample several combinations.")
    n_candidates = len({repr(sorted(params.items())) for params in search.cv_results_["params"]})
    if n_candidates < 2:
        raise Incorrect(f"your search tried a single combination: n_iter={search.n_iter}, but "
                        "each parameter has a single value (a list of one element), so there "
                        "was nothing else to sample. Give C and gamma probability distributions "
                        "(scipy.stats.loguniform, expon) or lists of several values.")
    rmse = _test_rmse(best, "search.best_estimator_")
    leakage.expect_unseen(best, _scored_districts())
    _expect_rmse_below(rmse, full=62_000, quick=66_000,
                       advice="Sample C from a log-uniform distribution over a wide range "
                              "(tens to hundreds of thousands) and include the RBF kernel.")
    return (f"{n_candidates} combinations sampled; best {_readable(search.best_params_)}; "
            f"RMSE on the held-out test districts {rmse:,.0f}.")

ex2 = Exercise(
    "ex2", "Support vector regression tuned with a randomized search", _check_ex2,
    hint="""
    Same pipeline as in exercise 1, but give RandomizedSearchCV distributions instead of
    lists: scipy.stats.loguniform(20, 200_000) for svr__C suits a parameter whose scale you do
    not know, scipy.stats.expon(scale=1.0) works for svr__gamma, and a list
    ["linear", "rbf"] for svr__kernel. Set n_iter, cv=3 and random_state=42, and fit on the
    first few thousand training districts.
    """,
    solution="""
    from scipy.stats import expon, loguniform
    from sklearn.model_selection import RandomizedSearchCV
    from sklearn.pipeline import Pipeline
    from sklearn.svm import SVR

    from helpers.exercises.ch02 import load_split, make_preprocessing

    X_train, y_train, X_test, y_test = load_split()
    n_rows = 3_000
    svr_pipeline = Pipeline([("preprocessing", make_preprocessing()), ("svr", SVR())])
    distributions = {
        "svr__kernel": ["linear", "rbf"],
        "svr__C": loguniform(20, 200_000),  # each order of magnitude as likely as the next
        "svr__gamma": expon(scale=1.0),  # mean 1: mostly small values, a large one now and then
    }
    svr_rnd_search = RandomizedSearchCV(svr_pipeline, distributions, n_iter=10, random_state=42,
                                        cv=3, scoring="neg_root_mean_squared_error", n_jobs=-1)
    svr_rnd_search.fit(X_train.iloc[:n_rows], y_train.iloc[:n_rows])
    print("best parameters:", svr_rnd_search.best_params_)
    print(f"cross-validation RMSE of the best: {-svr_rnd_search.best_score_:,.0f}")
    """,
    defines="svr_rnd_search",
)


# --------------------------------------------------------------------------- exercise 3


def _check_ex3(model):
    """What the prompt asks for, and how it is checked:

    * a fitted pipeline that takes the raw districts and predicts prices (no predict method,
      preprocessing outside the model are named);
    * with a fitted ``SelectFromModel`` step (between the preprocessing and the regressor);
    * that drops at least one feature (``get_support()``);
    * fitted on training districts only (``leakage.expect_unseen``): no fitted part learnt
      from more rows than the 16,512 training districts (counts of scalers, SVR, trees...),
      no SVR support vector is a test district (after the model's own preprocessing), and
      its errors on the test districts are not clearly lower than on 5,000 training
      districts (on average, or on too many of them); each is named as data leakage;
    * predicting prices in dollars;
    * RMSE on the held-out test districts below 62,000 in full mode, 66,000 in quick mode.

    The regressor: the prompt suggests the best SVR of exercise 2; any regressor that reaches
    the bar is accepted.
    """
    from sklearn.feature_selection import SelectFromModel

    expect_fitted(model, "pipeline")
    if not hasattr(model, "predict"):
        raise Incorrect("expected a model that predicts prices (a pipeline ending with a "
                        "regressor), but it has no predict() method.")
    selectors = _find(model, SelectFromModel)
    if not selectors:
        raise Incorrect("no SelectFromModel step found in your model: add one between the "
                        "preprocessing and the regressor.")
    selector = selectors[0]
    if not hasattr(selector, "estimator_"):
        raise Incorrect("the SelectFromModel step is not fitted: fit the whole pipeline.")
    support = selector.get_support()
    if support.all():
        raise Incorrect(f"your SelectFromModel keeps all {support.size} features: raise its "
                        f"threshold so that it drops the least useful ones.")
    rmse = _test_rmse(model, "model")
    leakage.expect_unseen(model, _scored_districts())
    _expect_rmse_below(rmse, full=62_000, quick=66_000,
                       advice="Keep a regressor that did well before (the SVR of exercise 2) "
                              "and do not drop too many features.")
    return (f"{support.sum()} of {support.size} features kept; RMSE on the held-out test "
            f"districts {rmse:,.0f}.")

ex3 = Exercise(
    "ex3", "Feature selection with SelectFromModel inside the pipeline", _check_ex3,
    hint="""
    sklearn.feature_selection.SelectFromModel(RandomForestRegressor(...), threshold=0.005)
    fits the forest and keeps the features whose feature_importances_ reach the threshold.
    Put it as a step between the preprocessing and an SVR with good hyperparameters, then fit
    the whole pipeline on a few thousand training districts.
    """,
    solution="""
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.feature_selection import SelectFromModel
    from sklearn.pipeline import Pipeline
    from sklearn.svm import SVR

    from helpers.exercises.ch02 import load_split, make_preprocessing

    X_train, y_train, X_test, y_test = load_split()
    n_rows = 3_000
    importance_filter = SelectFromModel(RandomForestRegressor(n_estimators=50, random_state=42),
                                        threshold=0.005)  # keep importances of 0.005 and more
    best_svr = SVR(kernel="rbf", C=100_000.0, gamma=0.1)  # the best of exercise 1's grid
    selector_pipeline = Pipeline([("preprocessing", make_preprocessing()),
                                  ("selector", importance_filter), ("svr", best_svr)])
    selector_pipeline.fit(X_train.iloc[:n_rows], y_train.iloc[:n_rows])
    kept = selector_pipeline["selector"].get_support()
    names = selector_pipeline["preprocessing"].get_feature_names_out()
    print("dropped features:", list(names[~kept]))
    """,
    defines="selector_pipeline",
)


# --------------------------------------------------------------------------- exercise 4


def _check_ex4(transformer_class):
    """What the prompt asks for, and how it is checked:

    * the class itself (an instance or a function is named);
    * ``FeatureFromRegressor(estimator)`` keeps its argument as ``estimator`` (get_params, clone);
    * ``fit()`` trains a copy of the regressor (the original must stay unfitted), returns self;
    * ``transform()`` returns that copy's predictions as one column;
    * ``get_feature_names_out()`` returns one name.

    Not verified: how the feature is then used in a pipeline, where computing it on the rows
    the regressor learned from leaks their labels (the reference solution's note and its
    out-of-fold subclass; the worked solutions measure the difference).
    """
    from sklearn.exceptions import NotFittedError
    from sklearn.neighbors import KNeighborsRegressor
    from sklearn.utils.validation import check_is_fitted

    if not isinstance(transformer_class, type):
        if callable(transformer_class) and not hasattr(transformer_class, "fit"):
            raise Incorrect("expected your transformer class (for example FeatureFromRegressor), "
                            f"got {a_type(transformer_class)}.")
        raise Incorrect("pass the class itself (FeatureFromRegressor), not an instance or a "
                        f"value: got {a_type(transformer_class)}.")
    knn = KNeighborsRegressor(n_neighbors=5)
    transformer = call_student(transformer_class, knn, what="FeatureFromRegressor(estimator)")
    for method in ("fit", "transform", "fit_transform", "get_params", "get_feature_names_out"):
        if not callable(getattr(transformer, method, None)):
            raise Incorrect(f"your transformer has no {method}() method (inherit from "
                            f"BaseEstimator and TransformerMixin, and write the others).")
    try:
        params = transformer.get_params()
    except AttributeError:
        params = None
    if not isinstance(params, dict) or params.get("estimator") is not knn:
        raise Incorrect("the constructor should store its argument unchanged as "
                        "self.estimator (get_params() must return it under 'estimator').")

    X_train, y_train, X_test, y_test = load_split()
    coords = ["latitude", "longitude"]
    X_fit, y_fit = X_train[coords].iloc[:4_000], y_train.iloc[:4_000]
    returned = call_student(transformer.fit, X_fit, y_fit, what="fit(X, y)")
    if returned is not transformer:
        raise Incorrect("fit() must return self.")
    try:
        check_is_fitted(transformer)
    except NotFittedError:
        raise Incorrect("after fit() the transformer should have a learned attribute ending "
                        "with an underscore (for example self.estimator_).") from None
    try:
        check_is_fitted(knn)
        raise Incorrect("fit() trained the estimator passed to the constructor itself: train "
                        "a clone of it (sklearn.base.clone) and store it as self.estimator_.")
    except NotFittedError:
        pass
    feature = np.asarray(call_student(transformer.transform, X_test[coords],
                                      what="transform(X)"), dtype=float)
    if feature.shape != (len(X_test), 1):
        raise Incorrect(f"transform() should return one column per district, shape "
                        f"({len(X_test)}, 1), got shape {feature.shape} (reshape with "
                        f"reshape(-1, 1)).")
    expected = clone(knn).fit(X_fit, y_fit).predict(X_test[coords])
    if not np.allclose(feature.ravel(), expected, rtol=1e-6):
        raise Incorrect("transform() does not return the regressor's predictions for the "
                        "rows it is given.")
    names = np.asarray(call_student(transformer.get_feature_names_out, what="get_feature_names_out()"))
    if names.shape != (1,):
        raise Incorrect(f"get_feature_names_out() should return one name, got {names.shape[0] if names.ndim else 'a scalar'}.")
    copy = call_student(clone, transformer, what="sklearn.base.clone(your transformer)")
    if getattr(copy, "estimator", None) is None:
        raise Incorrect("clone() lost the estimator: keep the constructor argument as self.estimator.")
    rmse = root_mean_squared_error(y_test, feature.ravel())
    return (f"the k-NN price of the 5 nearest districts alone predicts the held-out test "
            f"prices with an RMSE of {rmse:,.0f}.")


ex4 = Exercise(
    "ex4", "A transformer that adds a k-nearest-neighbours price feature", _check_ex4,
    hint="""
    Subclass TransformerMixin and BaseEstimator. __init__(self, estimator) only stores
    self.estimator. fit(X, y) trains a copy, self.estimator_ = clone(self.estimator), on X, y
    and returns self. transform(X) returns self.estimator_.predict(X) as a single column
    (reshape(-1, 1)). get_feature_names_out() returns a list with one name. Pass the class
    itself to the check.
    """,
    solution="""
    import numpy as np
    from sklearn.base import BaseEstimator, TransformerMixin, clone
    from sklearn.model_selection import cross_val_predict


    class FeatureFromRegressor(TransformerMixin, BaseEstimator):
        \"\"\"One extra column: what a regressor, trained in fit(), predicts for each row.\"\"\"

        def __init__(self, estimator):
            self.estimator = estimator  # stored untouched: get_params() and clone() need it

        def fit(self, X, y=None):
            self.estimator_ = clone(self.estimator).fit(X, y)  # train a copy, never the original
            self.n_features_in_ = np.shape(X)[1]  # columns seen in fit(), as scikit-learn records
            return self

        def transform(self, X):
            guesses = np.asarray(self.estimator_.predict(X), dtype=float)
            return guesses.reshape(len(guesses), 1)

        def get_feature_names_out(self, names=None):
            return np.asarray([type(self.estimator).__name__.lower() + "_guess"], dtype=object)


    # Careful when the feature goes into a pipeline: while the pipeline is fitted, fit_transform()
    # computes the feature of the very districts the regressor has just learned from. A k-NN finds
    # each of them among its own neighbours (at distance 0), so their feature repeats part or all
    # of their own price: the label leaks into the feature, and the next model learns to trust it
    # more than it deserves on new districts. Give the training districts out-of-fold predictions
    # instead, from copies of the regressor that never saw them; transform() serves new districts.
    class OutOfFoldFeature(FeatureFromRegressor):
        def fit_transform(self, X, y=None, **fit_params):
            self.fit(X, y)  # the copy that transform() uses later
            held_out = cross_val_predict(clone(self.estimator), X, y, cv=5)
            return np.asarray(held_out, dtype=float).reshape(-1, 1)


    # For example, one more entry in the chapter's ColumnTransformer (fit the pipeline with labels):
    # ("knn", OutOfFoldFeature(KNeighborsRegressor(n_neighbors=3, weights="distance")),
    #  ["latitude", "longitude"])
    """,
    defines="FeatureFromRegressor",
)


# --------------------------------------------------------------------------- exercise 6


def _check_ex6(scaler_class):
    """What the prompt asks for, and how it is checked:

    * the class itself, with a ``with_mean`` argument that clone() keeps;
    * ``fit`` returns self and sets ``n_features_in_``; ``transform`` matches StandardScaler
      (with and without centring) and refuses the wrong number of columns;
    * ``inverse_transform(transform(X))`` gives X back;
    * feature names: ``feature_names_in_`` only after a DataFrame, ``get_feature_names_out``
      defaults to the column names or ``x0, x1, ...``, and raises ValueError for names of the
      wrong length or that differ from the columns.
    """
    from sklearn.preprocessing import StandardScaler as Reference

    if not isinstance(scaler_class, type):
        raise Incorrect("pass the class itself (StandardScalerClone), not an instance or a "
                        f"value: got {a_type(scaler_class)}.")
    rng = np.random.default_rng(42)
    X = rng.normal(loc=[5.0, -2.0, 100.0], scale=[2.0, 0.5, 30.0], size=(200, 3))
    for with_mean in (True, False):
        scaler = call_student(scaler_class, with_mean=with_mean,
                              what=f"StandardScalerClone(with_mean={with_mean})")
        if call_student(scaler.fit, X, what="fit(X)") is not scaler:
            raise Incorrect("fit() must return self.")
        scaled = np.asarray(call_student(scaler.transform, X, what="transform(X)"), dtype=float)
        expected = Reference(with_mean=with_mean).fit_transform(X)
        if scaled.shape != X.shape or not np.allclose(scaled, expected):
            raise Incorrect(f"with with_mean={with_mean}, transform() does not match "
                            f"StandardScaler(with_mean={with_mean}).")
        back = call_student(getattr(scaler, "inverse_transform", None) or _missing("inverse_transform"),
                            scaled, what="inverse_transform()")
        back = np.asarray(back, dtype=float)
        if back.shape != X.shape or not np.allclose(back, X):
            raise Incorrect(f"with with_mean={with_mean}, inverse_transform(transform(X)) does "
                            f"not give X back.")
    if getattr(scaler, "n_features_in_", None) != 3:
        raise Incorrect("fit() should set n_features_in_ to the number of columns.")
    try:
        scaler.transform(X[:, :2])
    except Exception:  # noqa: BLE001 - any clear error is fine
        pass
    else:
        raise Incorrect("transform() accepted 2 columns after fitting on 3: check the number "
                        "of features against n_features_in_.")

    names_out = getattr(scaler, "get_feature_names_out", None) or _missing("get_feature_names_out")
    if hasattr(scaler, "feature_names_in_"):
        raise Incorrect("after fitting on a NumPy array there are no column names, so "
                        "feature_names_in_ should not exist.")
    default = list(np.asarray(call_student(names_out, what="get_feature_names_out()")))
    if default != ["x0", "x1", "x2"]:
        raise Incorrect(f"without column names, get_feature_names_out() should return "
                        f"['x0', 'x1', 'x2'], got {default}.")
    _expect_value_error(names_out, ["a", "b"], "input_features of the wrong length")

    frame = pd.DataFrame(X, columns=["rooms", "age", "income"])
    scaler = call_student(scaler_class, what="StandardScalerClone()")
    call_student(scaler.fit, frame, what="fit(DataFrame)")
    names_in = getattr(scaler, "feature_names_in_", None)
    if not isinstance(names_in, np.ndarray) or list(names_in) != list(frame.columns):
        raise Incorrect("after fitting on a DataFrame, feature_names_in_ should be a NumPy "
                        "array of its column names.")
    names_out = scaler.get_feature_names_out
    for given in (None, ["rooms", "age", "income"]):
        out = list(np.asarray(call_student(names_out, given, what="get_feature_names_out()")))
        if out != ["rooms", "age", "income"]:
            raise Incorrect(f"after fitting on a DataFrame, get_feature_names_out({given}) "
                            f"should return its column names, got {out}.")
    _expect_value_error(names_out, ["a", "b", "c"], "input_features that differ from "
                                                     "feature_names_in_")
    if not np.allclose(np.asarray(scaler.transform(frame), dtype=float),
                       Reference().fit_transform(X)):
        raise Incorrect("transform() gives different results on a DataFrame.")
    copy = call_student(clone, scaler, what="sklearn.base.clone(your scaler)")
    if getattr(copy, "with_mean", None) is not True:
        raise Incorrect("clone() lost with_mean: store it as self.with_mean in __init__ "
                        "(and inherit from BaseEstimator).")
    return "transform, inverse_transform, n_features_in_ and the feature names all behave."


def _missing(method):
    def missing(*args, **kwargs):
        raise Incorrect(f"your class has no {method}() method yet.")

    return missing


def _expect_value_error(method, argument, what):
    try:
        method(argument)
    except ValueError:
        return
    except Exception as exc:  # noqa: BLE001
        raise Incorrect(f"get_feature_names_out() with {what} should raise a ValueError, "
                        f"but raised {type(exc).__name__}.") from None
    raise Incorrect(f"get_feature_names_out() with {what} should raise a ValueError.")


ex6 = Exercise(
    "ex6", "StandardScalerClone with inverse_transform and feature names", _check_ex6,
    hint="""
    Start from the chapter's StandardScalerClone. inverse_transform(X) multiplies by scale_
    and adds mean_ back (only if with_mean). In fit(), when X has a `columns` attribute (a
    DataFrame), store np.array(X.columns) as feature_names_in_ before converting X to an
    array. get_feature_names_out(input_features=None) returns feature_names_in_ if it exists,
    else ["x0", "x1", ...]; when input_features is given, raise a ValueError if its length is
    not n_features_in_ or if it differs from feature_names_in_, else return it. Pass the class
    itself to the check.
    """,
    solution="""
    import numpy as np
    from sklearn.base import BaseEstimator, TransformerMixin
    from sklearn.utils.validation import check_array, check_is_fitted


    class StandardScalerClone(TransformerMixin, BaseEstimator):  # mixins before BaseEstimator
        def __init__(self, with_mean=True):  # explicit keyword arguments only
            self.with_mean = with_mean

        def fit(self, X, y=None):  # pipelines pass y, a scaler ignores it
            columns = getattr(X, "columns", None)
            if columns is not None:  # a DataFrame: remember its column names
                self.feature_names_in_ = np.asarray(columns, dtype=object)
            values = check_array(X)  # 2-D floats, no NaN
            self.mean_, self.scale_ = values.mean(axis=0), values.std(axis=0)
            self.n_features_in_ = values.shape[1]
            return self

        def _validated(self, X):
            check_is_fitted(self)
            values = check_array(X)
            if values.shape[1] != self.n_features_in_:
                raise ValueError(f"fitted on {self.n_features_in_} columns, got {values.shape[1]}")
            return values

        def transform(self, X):
            centred = self._validated(X) - (self.mean_ if self.with_mean else 0.0)
            return centred / self.scale_

        def inverse_transform(self, X_scaled):
            restored = self._validated(X_scaled) * self.scale_
            return restored + (self.mean_ if self.with_mean else 0.0)

        def get_feature_names_out(self, input_features=None):
            check_is_fitted(self)
            known = getattr(self, "feature_names_in_", None)
            if input_features is None:
                if known is not None:
                    return known
                return np.asarray([f"x{i}" for i in range(self.n_features_in_)], dtype=object)
            names = np.asarray(input_features, dtype=object)
            if len(names) != self.n_features_in_:
                raise ValueError(f"expected {self.n_features_in_} names, got {len(names)}")
            if known is not None and list(names) != list(known):
                raise ValueError("input_features do not match the columns seen in fit()")
            return names
    """,
    defines="StandardScalerClone",
)


__all__ = ["ex1", "ex2", "ex3", "ex4", "ex6", "load_split", "make_preprocessing",
           "GeoSimilarity"]
