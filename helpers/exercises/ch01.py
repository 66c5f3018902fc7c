"""Hands-on exercises of chapter 1: the machine learning landscape.

The chapter's own exercises are conceptual (answered in the notebook); these two practise
its code: training the linear model by hand, and choosing k for k-nearest neighbors with
leave-one-out cross-validation.
"""

from __future__ import annotations

import numpy as np

from helpers.exercises import Exercise, Incorrect, a_type, expect_array, expect_fitted

GDP = "GDP per capita (USD)"
SATISFACTION = "Life satisfaction"
K_RANGE = range(1, 11)
CYPRUS_GDP = 37_655.2


def _lifesat_xy():
    from helpers.data import load_lifesat

    lifesat = load_lifesat()
    return lifesat[GDP].to_numpy(), lifesat[SATISFACTION].to_numpy()


def _check_ex20(theta) -> str:
    """What the prompt asks for, and how it is checked:

    * ``np.array([theta0, theta1])``: two numbers, intercept first (swapped order is named);
    * the least-squares line of satisfaction against GDP for the 27 countries: θ1 must be
      the least-squares slope and θ0 the intercept (each named when wrong).
    """
    if theta is None:
        raise Incorrect("expected the two parameters [θ0, θ1], got None: did you forget to return them?")
    theta = expect_array(theta, "parameter vector [θ0, θ1]", shape=(2,))
    x, y = _lifesat_xy()
    slope, intercept = np.polyfit(x, y, deg=1)
    if abs(theta[1] - slope) > 1e-3 * abs(slope):
        if abs(theta[0] - slope) <= 1e-3 * abs(slope):
            raise Incorrect("the two values look swapped: θ0 is the intercept, θ1 the slope.")
        raise Incorrect(f"θ1 = {theta[1]:.4g} is not the least-squares slope. The slope is the "
                        "covariance of GDP and satisfaction divided by the variance of GDP.")
    if abs(theta[0] - intercept) > 1e-3 * abs(intercept):
        raise Incorrect(f"the slope is right but θ0 = {theta[0]:.4g} is not: the best line "
                        "passes through the point of means.")
    return f"θ0 = {theta[0]:.3f}, θ1 = {theta[1]:.3e}, the same as LinearRegression."


ex20 = Exercise(
    "ex20", "Train the linear model by hand: least squares with NumPy",
    _check_ex20,
    hint="""Minimizing the mean squared error of a line gives a closed form: the slope θ1 is
    the sum of (x - mean x)(y - mean y) divided by the sum of (x - mean x)², and the best line
    passes through (mean x, mean y), which gives θ0.""",
    solution="""
    import numpy as np

    from helpers.data import load_lifesat

    countries = load_lifesat()
    gdp = countries["GDP per capita (USD)"].to_numpy()
    happiness = countries["Life satisfaction"].to_numpy()
    gdp_gap, happiness_gap = gdp - gdp.mean(), happiness - happiness.mean()
    theta1 = (gdp_gap @ happiness_gap) / (gdp_gap @ gdp_gap)  # covariance / variance
    theta0 = happiness.mean() - theta1 * gdp.mean()  # the line goes through the point of means
    theta = np.array([theta0, theta1])
    """,
    defines="theta",
)


def _loo_rmse(estimator, X, y) -> float:
    """Leave-one-out RMSE: the root of the mean squared error over all 27 held-out countries.

    (Averaging a per-fold RMSE instead would average |error|: with one country per fold,
    each fold's RMSE is just its absolute error, so that mean is the MAE.)
    """
    from sklearn.model_selection import LeaveOneOut, cross_val_predict

    predictions = cross_val_predict(estimator, X, y, cv=LeaveOneOut())
    return float(np.sqrt(np.mean((predictions - y) ** 2)))


