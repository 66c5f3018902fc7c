"""Answer bank, chapters 2, 7 and 8 (the heavier fits): correct answers unlike the reference
must pass, wrong ones must fail with a message that names the problem (see
tests/exercise_bank.py)."""

from __future__ import annotations

import inspect
from functools import cache

import numpy as np
import pytest
from exercise_bank import (
    CORRECT,
    INCORRECT,
    LEAK,
    MIN_LEAKS,
    NOT_ATTEMPTED,
    Bank,
    check_counts,
    check_leakage_family,
    run_case,
    untouched,
)

from helpers.exercises import ch02, ch07, ch08

bank = Bank()
answer = bank.answer

# --------------------------------------------------------------------------- chapter 2

ROWS = 1_500  # SVR fits stay under a second each


@cache
def split():
    X_train, y_train, _, _ = ch02.load_split()
    return X_train.iloc[:ROWS], y_train.iloc[:ROWS]


def svr_pipeline(regressor=None, name="svr"):
    from sklearn.pipeline import Pipeline
    from sklearn.svm import SVR

    return Pipeline([("preprocessing", ch02.make_preprocessing()),
                     (name, regressor if regressor is not None else SVR())])


def grid(param_grid, regressor=None, name="svr", **kwargs):
    from sklearn.model_selection import GridSearchCV

    search = GridSearchCV(svr_pipeline(regressor, name), param_grid, cv=2,
                          scoring="neg_root_mean_squared_error", **kwargs)
    return search.fit(*split())


def randomized(distributions, n_iter=3, regressor=None):
    from sklearn.model_selection import RandomizedSearchCV

    search = RandomizedSearchCV(svr_pipeline(regressor), distributions, n_iter=n_iter, cv=2,
                                scoring="neg_root_mean_squared_error", random_state=0)
    return search.fit(*split())


answer(ch02.ex1, "RBF kernel, two values of C", CORRECT, "combinations searched")(
    lambda: grid({"svr__kernel": ["rbf"], "svr__C": [50_000.0, 150_000.0], "svr__gamma": [0.1]}))
answer(ch02.ex1, "another step name, gamma searched", CORRECT, "combinations searched")(
    lambda: grid({"model__C": [100_000.0], "model__gamma": [0.05, 0.2]}, name="model"))
answer(ch02.ex1, "untouched", NOT_ATTEMPTED, "replace the `...`")(untouched)
answer(ch02.ex1, "a randomized search", INCORRECT, "expected a fitted GridSearchCV")(
    lambda: randomized({"svr__C": [100_000.0, 50_000.0]}, n_iter=2))
answer(ch02.ex1, "a single combination", INCORRECT, "single combination")(
    lambda: grid({"svr__C": [100_000.0], "svr__gamma": [0.1]}))
answer(ch02.ex1, "refit=False", INCORRECT, "refit=False")(
    lambda: grid({"svr__C": [100_000.0, 30_000.0]}, refit=False))
answer(ch02.ex1, "SVR's default C", INCORRECT, "far too small")(
    lambda: grid({"svr__C": [0.5, 1.0]}))


@answer(ch02.ex1, "a forest instead of an SVR", INCORRECT, "contains no SVR")
def ex1_forest():
    from sklearn.ensemble import RandomForestRegressor

    return grid({"svr__max_depth": [2, 4]}, RandomForestRegressor(n_estimators=5, random_state=0))


@answer(ch02.ex1, "unfitted", INCORRECT, "not fitted yet")
def ex1_unfitted():
    from sklearn.model_selection import GridSearchCV

    return GridSearchCV(svr_pipeline(), {"svr__C": [1.0, 2.0]})


@answer(ch02.ex1, "the class", INCORRECT, "the class GridSearchCV itself")
def ex1_class():
    from sklearn.model_selection import GridSearchCV

    return GridSearchCV


@answer(ch02.ex2, "log-uniform C, RBF only", CORRECT, "combinations sampled")
def ex2_loguniform():
    from scipy.stats import loguniform

    return randomized({"svr__C": loguniform(50_000, 300_000), "svr__gamma": loguniform(0.05, 0.2)})


answer(ch02.ex2, "lists sampled without replacement", CORRECT, "combinations sampled")(
    lambda: randomized({"svr__C": [80_000.0, 120_000.0, 160_000.0], "svr__gamma": [0.1]}))
answer(ch02.ex2, "untouched", NOT_ATTEMPTED, "replace the `...`")(untouched)
answer(ch02.ex2, "a grid search", INCORRECT, "expected a fitted RandomizedSearchCV")(
    lambda: grid({"svr__C": [100_000.0, 30_000.0]}))
