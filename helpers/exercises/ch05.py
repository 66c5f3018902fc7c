"""Exercises of chapter 5: support vector machines."""

from __future__ import annotations

import numpy as np

from helpers import env
from helpers.exercises import Exercise, Incorrect, a_type, expect_fitted, leakage

MAX_ANGLE_DEGREES = 10.0
MAX_SHIFT_CM = 0.25
MIN_WINE_ACCURACY = 0.95
HOUSING_RMSE_BAR = {"full": 0.62, "quick": 0.66}  # in USD 100,000; linear regression: ~0.69
HOUSING_CHECK_SIZE = 2_000


def _expect_n_features(model, n_features: int, data: str) -> None:
    found = getattr(model, "n_features_in_", n_features)
    if found != n_features:
        raise Incorrect(f"the model was trained on {found} features; {data} has {n_features}.")


# --------------------------------------------------------------------------- exercise 9


def _setosa_versicolor():
    """Iris setosa (0) and versicolor (1), petal length and width: linearly separable."""
    from sklearn.datasets import load_iris

    iris = load_iris(as_frame=True)
    X = iris.data[["petal length (cm)", "petal width (cm)"]].values
    y = iris.target.values
    keep = y < 2
    return X[keep], y[keep]


def _boundary(model):
    """Unit normal and offset of the line decision_function(x) = 0, in the input space.

    A linear model's decision function is affine, even behind a StandardScaler, so three
    evaluations recover it.
    """
    origin = model.decision_function(np.zeros((1, 2)))
    corners = model.decision_function(np.eye(2))
    offset = float(np.ravel(origin)[0])
    weights = np.ravel(corners) - offset
    norm = np.linalg.norm(weights)
    if not np.isfinite(norm) or norm == 0:
        raise Incorrect(f"the {type(leakage.final_estimator(model)).__name__} has a degenerate boundary "
                        "(zero or non-finite weights).")
    return weights / norm, offset / norm


def _check_ex9(models):
    """What the prompt asks for, and how it is checked:

    * a list of three fitted models, one each of LinearSVC, SVC and SGDClassifier (pipelines
      with a scaler allowed; a duplicate or another class is named);
    * the SVC with a linear kernel, so that all three boundaries are lines;
    * trained on setosa/versicolor petal length and width (2 features);
    * each separates the two classes perfectly;
    * the SVC's and SGDClassifier's lines within 10 degrees and 0.25 cm of the LinearSVC's.
    """
    from sklearn.linear_model import SGDClassifier
    from sklearn.svm import SVC, LinearSVC

    if not isinstance(models, (list, tuple)) or len(models) != 3:
        raise Incorrect("expected a list of three fitted models: [LinearSVC, SVC, SGDClassifier] "
                        "(each may sit at the end of a pipeline).")
    X, y = _setosa_versicolor()
    by_kind = {}
    for model in models:
        expect_fitted(model, "classifier")
        core = leakage.final_estimator(model)
        kind = next((cls.__name__ for cls in (LinearSVC, SVC, SGDClassifier) if isinstance(core, cls)),
                    None)
        if kind is None:
            raise Incorrect(f"{a_type(core)} is not one of LinearSVC, SVC or SGDClassifier.")
        if kind in by_kind:
            raise Incorrect(f"there are two {kind} models: hand in one of each class.")
        if kind == "SVC" and core.kernel != "linear":
            raise Incorrect(f"the SVC uses the {core.kernel!r} kernel: use kernel='linear' so that "
                            "its boundary is a straight line like the others'.")
        _expect_n_features(model, 2, "the petal length and width")
        predicted = np.asarray(model.predict(X))
        groups = [set(np.unique(predicted[y == label]).tolist()) for label in (0, 1)]
        if any(len(group) != 1 for group in groups) or groups[0] == groups[1]:
            errors = min(np.sum(predicted != y), np.sum(predicted == y))
            raise Incorrect(f"the {kind} does not separate setosa from versicolor perfectly "
                            f"({errors} training errors), though the data are linearly separable.")
        by_kind[kind] = model

    reference_normal, reference_offset = _boundary(by_kind["LinearSVC"])
    center = X.mean(axis=0)
    report = []
    for kind in ("SVC", "SGDClassifier"):
        normal, offset = _boundary(by_kind[kind])
        if normal @ reference_normal < 0:  # same line, opposite orientation (other class encoding)
            normal, offset = -normal, -offset
        angle = np.degrees(np.arccos(np.clip(normal @ reference_normal, -1, 1)))
        shift = abs((normal @ center + offset) - (reference_normal @ center + reference_offset))
        if angle > MAX_ANGLE_DEGREES:
            raise Incorrect(f"the {kind} boundary is tilted by {angle:.1f}° from the LinearSVC's "
                            f"(allowed: {MAX_ANGLE_DEGREES:.0f}°). Match the regularization "
                            "of the models (C, alpha) and scale the features.")
        if shift > MAX_SHIFT_CM:
            raise Incorrect(f"the {kind} boundary passes {shift:.2f} cm away from the LinearSVC's "
                            f"at the center of the data (allowed: {MAX_SHIFT_CM} cm). Match the "
                            "regularization of the models (C, alpha).")
        report.append(f"{kind}: {angle:.1f}° and {shift:.2f} cm from the LinearSVC")
    return "; ".join(report) + "."