def _check_ex21(model) -> str:
    """What the prompt asks for, and how it is checked:

    * a ``KNeighborsRegressor`` (a fitted search around one is unwrapped), fitted;
    * one feature, GDP per capita, predicting life satisfaction (X and y swapped is named);
    * ``n_neighbors`` between 1 and 10, with the lowest leave-one-out RMSE (the root of the
      mean squared error over the 27 held-out countries);
    * trained on all 27 countries (``n_samples_fit_``, and its predictions must match such a
      model's).

    No leakage check: leave-one-out scores every country on a model that never saw it, and
    the model handed in is meant to be fitted on all 27.
    """
    from sklearn.base import clone
    from sklearn.neighbors import KNeighborsRegressor

    estimator = getattr(model, "best_estimator_", model)
    expect_fitted(estimator, "k-nearest neighbors regressor")
    if not isinstance(estimator, KNeighborsRegressor):
        raise Incorrect(f"expected a KNeighborsRegressor (or a search over one), "
                        f"got {a_type(estimator)}.")
    x, y = _lifesat_xy()
    X = x.reshape(-1, 1)
    if estimator.n_features_in_ != 1:
        raise Incorrect("the model should use one feature: the GDP per capita.")
    try:
        on_gdp = np.asarray(estimator.predict(X), dtype=float).ravel()
    except Exception as exc:  # noqa: BLE001
        raise Incorrect(f"the model could not predict from GDP values ({type(exc).__name__}).") from None
    if np.all(np.isfinite(on_gdp)) and np.median(on_gdp) > 100:
        raise Incorrect(f"for a GDP of USD {CYPRUS_GDP:,.0f} your model predicts "
                        f"{float(estimator.predict([[CYPRUS_GDP]])[0]):,.0f}: it predicts GDP, not "
                        "life satisfaction. X and y look swapped: fit(X, y) takes the GDP column "
                        "as X and the satisfaction as y.")
    k = estimator.n_neighbors
    if k not in K_RANGE:
        raise Incorrect(f"n_neighbors={k} is outside the range 1 to 10 that the exercise asks for.")
    scores = {candidate: _loo_rmse(clone(estimator).set_params(n_neighbors=candidate), X, y)
              for candidate in K_RANGE}
    best_k = min(scores, key=scores.get)
    if scores[k] > scores[best_k] * 1.001:
        raise Incorrect(f"n_neighbors={k} is not the value with the lowest leave-one-out RMSE "
                        f"(yours: {scores[k]:.3f}). The RMSE is the root of the mean squared error "
                        "over all 27 held-out countries; averaging each fold's RMSE gives the MAE "
                        "instead, because every fold holds a single country.")
    expected = clone(estimator).fit(X, y).predict(X)
    if estimator.n_samples_fit_ != len(y) or not np.allclose(on_gdp, expected):
        raise Incorrect("refit the chosen model on all 27 countries (GDP as X, satisfaction as y) "
                        "before handing it in.")
    prediction = float(estimator.predict(np.array([[CYPRUS_GDP]]))[0])
    return f"k={k}, leave-one-out RMSE {scores[k]:.3f}; Cyprus predicted at {prediction:.2f}."


ex21 = Exercise(
    "ex21", "Choose k for k-nearest neighbors by leave-one-out cross-validation",
    _check_ex21,
    hint="""With 27 countries, leave-one-out is affordable. For each k from 1 to 10, get the
    27 held-out predictions with `cross_val_predict(KNeighborsRegressor(n_neighbors=k), X, y,
    cv=LeaveOneOut())` and compute the RMSE of all of them together. Careful: averaging the
    per-fold RMSE (scoring="neg_root_mean_squared_error") averages one absolute error per fold,
    which is the MAE. Refit the best k on all 27 countries and hand that model in.""",
    solution="""
    import numpy as np
    from sklearn.model_selection import LeaveOneOut, cross_val_predict
    from sklearn.neighbors import KNeighborsRegressor

    from helpers.data import load_lifesat

    countries = load_lifesat()
    X = countries[["GDP per capita (USD)"]].to_numpy()
    y = countries["Life satisfaction"].to_numpy()

    loo_rmse = {}
    for k in range(1, 11):
        held_out = cross_val_predict(KNeighborsRegressor(n_neighbors=k), X, y, cv=LeaveOneOut())
        loo_rmse[k] = np.sqrt(np.mean((held_out - y) ** 2))  # one RMSE over all 27 countries
    best_k = min(loo_rmse, key=loo_rmse.get)
    best_knn = KNeighborsRegressor(n_neighbors=best_k).fit(X, y)  # refit on all 27 countries
    print(f"best k = {best_k}, leave-one-out RMSE {loo_rmse[best_k]:.3f}")
    print(f"Cyprus: {best_knn.predict([[37_655.2]])[0]:.2f}")
    """,
    defines="best_knn",
)