answer(ch02.ex2, "n_iter=1", INCORRECT, "n_iter=1")(
    lambda: randomized({"svr__C": [100_000.0, 30_000.0]}, n_iter=1))
answer(ch02.ex2, "small C only", INCORRECT, "above the")(
    lambda: randomized({"svr__C": [1.0, 3.0, 10.0]}))


@answer(ch02.ex2, "a forest instead of an SVR", INCORRECT, "contains no SVR")
def ex2_forest():
    from sklearn.ensemble import RandomForestRegressor

    return randomized({"svr__max_depth": [2, 3]}, n_iter=2,
                      regressor=RandomForestRegressor(n_estimators=5, random_state=0))


@answer(ch02.ex2, "unfitted", INCORRECT, "not fitted yet")
def ex2_unfitted():
    from sklearn.model_selection import RandomizedSearchCV

    return RandomizedSearchCV(svr_pipeline(), {"svr__C": [1.0, 2.0]}, n_iter=2)


answer(ch02.ex2, "another exercise's answer (a pipeline)", INCORRECT, "expected a fitted RandomizedSearchCV")(
    lambda: selector_pipeline())


def selector_pipeline(selector=None, regressor=None):
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.feature_selection import SelectFromModel
    from sklearn.pipeline import Pipeline
    from sklearn.svm import SVR

    if selector is None:
        selector = SelectFromModel(RandomForestRegressor(n_estimators=20, random_state=0),
                                   threshold="0.5*mean")
    steps = [("preprocessing", ch02.make_preprocessing())]
    steps += [("select", selector)] if selector != "none" else []
    steps += [("svr", regressor if regressor is not None else SVR(C=100_000.0, gamma=0.1))]
    return Pipeline(steps).fit(*split())


answer(ch02.ex3, "forest importances above half their mean", CORRECT, "features kept")(
    lambda: selector_pipeline())


@answer(ch02.ex3, "lasso selection, forest regressor", CORRECT, "features kept")
def ex3_lasso_forest():
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.feature_selection import SelectFromModel
    from sklearn.linear_model import Lasso

    return selector_pipeline(SelectFromModel(Lasso(alpha=2_000.0, max_iter=5_000)),
                             RandomForestRegressor(n_estimators=50, random_state=0))


answer(ch02.ex3, "untouched", NOT_ATTEMPTED, "replace the `...`")(untouched)
answer(ch02.ex3, "no selector", INCORRECT, "no SelectFromModel step")(
    lambda: selector_pipeline("none"))


@answer(ch02.ex3, "a selector that keeps everything", INCORRECT, "keeps all")
def ex3_keeps_all():
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.feature_selection import SelectFromModel

    return selector_pipeline(SelectFromModel(RandomForestRegressor(n_estimators=5, random_state=0),
                                             threshold=-1.0))


@answer(ch02.ex3, "default SVR after selection", INCORRECT, "above the")
def ex3_weak():
    from sklearn.svm import SVR

    return selector_pipeline(regressor=SVR())


@answer(ch02.ex3, "unfitted", INCORRECT, "not fitted")
def ex3_unfitted():
    from sklearn.feature_selection import SelectFromModel
    from sklearn.linear_model import Lasso
    from sklearn.pipeline import make_pipeline
    from sklearn.svm import SVR

    return make_pipeline(SelectFromModel(Lasso()), SVR())


answer(ch02.ex3, "a string", INCORRECT, "something with .fit")(lambda: "pipeline")


def feature_class(mode="ok"):
    from sklearn.base import BaseEstimator, MetaEstimatorMixin, TransformerMixin, clone

    class FeatureFromRegressor(MetaEstimatorMixin, TransformerMixin, BaseEstimator):
        def __init__(self, estimator):
            if mode == "renamed":
                self.regressor = estimator
            else:
                self.estimator = estimator

        def fit(self, X, y=None):
            if mode == "trains original":
                self.estimator_ = self.estimator.fit(X, y)
            else:
                self.estimator_ = clone(self.estimator).fit(X, y)
            return None if mode == "no self" else self

        def transform(self, X):
            predicted = self.estimator_.predict(X)
            if mode == "flat":
                return predicted
            if mode == "mean":
                return np.full((len(X), 1), predicted.mean() + 1.0)
            return np.c_[predicted]

        def get_feature_names_out(self, input_features=None):
            return ["regressor_prediction"]

    if mode == "no names":
        del FeatureFromRegressor.get_feature_names_out
    return FeatureFromRegressor