ex9 = Exercise(
    "ex9", "LinearSVC, SVC and SGDClassifier: the same linear model three ways", _check_ex9,
    hint="""
    Scale the features in each pipeline. Give LinearSVC loss="hinge" (its default is the
    squared hinge loss) and the same C as SVC(kernel="linear"); for SGDClassifier, alpha
    plays the role of 1 / (C * m), where m is the number of training instances. Compare the
    three lines with a plot, or through coef_ and intercept_.
    """,
    solution="""
    from sklearn.datasets import load_iris
    from sklearn.linear_model import SGDClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC, LinearSVC

    iris = load_iris(as_frame=True)
    petals = iris.data[["petal length (cm)", "petal width (cm)"]].values
    species = iris.target.values
    two_species = species < 2  # setosa and versicolor: linearly separable
    X, y = petals[two_species], species[two_species]

    C = 5
    alpha = 1 / (C * len(X))  # SGDClassifier's alpha plays the role of 1 / (C * m)
    linear_svc = make_pipeline(StandardScaler(),
                               LinearSVC(loss="hinge", C=C, dual=True, random_state=42)).fit(X, y)
    svc = make_pipeline(StandardScaler(), SVC(kernel="linear", C=C)).fit(X, y)
    sgd_clf = make_pipeline(StandardScaler(),
                            SGDClassifier(alpha=alpha, max_iter=1000, tol=None,
                                          random_state=42)).fit(X, y)

    for model in (linear_svc, svc, sgd_clf):
        scaler, classifier = model[0], model[-1]
        w = classifier.coef_[0] / scaler.scale_  # back to centimeters
        b = classifier.intercept_[0] - w @ scaler.mean_
        print(f"{type(classifier).__name__:>13}: petal width = {-w[0] / w[1]:.3f} x length "
              f"+ {-b / w[1]:.3f} on the boundary")
    three_models = [linear_svc, svc, sgd_clf]
    """,
    defines="three_models",
)


# --------------------------------------------------------------------------- exercise 10


def _wine_split():
    from sklearn.datasets import load_wine
    from sklearn.model_selection import train_test_split

    wine = load_wine()
    return train_test_split(wine.data, wine.target, random_state=42)


def _check_ex10(model):
    """What the prompt asks for, and how it is checked:

    * a fitted SVM classifier (LinearSVC, SVC or NuSVC, alone, in a pipeline or a search);
      another estimator is named;
    * trained on the 13 wine features;
    * trained on the training part of ``train_test_split(wine.data, wine.target,
      random_state=42)`` only: no fitted part learnt from more than its 133 wines (the counts
      of scalers and SVC), no support vector is a test wine (this also catches a split with
      another random_state), and where fits are cheap and exact (a LinearSVC alone or in a
      pipeline), a fresh copy fitted on the 45 test wines or on all 178 must not reproduce
      the model's decision values; each is named as data leakage;
    * raw features in: a model trained on features scaled outside it is named;
    * test accuracy of at least 0.95 on the 45 held-out wines.

    Not verified: a LinearSVC fitted on another split, when its fit is random (random_state
    left out), can slip through; so can the comparison of candidates by cross-validation.
    """
    from sklearn.svm import SVC, LinearSVC, NuSVC

    expect_fitted(model, "classifier")
    core = leakage.final_estimator(model)
    if not isinstance(core, (SVC, LinearSVC, NuSVC)):
        raise Incorrect(f"the model is {a_type(core)}; the exercise asks for an SVM "
                        "classifier (LinearSVC or SVC, alone or in a pipeline).")
    _expect_n_features(model, 13, "the wine dataset")
    X_train, X_test, y_train, y_test = _wine_split()
    try:
        predicted = np.asarray(model.predict(X_test))
    except Exception as exc:  # noqa: BLE001 - said in words
        raise Incorrect(f"the model could not predict the test wines ({type(exc).__name__}): "
                        "train it on the 13 raw wine features, with any scaling inside "
                        "a pipeline.") from None
    if predicted.shape != y_test.shape:
        raise Incorrect(f"predict returned shape {predicted.shape} for {len(y_test)} wines.")
    scored = leakage.Scored(X_test, y_test, what="test wines", n_train=len(X_train),
                            train="the training part of the split", unit="wines",
                            fix="Split with train_test_split(wine.data, wine.target, "
                                "random_state=42) and fit the model (scaler included) on "
                                "X_train only: the test wines are there to score it.")
    leakage.expect_unseen(model, scored)
    everything = (np.r_[X_train, X_test], np.r_[y_train, y_test])
    found = leakage.refitted_on(model, {"the test wines": (X_test, y_test),
                                        "all 178 wines": everything}, X_test)
    if found is not None:
        raise leakage.leak(scored, f"a fresh copy fitted on {found} gives the very same "
                                   "decision values")
    accuracy = float(np.mean(predicted == y_test))
    if accuracy < MIN_WINE_ACCURACY:
        leakage.refuse_scaled_outside(
            lambda X: float(np.mean(np.asarray(model.predict(X)) == y_test)), X_test, X_train,
            good=MIN_WINE_ACCURACY, raw_score=accuracy, what="your model")
        raise Incorrect(f"test accuracy {accuracy:.3f} is below {MIN_WINE_ACCURACY}: "
                        "did you scale the features?")
    return f"test accuracy {accuracy:.3f} on the {len(y_test)} held-out wines."

