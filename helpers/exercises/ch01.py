"""Hands-on exercises of chapter 1: the machine learning landscape.

The chapter's own exercises are conceptual (answered in the notebook); these two practise
its code: training the linear model by hand, and choosing k for k-nearest neighbors with
leave-one-out cross-validation.
"""

from __future__ import annotations

import numpy as np

from helpers.exercises import Exercise, Incorrect, expect_array, expect_fitted

GDP = "GDP per capita (USD)"
SATISFACTION = "Life satisfaction"
K_RANGE = range(1, 11)


def _lifesat_xy():
    from helpers.data import load_lifesat

    lifesat = load_lifesat()
    return lifesat[GDP].to_numpy(), lifesat[SATISFACTION].to_numpy()


def _check_ex20(theta) -> str:
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


def _solve_ex20():
    from helpers.data import load_lifesat

    lifesat = load_lifesat()
    x = lifesat["GDP per capita (USD)"].to_numpy()
    y = lifesat["Life satisfaction"].to_numpy()
    x_centered, y_centered = x - x.mean(), y - y.mean()
    theta1 = (x_centered @ y_centered) / (x_centered @ x_centered)  # covariance / variance
    theta0 = y.mean() - theta1 * x.mean()  # the line goes through the point of means
    return np.array([theta0, theta1])


ex20 = Exercise(
    "ex20", "Train the linear model by hand: least squares with NumPy",
    _check_ex20,
    hint="""Minimizing the mean squared error of a line gives a closed form: the slope θ1 is
    the sum of (x - mean x)(y - mean y) divided by the sum of (x - mean x)², and the best line
    passes through (mean x, mean y), which gives θ0.""",
    solution=_solve_ex20,
)


def _loo_rmse_by_k(X, y) -> dict[int, float]:
    from sklearn.model_selection import LeaveOneOut, cross_val_score
    from sklearn.neighbors import KNeighborsRegressor

    return {k: -cross_val_score(KNeighborsRegressor(n_neighbors=k), X, y, cv=LeaveOneOut(),
                                scoring="neg_root_mean_squared_error").mean() for k in K_RANGE}


def _check_ex21(model) -> str:
    from sklearn.neighbors import KNeighborsRegressor

    estimator = getattr(model, "best_estimator_", model)
    expect_fitted(estimator, "k-nearest neighbors regressor")
    if not isinstance(estimator, KNeighborsRegressor):
        raise Incorrect(f"expected a KNeighborsRegressor (or a search over one), "
                        f"got a {type(estimator).__name__}.")
    x, y = _lifesat_xy()
    X = x.reshape(-1, 1)
    if estimator.n_features_in_ != 1:
        raise Incorrect("the model should use one feature: the GDP per capita.")
    scores = _loo_rmse_by_k(X, y)
    best_k = min(scores, key=scores.get)
    k = estimator.n_neighbors
    if k not in scores:
        raise Incorrect(f"n_neighbors={k} is outside the range 1 to 10 that the exercise asks for.")
    if scores[k] > scores[best_k] * 1.001:
        raise Incorrect(f"n_neighbors={k} is not the value with the lowest leave-one-out RMSE.")
    if estimator.n_samples_fit_ != len(y):
        raise Incorrect("refit the chosen model on all 27 countries before handing it in.")
    prediction = estimator.predict(np.array([[37_655.2]]))[0]
    return f"k={k}, leave-one-out RMSE {scores[k]:.3f}; Cyprus predicted at {prediction:.2f}."


def _solve_ex21():
    from sklearn.model_selection import GridSearchCV, LeaveOneOut
    from sklearn.neighbors import KNeighborsRegressor

    from helpers.data import load_lifesat

    lifesat = load_lifesat()
    X = lifesat[["GDP per capita (USD)"]].to_numpy()
    y = lifesat["Life satisfaction"].to_numpy()
    search = GridSearchCV(KNeighborsRegressor(), {"n_neighbors": list(range(1, 11))},
                          cv=LeaveOneOut(), scoring="neg_root_mean_squared_error")
    search.fit(X, y)  # refits the best k on all 27 countries
    return search.best_estimator_


ex21 = Exercise(
    "ex21", "Choose k for k-nearest neighbors by leave-one-out cross-validation",
    _check_ex21,
    hint="""With only 27 countries, leave-one-out cross-validation is affordable: use
    `GridSearchCV` with `cv=LeaveOneOut()`, `scoring="neg_root_mean_squared_error"` and
    `n_neighbors` from 1 to 10. Hand in the refitted best estimator.""",
    solution=_solve_ex21,
)