def feature_class_plain():
    from sklearn.base import BaseEstimator, TransformerMixin, clone

    class FeatureFromRegressor(TransformerMixin, BaseEstimator):
        def __init__(self, estimator=None):
            self.estimator = estimator

        def fit(self, X, y):
            model = clone(self.estimator)
            model.fit(X, y)
            self.model_ = model
            return self

        def transform(self, X):
            return self.model_.predict(X).reshape(-1, 1)

        def get_feature_names_out(self, names=None):
            return np.array(["nearby_price"])

    return FeatureFromRegressor


answer(ch02.ex4, "MetaEstimatorMixin, np.c_, a list of names", CORRECT, "k-NN price")(feature_class)
answer(ch02.ex4, "model_ attribute, default argument", CORRECT, "k-NN price")(feature_class_plain)
answer(ch02.ex4, "untouched", NOT_ATTEMPTED, "replace the `...`")(untouched)
answer(ch02.ex4, "trains the original", INCORRECT, "train a clone")(
    lambda: feature_class("trains original"))
answer(ch02.ex4, "a flat column", INCORRECT, "reshape(-1, 1)")(lambda: feature_class("flat"))
answer(ch02.ex4, "fit forgets self", INCORRECT, "fit() must return self")(
    lambda: feature_class("no self"))
answer(ch02.ex4, "an instance", INCORRECT, "pass the class itself")(
    lambda: feature_class()(None))
answer(ch02.ex4, "argument renamed", INCORRECT, "self.estimator")(lambda: feature_class("renamed"))
answer(ch02.ex4, "no feature names", INCORRECT, "no get_feature_names_out() method")(
    lambda: feature_class("no names"))
answer(ch02.ex4, "not the predictions", INCORRECT, "does not return the regressor's predictions")(
    lambda: feature_class("mean"))
answer(ch02.ex4, "a function", INCORRECT, "expected your transformer class")(
    lambda: lambda estimator: estimator)


def scaler_class(mode="ok"):
    from sklearn.base import BaseEstimator, TransformerMixin

    class StandardScalerClone(TransformerMixin, BaseEstimator):
        """Written unlike the reference: statistics from np.var, names checked with a loop."""

        def __init__(self, with_mean=True):
            self.with_mean = with_mean

        def fit(self, X, y=None):
            if hasattr(X, "columns") or mode == "names always":
                self.feature_names_in_ = np.array(getattr(X, "columns", range(np.shape(X)[1])),
                                                  dtype=object)
            data = np.asarray(X, dtype=float)
            self.n_features_in_ = data.shape[1]
            self.mean_ = data.mean(axis=0)
            self.scale_ = np.sqrt(data.var(axis=0))
            return self

        def _data(self, X):
            data = np.asarray(X, dtype=float)
            if mode != "any width" and data.shape[1] != self.n_features_in_:
                raise ValueError("wrong number of features")
            return data

        def transform(self, X):
            data = self._data(X)
            width = data.shape[1]  # (only "any width" lets a narrower X through)
            if self.with_mean or mode == "always centres":
                data = data - self.mean_[:width]
            return data / self.scale_[:width]

        def inverse_transform(self, X):
            data = self._data(X) * self.scale_
            return data + self.mean_ if self.with_mean else data

        def get_feature_names_out(self, input_features=None):
            if input_features is not None:
                if mode != "no errors":
                    if len(input_features) != self.n_features_in_:
                        raise ValueError("wrong number of names")
                    known_names = getattr(self, "feature_names_in_", input_features)
                    for given, known in zip(input_features, known_names, strict=True):
                        if given != known:
                            raise ValueError(f"{given} is not {known}")
                return np.asarray(input_features, dtype=object)
            if hasattr(self, "feature_names_in_"):
                return self.feature_names_in_
            prefix = "f" if mode == "f names" else "x"
            return np.asarray([f"{prefix}{i}" for i in range(self.n_features_in_)], dtype=object)

    if mode == "no inverse":
        del StandardScalerClone.inverse_transform
    return StandardScalerClone


def scaler_subclass():
    """Another correct design: delegate the arithmetic to scikit-learn's StandardScaler."""
    from sklearn.preprocessing import StandardScaler

    class StandardScalerClone(StandardScaler):
        def __init__(self, with_mean=True):
            super().__init__(with_mean=with_mean)

    return StandardScalerClone


answer(ch02.ex6, "np.var and a loop over names", CORRECT, "all behave")(scaler_class)
answer(ch02.ex6, "a subclass of StandardScaler", CORRECT, "all behave")(scaler_subclass)
answer(ch02.ex6, "untouched", NOT_ATTEMPTED, "replace the `...`")(untouched)
answer(ch02.ex6, "no inverse_transform", INCORRECT, "no inverse_transform() method")(
    lambda: scaler_class("no inverse"))