ex10 = Exercise(
    "ex10", "Classify wines with an SVM", _check_ex10,
    hint="""
    SVMs are sensitive to feature scales, and the wine features span very different ranges:
    put a StandardScaler in front. SVC handles the three classes on its own (one-versus-one);
    LinearSVC uses one-versus-the-rest. Compare candidates with cross_val_score on the
    training set before touching the test set.
    """,
    solution="""
    from sklearn.datasets import load_wine
    from sklearn.model_selection import cross_val_score, train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC, LinearSVC

    wine = load_wine()
    X_train, X_test, y_train, y_test = train_test_split(wine.data, wine.target, random_state=42)

    candidates = {
        "LinearSVC, unscaled": LinearSVC(dual=False, random_state=42),
        "LinearSVC, scaled": make_pipeline(StandardScaler(), LinearSVC(dual=False, random_state=42)),
        "SVC (RBF), scaled": make_pipeline(StandardScaler(), SVC(random_state=42)),
    }
    cv_accuracy = {name: cross_val_score(model, X_train, y_train, cv=5).mean()
                   for name, model in candidates.items()}
    for name, accuracy in cv_accuracy.items():
        print(f"{name:>20}: cross-validation accuracy {accuracy:.3f}")

    best_name = max(cv_accuracy, key=cv_accuracy.get)
    wine_clf = candidates[best_name].fit(X_train, y_train)
    print(f"Best: {best_name}, test accuracy {wine_clf.score(X_test, y_test):.3f}")
    """,
    defines="wine_clf",
)


# --------------------------------------------------------------------------- exercise 11


def _housing_split():
    """The split of the prompt: numeric features, target in $100,000, 20% held out."""
    from sklearn.model_selection import train_test_split

    from helpers.data import load_housing

    housing = load_housing()
    X = housing.drop(columns=["median_house_value", "ocean_proximity"])
    y = housing["median_house_value"] / 100_000
    return train_test_split(X, y, test_size=0.2, random_state=42)