answer(ch02.ex6, "with_mean ignored", INCORRECT, "with_mean=False")(
    lambda: scaler_class("always centres"))
answer(ch02.ex6, "any number of columns", INCORRECT, "accepted 2 columns")(
    lambda: scaler_class("any width"))
answer(ch02.ex6, "names without a DataFrame", INCORRECT, "should not exist")(
    lambda: scaler_class("names always"))
answer(ch02.ex6, "wrong default names", INCORRECT, "['x0', 'x1', 'x2']")(
    lambda: scaler_class("f names"))
answer(ch02.ex6, "no ValueError", INCORRECT, "should raise a ValueError")(
    lambda: scaler_class("no errors"))
answer(ch02.ex6, "an instance", INCORRECT, "pass the class itself")(lambda: scaler_class()())

# ---- chapter 2, the leakage family (fitted on the test districts, on training and test
# districts together, preprocessing fitted on all districts before the split) and the target


@cache
def test_districts():
    _, _, X_test, y_test = ch02.load_split()
    return X_test.iloc[:ROWS], y_test.iloc[:ROWS]


@cache
def train_and_test_districts():
    import pandas as pd

    (X, y), (X_test, y_test) = split(), test_districts()
    return pd.concat([X.iloc[:1_000], X_test.iloc[:500]]), pd.concat([y.iloc[:1_000], y_test.iloc[:500]])


@cache
def prepared_everything():
    """The preprocessing fitted on all 20,640 districts, and the prepared training districts."""
    import pandas as pd

    X_train, y_train, X_test, _ = ch02.load_split()
    preprocessing = ch02.make_preprocessing().fit(pd.concat([X_train, X_test]))
    return preprocessing, preprocessing.transform(X_train.iloc[:ROWS]), y_train.iloc[:ROWS]


RBF_GRID = {"svr__C": [50_000.0, 150_000.0], "svr__gamma": [0.1]}


def grid_on(rows, param_grid=RBF_GRID, estimator=None):
    from sklearn.model_selection import GridSearchCV

    search = GridSearchCV(estimator if estimator is not None else svr_pipeline(), param_grid,
                          cv=2, scoring="neg_root_mean_squared_error")
    return search.fit(*rows)


def randomized_on(rows):
    from scipy.stats import loguniform
    from sklearn.model_selection import RandomizedSearchCV

    search = RandomizedSearchCV(svr_pipeline(), {"svr__C": loguniform(50_000, 200_000)},
                                n_iter=2, cv=2, random_state=0)
    return search.fit(*rows)


def search_outside_preprocessing(kind):
    from sklearn.model_selection import GridSearchCV, RandomizedSearchCV
    from sklearn.svm import SVR

    _, X_prepared, y = prepared_everything()
    grid_kind = {"grid": GridSearchCV, "randomized": RandomizedSearchCV}[kind]
    options = {"n_iter": 2} if kind == "randomized" else {}
    search = grid_kind(SVR(gamma=0.1), {"C": [50_000.0, 150_000.0]}, cv=2, **options)
    return search.fit(X_prepared, y)


answer(ch02.ex1, "fitted on test districts", INCORRECT, LEAK)(
    lambda: grid_on(test_districts()))
answer(ch02.ex1, "fitted on training and test districts", INCORRECT,
       (LEAK, "are test districts"))(
    lambda: grid_on(train_and_test_districts()))
answer(ch02.ex1, "preprocessing fitted on all districts, outside", INCORRECT, LEAK)(
    lambda: search_outside_preprocessing("grid"))


@answer(ch02.ex1, "target divided by 100,000", INCORRECT, "transformed target")
def ex1_target_scaled():
    X, y = split()
    return grid_on((X, y / 100_000), {"svr__C": [1.0, 3.0]})


@answer(ch02.ex1, "target logged", INCORRECT, "transformed target")
def ex1_target_logged():
    X, y = split()
    return grid_on((X, np.log(y)), {"svr__C": [1.0, 3.0]})


@answer(ch02.ex1, "log target inside a TransformedTargetRegressor", CORRECT, "combinations searched")
def ex1_transformed_target():
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.svm import SVR

    wrapped = TransformedTargetRegressor(svr_pipeline(SVR(gamma=0.1)), func=np.log,
                                         inverse_func=np.exp)
    return grid_on(split(), {"regressor__svr__C": [1.0, 3.0]}, wrapped)


answer(ch02.ex2, "fitted on test districts", INCORRECT, LEAK)(
    lambda: randomized_on(test_districts()))
answer(ch02.ex2, "fitted on training and test districts", INCORRECT, LEAK)(
    lambda: randomized_on(train_and_test_districts()))
answer(ch02.ex2, "preprocessing fitted on all districts, outside", INCORRECT, LEAK)(
    lambda: search_outside_preprocessing("randomized"))


@answer(ch02.ex2, "one-element lists, n_iter=10", INCORRECT, "single combination")
def ex2_one_candidate():
    from sklearn.model_selection import RandomizedSearchCV

    search = RandomizedSearchCV(svr_pipeline(), {"svr__C": [100_000.0], "svr__gamma": [0.1]},
                                n_iter=10, cv=2, random_state=0)
    return search.fit(*split())


def lasso_ridge_selector():
    from sklearn.feature_selection import SelectFromModel
    from sklearn.linear_model import Lasso, Ridge
    from sklearn.pipeline import Pipeline

    return Pipeline([("preprocessing", ch02.make_preprocessing()),
                     ("select", SelectFromModel(Lasso(alpha=2_000.0, max_iter=5_000))),
                     ("ridge", Ridge())])


@answer(ch02.ex3, "forest selector pipeline fitted on test districts", INCORRECT, LEAK)
def ex3_on_test():
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.feature_selection import SelectFromModel
    from sklearn.pipeline import Pipeline

    selector = SelectFromModel(RandomForestRegressor(n_estimators=10, random_state=0))
    model = Pipeline([("preprocessing", ch02.make_preprocessing()), ("select", selector),
                      ("forest", RandomForestRegressor(n_estimators=30, random_state=0))])
    return model.fit(*test_districts())


@answer(ch02.ex3, "fitted on all 20,640 districts", INCORRECT,
        (LEAK, "and the test districts (4,128) together"))
def ex3_on_everything():
    import pandas as pd

    X_train, y_train, X_test, y_test = ch02.load_split()
    return lasso_ridge_selector().fit(pd.concat([X_train, X_test]), pd.concat([y_train, y_test]))


@answer(ch02.ex3, "preprocessing fitted on all districts before the split", INCORRECT,
        LEAK)
def ex3_preprocessing_on_everything():
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.feature_selection import SelectFromModel
    from sklearn.pipeline import Pipeline
    from sklearn.svm import SVR

    preprocessing, X_prepared, y = prepared_everything()
    selector = SelectFromModel(RandomForestRegressor(n_estimators=10, random_state=0)).fit(
        X_prepared, y)
    svr = SVR(C=100_000.0, gamma=0.1).fit(selector.transform(X_prepared), y)
    return Pipeline([("preprocessing", preprocessing), ("select", selector), ("svr", svr)])


# --------------------------------------------------------------------------- chapter 7

N_MEMBERS_TRAIN = 4_000


@cache
def mnist():
    from helpers.data import load_mnist

    return load_mnist()


def train_images(scale=1.0, labels=None):
    (X, y), _ = mnist()
    y = y[:N_MEMBERS_TRAIN]
    return X[:N_MEMBERS_TRAIN] / scale, (y if labels is None else labels(y))


def to_unit_range(X):
    return np.asarray(X, dtype=float) / 255.0


def members(kind="raw"):
    from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    knn = KNeighborsClassifier(n_neighbors=4, weights="distance")
    if kind == "pipelines":
        knn = make_pipeline(FunctionTransformer(to_unit_range), knn)
    return [("forest", RandomForestClassifier(n_estimators=40, random_state=42, n_jobs=2)),
            ("extra", ExtraTreesClassifier(n_estimators=40, random_state=42, n_jobs=2)),
            ("knn", knn)]


def voting(voting_kind="hard", kind="raw", scale=1.0, labels=None, chosen=None):
    from sklearn.ensemble import VotingClassifier

    estimators = members(kind) if chosen is None else chosen
    return VotingClassifier(estimators, voting=voting_kind).fit(*train_images(scale, labels))


def stacking(cv=2, scale=1.0, chosen=None):
    from sklearn.ensemble import StackingClassifier
    from sklearn.linear_model import LogisticRegression

    estimators = members() if chosen is None else chosen
    blender = LogisticRegression(max_iter=500)
    if cv == "prefit":
        (X, y), _ = mnist()
        for _, member in estimators:
            member.fit(X[:3_000] / scale, y[:3_000])
        return StackingClassifier(estimators, blender, cv="prefit").fit(
            X[3_000:5_000] / scale, y[3_000:5_000])
    return StackingClassifier(estimators, blender, cv=cv).fit(*train_images(scale))


def dummies():
    from sklearn.dummy import DummyClassifier
    from sklearn.tree import DecisionTreeClassifier

    return [("dummy", DummyClassifier()), ("stump", DecisionTreeClassifier(max_depth=1))]