def _check_ex11(model):
    """What the prompt asks for, and how it is checked:

    * a fitted SVM regressor (SVR, LinearSVR or NuSVR, alone, in a pipeline, a search or a
      ``TransformedTargetRegressor``, all unwrapped by ``leakage.final_estimator``);
    * on the 8 numeric housing columns, with an imputer for the missing total_bedrooms (a
      district without it is among the rows checked);
    * predicting the target in USD 100,000 (a model trained on dollars is named);
    * trained on the training part of the prompt's split only (``leakage.expect_unseen``): no
      fitted part learnt from more than its 16,512 districts, no support vector is a test
      district (this catches a fit on rows of the unsplit data), and its errors on the test
      districts are not clearly lower than on 5,000 training districts (on average, or on
      too many of them); each is named as data leakage;
    * RMSE on the first 2,000 test districts below the bar of the mode (0.62 full, 0.66 quick).

    Not verified: the randomized search the prompt suggests (only its outcome is seen).
    """
    from sklearn.svm import SVR, LinearSVR, NuSVR

    expect_fitted(model, "regressor")
    core = leakage.final_estimator(model)
    if not isinstance(core, (SVR, LinearSVR, NuSVR)):
        raise Incorrect(f"the model is {a_type(core)}; the exercise asks for an SVM "
                        "regressor (SVR or LinearSVR, alone or in a pipeline).")
    _expect_n_features(model, 8, "the numeric housing data")
    X_train, X_test, y_train, y_test = _housing_split()
    X_check, y_check = X_test.iloc[:HOUSING_CHECK_SIZE], y_test.iloc[:HOUSING_CHECK_SIZE].to_numpy()
    # A district without total_bedrooms, as the data has a few: the pipeline must impute it.
    X_check = X_check.copy()
    X_check.iloc[0, X_check.columns.get_loc("total_bedrooms")] = np.nan
    try:
        predicted = np.asarray(model.predict(X_check), dtype=float).ravel()
    except Exception as exc:  # noqa: BLE001 - said in words
        if "NaN" in str(exc):
            raise Incorrect("predict failed on a district whose total_bedrooms is missing (the "
                            "data has a few): put an imputer in the pipeline.") from None
        raise Incorrect(f"the model could not predict the test districts ({type(exc).__name__}): "
                        "train it on the 8 numeric columns of X_train (a DataFrame), with the "
                        "imputer and the scaler inside its pipeline.") from None
    if predicted.shape == y_check.shape and not np.isfinite(predicted[0]):
        raise Incorrect("the prediction for a district whose total_bedrooms is missing is NaN: "
                        "put an imputer in the pipeline.")
    if predicted.shape != y_check.shape or not np.all(np.isfinite(predicted)):
        raise Incorrect("the predictions should be one finite number per district.")
    if np.median(np.abs(predicted)) > 1_000:
        raise Incorrect(f"your model predicts values around {np.median(predicted):,.0f}: prices in "
                        "dollars. The exercise wants the target in units of USD 100,000 "
                        "(y = housing['median_house_value'] / 100_000): train on that.")
    leakage.expect_unseen(model, leakage.Scored(
        X_test, y_test, what="test districts", n_train=len(X_train),
        train="the training part of the split (X_train)", unit="districts",
        reference=(X_train, y_train, "5,000 training districts"), fit=leakage.ABSOLUTE_ERROR,
        sample=5_000))
    rmse = float(np.sqrt(np.mean((predicted - y_check) ** 2)))
    bar = HOUSING_RMSE_BAR[env.mode()]
    if rmse > bar:
        raise Incorrect(f"RMSE {rmse:.3f} (in USD 100,000) on {HOUSING_CHECK_SIZE:,} held-out districts "
                        f"is above the bar of {bar} ({env.mode()} mode; the bars are "
                        f"{HOUSING_RMSE_BAR['full']} in full mode and {HOUSING_RMSE_BAR['quick']} in "
                        "quick mode). Are the features scaled, are gamma and C tuned, and was "
                        "the final model trained on enough districts?")
    return f"RMSE {rmse:.3f} (in USD 100,000) on {HOUSING_CHECK_SIZE:,} held-out districts (bar: {bar})."

ex11 = Exercise(
    "ex11", "Tune an SVM regressor on the California housing data", _check_ex11,
    hint="""
    Build a pipeline SimpleImputer(strategy="median") -> StandardScaler -> SVR, then run
    RandomizedSearchCV over gamma (log-uniform, about 0.001 to 0.1) and C (about 1 to 10)
    on the first 2,000 training districts only. Retrain the best pipeline on as much of the
    training set as you can afford, and score it on the test set.
    """,
    solution="""
    import numpy as np
    from scipy.stats import loguniform, uniform
    from sklearn.impute import SimpleImputer
    from sklearn.model_selection import RandomizedSearchCV, train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVR

    from helpers.data import load_housing

    housing = load_housing()
    X = housing.drop(columns=["median_house_value", "ocean_proximity"])
    y = housing["median_house_value"] / 100_000  # in units of USD 100,000
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=42)

    svr_pipeline = make_pipeline(SimpleImputer(strategy="median"), StandardScaler(), SVR())
    distributions = {"svr__gamma": loguniform(0.001, 0.1), "svr__C": uniform(1, 10)}
    search = RandomizedSearchCV(svr_pipeline, distributions, n_iter=10, cv=3,
                                scoring="neg_root_mean_squared_error", random_state=42)
    search.fit(X_train.iloc[:2_000], y_train.iloc[:2_000])  # tune on a subset: SVR is slow
    print("best:", {name: round(float(value), 4) for name, value in search.best_params_.items()})

    n_final = 5_000  # more districts help a little more, at a quickly growing cost
    svr_model = search.best_estimator_.fit(X_train.iloc[:n_final], y_train.iloc[:n_final])
    test_rmse = np.sqrt(np.mean((svr_model.predict(X_test) - y_test) ** 2))
    print(f"retrained on {n_final:,} districts, test RMSE: {test_rmse:.3f}")
    """,
    defines="svr_model",
)