answer(ch07.ex8, "hard voting", CORRECT, "voting classifier test accuracy")(lambda: voting())
answer(ch07.ex8, "soft voting, scaling inside a pipeline", CORRECT, "voting classifier test")(
    lambda: voting("soft", kind="pipelines"))
answer(ch07.ex8, "untouched", NOT_ATTEMPTED, "replace the `...`")(untouched)
answer(ch07.ex8, "members trained on X / 255", INCORRECT, "scaled outside the model")(
    lambda: voting("soft", scale=255.0))
answer(ch07.ex8, "string labels", INCORRECT, "integer labels 0-9")(
    lambda: voting(labels=lambda y: y.astype(str), chosen=members()[2:]))
answer(ch07.ex8, "one member", INCORRECT, "at least two members")(
    lambda: voting(chosen=members()[2:]))
answer(ch07.ex8, "weak members", INCORRECT, "train stronger members")(
    lambda: voting(chosen=dummies()))
answer(ch07.ex8, "a stacking ensemble", INCORRECT, "expected a fitted VotingClassifier")(
    lambda: stacking(chosen=dummies()))
answer(ch07.ex8, "unfitted", INCORRECT, "not fitted")(
    lambda: __import__("sklearn.ensemble", fromlist=["x"]).VotingClassifier(members()))
answer(ch07.ex8, "the class", INCORRECT, "the class VotingClassifier itself")(
    lambda: __import__("sklearn.ensemble", fromlist=["x"]).VotingClassifier)

answer(ch07.ex9, "cross-validated stacking", CORRECT, "stacking classifier test accuracy")(
    lambda: stacking(chosen=members()[1:]))
answer(ch07.ex9, "prefit members, blending set", CORRECT, "stacking classifier test accuracy")(
    lambda: stacking("prefit"))
answer(ch07.ex9, "untouched", NOT_ATTEMPTED, "replace the `...`")(untouched)
answer(ch07.ex9, "members trained on X / 255", INCORRECT, "scaled outside the model")(
    lambda: stacking("prefit", scale=255.0))
answer(ch07.ex9, "a voting ensemble", INCORRECT, "expected a fitted StackingClassifier")(
    lambda: voting(chosen=dummies()))
answer(ch07.ex9, "weak members", INCORRECT, "train stronger members")(
    lambda: stacking(chosen=dummies()))
answer(ch07.ex9, "unfitted", INCORRECT, "not fitted")(
    lambda: __import__("sklearn.ensemble", fromlist=["x"]).StackingClassifier(members()))
answer(ch07.ex9, "the class", INCORRECT, "the class StackingClassifier itself")(
    lambda: __import__("sklearn.ensemble", fromlist=["x"]).StackingClassifier)
answer(ch07.ex9, "a single forest", INCORRECT, "expected a fitted StackingClassifier")(
    lambda: members()[0][1].fit(*train_images()))

# --------------------------------------------------------------------------- chapter 8


def pca_forest(*steps, rows=None, scale=1.0):
    from sklearn.pipeline import make_pipeline

    (X, y), _ = mnist()
    rows = rows or len(X)
    return make_pipeline(*steps).fit(X[:rows] / scale, y[:rows])


def pca(n):
    from sklearn.decomposition import PCA

    return PCA(n_components=n, random_state=42)


def forest(n=60):
    from sklearn.ensemble import RandomForestClassifier

    return RandomForestClassifier(n_estimators=n, random_state=42, n_jobs=2)


answer(ch08.ex9, "95% of the variance, 60 trees", CORRECT, "principal components")(
    lambda: pca_forest(pca(0.95), forest()))


@answer(ch08.ex9, "scaling inside, incremental PCA", CORRECT, "principal components")
def ex9_incremental():
    from sklearn.decomposition import IncrementalPCA
    from sklearn.preprocessing import FunctionTransformer

    return pca_forest(FunctionTransformer(to_unit_range), IncrementalPCA(n_components=160),
                      forest())


answer(ch08.ex9, "untouched", NOT_ATTEMPTED, "replace the `...`")(untouched)
answer(ch08.ex9, "a forest alone", INCORRECT, "expected a scikit-learn Pipeline")(
    lambda: forest(5).fit(*train_images()))
answer(ch08.ex9, "too few components", INCORRECT, "keeps only")(
    lambda: pca_forest(pca(10), forest(5), rows=1_000))
answer(ch08.ex9, "trained on X / 255 outside", INCORRECT, "raw test pixels")(
    lambda: pca_forest(pca(0.95), forest(20), rows=2_000, scale=255.0))
answer(ch08.ex9, "too little data", INCORRECT, "below 0.9")(
    lambda: pca_forest(pca(0.95), forest(5), rows=300))


@answer(ch08.ex9, "no PCA", INCORRECT, "no PCA step")
def ex9_no_pca():
    from sklearn.preprocessing import StandardScaler

    return pca_forest(StandardScaler(), forest(5), rows=500)


@answer(ch08.ex9, "logistic regression", INCORRECT, "should be a RandomForestClassifier")
def ex9_logistic():
    from sklearn.linear_model import LogisticRegression

    return pca_forest(pca(0.95), LogisticRegression(max_iter=50), rows=500)


answer(ch08.ex9, "unfitted", INCORRECT, "not fitted")(
    lambda: __import__("sklearn.pipeline", fromlist=["x"]).make_pipeline(pca(0.95), forest()))


@cache
def tsne(n=1_000, reduce_first=False):
    from sklearn.manifold import TSNE

    (X, _), _ = mnist()
    images = X[:n] / 255.0
    if reduce_first:
        images = pca(30).fit_transform(images)
    # scikit-learn 1.5 renamed n_iter to max_iter; the minimum lane runs 1.4
    iterations = "max_iter" if "max_iter" in inspect.signature(TSNE).parameters else "n_iter"
    return TSNE(n_components=2, init="random" if reduce_first else "pca", perplexity=25,
                random_state=0, **{iterations: 500}).fit_transform(images)


answer(ch08.ex10, "t-SNE with perplexity 25", CORRECT, "5-nearest-neighbours accuracy")(tsne)
answer(ch08.ex10, "t-SNE after a 30-component PCA", CORRECT, "5-nearest-neighbours accuracy")(
    lambda: tsne(reduce_first=True))
answer(ch08.ex10, "untouched", NOT_ATTEMPTED, "replace the `...`")(untouched)
answer(ch08.ex10, "transposed", INCORRECT, "looks transposed")(lambda: tsne().T)
answer(ch08.ex10, "too few images", INCORRECT, "has 500 rows")(lambda: tsne()[:500])
answer(ch08.ex10, "constant", INCORRECT, "same coordinates")(lambda: np.zeros((1_000, 2)))
answer(ch08.ex10, "random points", INCORRECT, "not well separated")(
    lambda: np.random.default_rng(0).normal(size=(1_000, 2)))
answer(ch08.ex10, "rows shuffled", INCORRECT, "not well separated")(
    lambda: np.random.default_rng(0).permutation(tsne()))
answer(ch08.ex10, "a 2-D PCA instead", INCORRECT, "not well separated")(
    lambda: pca(2).fit_transform(train_images()[0][:1_000]))
answer(ch08.ex10, "NaNs", INCORRECT, "NaN")(lambda: np.full((1_000, 2), np.nan))
answer(ch08.ex10, "three columns", INCORRECT, "shape")(lambda: np.zeros((1_000, 3)))

# ---- chapter 7, the leakage family and the blending set


def test_images(rows=None):
    _, (X_test, y_test) = mnist()
    return X_test[:rows], y_test[:rows]


def fit_voting(rows, kind="hard"):
    from sklearn.ensemble import VotingClassifier

    return VotingClassifier(members(), voting=kind).fit(*rows)


def train_and_test_images():
    X, y = train_images()
    X_test, y_test = test_images()
    return np.r_[X[:2_000], X_test], np.r_[y[:2_000], y_test]


@cache
def standardized_everything():
    """A StandardScaler fitted on every image (training and test), and the scaled training images."""
    from sklearn.preprocessing import StandardScaler

    (X, _), (X_test, _) = mnist()
    scaler = StandardScaler().fit(np.r_[X, X_test])
    X_train, y_train = train_images()
    return scaler.transform(X_train), y_train


answer(ch07.ex8, "fitted on the test images", INCORRECT, LEAK)(
    lambda: fit_voting(test_images()))
answer(ch07.ex8, "fitted on training and test images", INCORRECT, LEAK)(
    lambda: fit_voting(train_and_test_images(), "soft"))
answer(ch07.ex8, "members trained on images standardized with all images", INCORRECT,
       LEAK)(lambda: fit_voting(standardized_everything()))


@answer(ch07.ex8, "forests only, fitted on the test images", INCORRECT,
        (LEAK, "fits them clearly better"))
def ex8_forests_on_test():
    from sklearn.ensemble import VotingClassifier

    return VotingClassifier(members()[:2], voting="soft").fit(*test_images())


def stacking_on(rows, chosen=None):
    from sklearn.ensemble import StackingClassifier
    from sklearn.linear_model import LogisticRegression

    return StackingClassifier(chosen or members(), LogisticRegression(max_iter=500), cv=2).fit(*rows)


def prefit_stack(blend_rows):
    """Members trained on the first 3,000 training images, the blender on ``blend_rows``."""
    from sklearn.ensemble import StackingClassifier
    from sklearn.linear_model import LogisticRegression

    (X, y), _ = mnist()
    estimators = members()
    for _, member in estimators:
        member.fit(X[:3_000], y[:3_000])
    return StackingClassifier(estimators, LogisticRegression(max_iter=500), cv="prefit").fit(
        *blend_rows)


answer(ch07.ex9, "cross-validated stacking fitted on the test images", INCORRECT, LEAK)(
    lambda: stacking_on(test_images()))
answer(ch07.ex9, "fitted on training and test images", INCORRECT, LEAK)(
    lambda: stacking_on(train_and_test_images()))
answer(ch07.ex9, "members trained on images standardized with all images", INCORRECT,
       LEAK)(lambda: stacking_on(standardized_everything(), members()[1:]))
answer(ch07.ex9, "prefit members, blender fitted on the test images", INCORRECT,
       (LEAK, "its blender (final_estimator_) was fitted on the members' predictions"))(
    lambda: prefit_stack(test_images()))
answer(ch07.ex9, "prefit members, blender fitted on their own training images", INCORRECT,
       "images the members were trained on")(
    lambda: prefit_stack((mnist()[0][0][:3_000], mnist()[0][1][:3_000])))

# ---- chapter 8, the leakage family and "a t-SNE of the pixels"


answer(ch08.ex9, "fitted on the test images", INCORRECT, LEAK)(
    lambda: make_pca_forest(*test_images()))
answer(ch08.ex9, "fitted on training and test images", INCORRECT,
       (LEAK, "and the test images (2,000) together"))(
    lambda: make_pca_forest(np.r_[mnist()[0][0], test_images()[0]],
                            np.r_[mnist()[0][1], test_images()[1]]))


def make_pca_forest(X, y):
    from sklearn.pipeline import make_pipeline

    return make_pipeline(pca(0.95), forest(20)).fit(X, y)


@answer(ch08.ex9, "a PCA fitted on all images before the split", INCORRECT, LEAK)
def ex9_pca_on_everything():
    from sklearn.pipeline import Pipeline

    (X, y), (X_test, _) = mnist()
    reducer = pca(0.95).fit(np.r_[X, X_test])
    return Pipeline([("pca", reducer), ("forest", forest(20).fit(reducer.transform(X), y))])


@answer(ch08.ex10, "t-SNE of the pixels with the labels appended", INCORRECT, LEAK)
def ex10_labels_appended():
    from sklearn.manifold import TSNE

    (X, y), _ = mnist()
    with_labels = np.c_[X[:1_000] / 255.0, y[:1_000]]
    return TSNE(n_components=2, init="pca", random_state=0).fit_transform(with_labels)


@answer(ch08.ex10, "a supervised LDA map of the same images", INCORRECT, "neighbourhoods")
def ex10_lda():
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

    (X, y), _ = mnist()
    images, labels = X[:1_000] / 255.0, y[:1_000]
    return LinearDiscriminantAnalysis(n_components=2).fit(images, labels).transform(images)


@answer(ch08.ex10, "t-SNE of standardized pixels", CORRECT, "5-nearest-neighbours accuracy")
def ex10_standardized():
    from sklearn.manifold import TSNE
    from sklearn.preprocessing import StandardScaler

    (X, _), _ = mnist()
    images = StandardScaler().fit_transform(X[:1_000].astype(float))
    return TSNE(n_components=2, init="pca", random_state=0).fit_transform(images)


CASES = bank.cases
#: The exercises that score a model on a split the student can reach, with how many answers of
#: their leakage family the bank holds at least (see tests/exercise_bank.py).
LEAKAGE_FAMILY = {ch02.ex1: MIN_LEAKS, ch02.ex2: MIN_LEAKS, ch02.ex3: MIN_LEAKS, ch07.ex8: MIN_LEAKS,
           ch07.ex9: MIN_LEAKS, ch08.ex9: MIN_LEAKS, ch08.ex10: 1}
EXERCISES = [ch02.ex1, ch02.ex2, ch02.ex3, ch02.ex4, ch02.ex6, ch07.ex8, ch07.ex9, ch08.ex9,
             ch08.ex10]


@pytest.mark.parametrize("exercise, build, status, phrase", CASES)
def test_answer(exercise, build, status, phrase):
    run_case(exercise, build, status, phrase)


def test_every_exercise_has_enough_answers():
    check_counts(bank, EXERCISES)


def test_every_model_scoring_exercise_has_its_leakage_family():
    check_leakage_family(bank, LEAKAGE_FAMILY)
