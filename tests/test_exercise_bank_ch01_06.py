"""Answer bank, chapters 1 to 6: correct answers unlike the reference must pass, wrong ones
must fail with a message that names the problem (see tests/exercise_bank.py)."""

from __future__ import annotations

import warnings
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

from helpers.exercises import ch01, ch03, ch04, ch05, ch06

bank = Bank()
answer = bank.answer

# --------------------------------------------------------------------------- chapter 1


@cache
def lifesat():
    X = ch01._lifesat_xy()[0].reshape(-1, 1)
    return X, ch01._lifesat_xy()[1]


@answer(ch01.ex20, "lstsq on a design matrix", CORRECT, "same as LinearRegression")
def ex20_lstsq():
    X, y = lifesat()
    return np.linalg.lstsq(np.c_[np.ones(len(X)), X], y, rcond=None)[0]


@answer(ch01.ex20, "normal equation as a list", CORRECT, "same as LinearRegression")
def ex20_normal_equation():
    X, y = lifesat()
    Xb = np.c_[np.ones(len(X)), X]
    return list(np.linalg.solve(Xb.T @ Xb, Xb.T @ y))


answer(ch01.ex20, "untouched", NOT_ATTEMPTED, "replace the `...`")(untouched)
answer(ch01.ex20, "None", INCORRECT, "got None")(lambda: None)


@answer(ch01.ex20, "swapped", INCORRECT, "look swapped")
def ex20_swapped():
    return ex20_lstsq()[::-1]


answer(ch01.ex20, "three values", INCORRECT, "shape (2)")(lambda: np.array([1.0, 2.0, 3.0]))
answer(ch01.ex20, "NaNs", INCORRECT, "NaN")(lambda: np.array([np.nan, 1e-5]))
answer(ch01.ex20, "zeros", INCORRECT, "not the least-squares slope")(lambda: np.zeros(2))


@answer(ch01.ex20, "wrong intercept", INCORRECT, "the slope is right")
def ex20_wrong_intercept():
    return np.array([0.0, ex20_lstsq()[1]])


@answer(ch01.ex20, "a model instead of numbers", INCORRECT, "as numbers")
def ex20_model():
    from sklearn.linear_model import LinearRegression

    return LinearRegression().fit(*lifesat())


def knn(k, **kwargs):
    from sklearn.neighbors import KNeighborsRegressor

    return KNeighborsRegressor(n_neighbors=k, **kwargs)


@answer(ch01.ex21, "grid search on the mean squared error", CORRECT, "k=8")
def ex21_grid_mse():
    from sklearn.model_selection import GridSearchCV, LeaveOneOut

    search = GridSearchCV(knn(1), {"n_neighbors": range(1, 11)}, cv=LeaveOneOut(),
                          scoring="neg_mean_squared_error")  # mean of squares, then the root
    return search.fit(*lifesat())


@answer(ch01.ex21, "hand-written leave-one-out loop", CORRECT, "leave-one-out RMSE 0.353")
def ex21_manual_loop():
    X, y = lifesat()
    rmse = {}
    for k in range(1, 11):
        errors = [knn(k).fit(np.delete(X, i, 0), np.delete(y, i)).predict(X[i:i + 1])[0] - y[i]
                  for i in range(len(y))]
        rmse[k] = np.sqrt(np.mean(np.square(errors)))
    return knn(min(rmse, key=rmse.get), algorithm="brute").fit(X, y)


@answer(ch01.ex21, "per-fold RMSE averaged (the MAE)", INCORRECT, "averaging each fold's RMSE")
def ex21_mae():
    from sklearn.model_selection import GridSearchCV, LeaveOneOut

    search = GridSearchCV(knn(1), {"n_neighbors": range(1, 11)}, cv=LeaveOneOut(),
                          scoring="neg_root_mean_squared_error")
    return search.fit(*lifesat()).best_estimator_


@answer(ch01.ex21, "X and y swapped", INCORRECT, "X and y look swapped")
def ex21_swapped():
    X, y = lifesat()
    return knn(8).fit(y.reshape(-1, 1), X.ravel())


answer(ch01.ex21, "untouched", NOT_ATTEMPTED, "replace the `...`")(untouched)
answer(ch01.ex21, "unfitted", INCORRECT, "not fitted")(lambda: knn(8))
answer(ch01.ex21, "the class", INCORRECT, "the class KNeighborsRegressor itself")(
    lambda: type(knn(8)))
answer(ch01.ex21, "k out of range", INCORRECT, "outside the range 1 to 10")(
    lambda: knn(15).fit(*lifesat()))
answer(ch01.ex21, "fitted on 20 countries", INCORRECT, "refit the chosen model on all 27")(
    lambda: knn(8).fit(lifesat()[0][:20], lifesat()[1][:20]))


@answer(ch01.ex21, "linear regression", INCORRECT, "expected a KNeighborsRegressor")
def ex21_linear():
    from sklearn.linear_model import LinearRegression

    return LinearRegression().fit(*lifesat())


@answer(ch01.ex21, "two features", INCORRECT, "one feature")
def ex21_two_features():
    X, y = lifesat()
    return knn(8).fit(np.c_[X, X], y)


# --------------------------------------------------------------------------- chapter 3


@cache
def mnist():
    from helpers.data import load_mnist

    return load_mnist()


def knn_classifier(**kwargs):
    from sklearn.neighbors import KNeighborsClassifier

    return KNeighborsClassifier(**kwargs)


@answer(ch03.ex1, "3-NN on raw pixels", CORRECT, "test accuracy")
def ex1_knn3():
    (X, y), _ = mnist()
    return knn_classifier(n_neighbors=3).fit(X, y)


@answer(ch03.ex1, "scaling inside a pipeline", CORRECT, "test accuracy")
def ex1_scaled_pipeline():
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    (X, y), _ = mnist()
    return make_pipeline(FunctionTransformer(to_unit_range),
                         knn_classifier(n_neighbors=5, weights="distance")).fit(X, y)


def to_unit_range(X):
    return np.asarray(X, dtype=float) / 255.0


@answer(ch03.ex1, "trained on X / 255", INCORRECT, "trained on scaled images")
def ex1_scaled_outside():
    (X, y), _ = mnist()
    return knn_classifier(n_neighbors=3).fit(X / 255.0, y)


answer(ch03.ex1, "untouched", NOT_ATTEMPTED, "replace the `...`")(untouched)
answer(ch03.ex1, "the class", INCORRECT, "itself")(lambda: type(knn_classifier()))
answer(ch03.ex1, "unfitted", INCORRECT, "not fitted")(lambda: knn_classifier())


@answer(ch03.ex1, "downsampled images", INCORRECT, "trained on 196 features")
def ex1_downsampled():
    (X, y), _ = mnist()
    return knn_classifier().fit(X.reshape(-1, 28, 28)[:, ::2, ::2].reshape(len(X), -1), y)


@answer(ch03.ex1, "a constant model", INCORRECT, "below 0.94")
def ex1_dummy():
    from sklearn.dummy import DummyClassifier

    (X, y), _ = mnist()
    return DummyClassifier().fit(X, y)


@answer(ch03.ex1, "too little data", INCORRECT, "below 0.94")
def ex1_small():
    (X, y), _ = mnist()
    return knn_classifier(n_neighbors=1).fit(X[:150], y[:150])


@answer(ch03.ex1, "another exercise's answer (a function)", INCORRECT, "something with .fit")
def ex1_function():
    return shift_with_slices


def shift_with_slices(image, dx, dy):
    grid = np.asarray(image, dtype=float).reshape(28, 28)
    out = np.zeros_like(grid)
    rows_from, rows_to = slice(max(0, -dy), 28 - max(0, dy)), slice(max(0, dy), 28 - max(0, -dy))
    cols_from, cols_to = slice(max(0, -dx), 28 - max(0, dx)), slice(max(0, dx), 28 - max(0, -dx))
    out[rows_to, cols_to] = grid[rows_from, cols_from]
    return out.ravel()


def shift_with_padding(image, dx, dy):
    padded = np.pad(np.reshape(image, (28, 28)), 28)
    top, left = 28 - dy, 28 - dx
    return padded[top:top + 28, left:left + 28].flatten()


answer(ch03.ex2, "slices", CORRECT, "right way")(lambda: shift_with_slices)
answer(ch03.ex2, "padding then cropping", CORRECT, "right way")(lambda: shift_with_padding)
answer(ch03.ex2, "untouched", NOT_ATTEMPTED, "replace the `...`")(untouched)
answer(ch03.ex2, "returns a 28x28 grid", INCORRECT, "28x28 grid")(
    lambda: lambda image, dx, dy: shift_with_slices(image, dx, dy).reshape(28, 28))
answer(ch03.ex2, "np.roll wraps around", INCORRECT, "fill the uncovered border with zeros")(
    lambda: lambda image, dx, dy: np.roll(np.reshape(image, (28, 28)), (dy, dx), (0, 1)).ravel())
answer(ch03.ex2, "dx and dy swapped", INCORRECT, "should move the digit")(
    lambda: lambda image, dx, dy: shift_with_slices(image, dy, dx))
answer(ch03.ex2, "forgot return", INCORRECT, "returned None: did you forget")(
    lambda: lambda image, dx, dy: None)
answer(ch03.ex2, "a number", INCORRECT, "expected a function shift_image")(lambda: 42)
answer(ch03.ex2, "a pixel short", INCORRECT, "784 pixels")(
    lambda: lambda image, dx, dy: shift_with_slices(image, dx, dy)[:-1])


def shift_in_place(image, dx, dy):
    shifted = shift_with_slices(image, dx, dy)
    image[:] = shifted
    return shifted


answer(ch03.ex2, "changes its input", INCORRECT, "modified the image")(lambda: shift_in_place)


@cache
def titanic():
    from helpers.data import load_titanic

    train, _ = load_titanic()
    return train.drop(columns="Survived"), train["Survived"]


def titanic_pipeline(classifier, numbers=("Age", "SibSp", "Parch", "Fare")):
    from sklearn.compose import make_column_transformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    return make_pipeline(make_column_transformer(
        (make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), list(numbers)),
        (make_pipeline(SimpleImputer(strategy="most_frequent"),
                       OneHotEncoder(handle_unknown="ignore")), ["Pclass", "Sex", "Embarked"]),
    ), classifier)


@answer(ch03.ex3, "shallow random forest", CORRECT, "as handed in")
def ex3_forest():
    from sklearn.ensemble import RandomForestClassifier

    model = titanic_pipeline(RandomForestClassifier(n_estimators=100, max_depth=6,
                                                    random_state=42))
    return model.fit(*titanic())


@answer(ch03.ex3, "logistic regression", CORRECT, "as handed in")
def ex3_logistic():
    from sklearn.linear_model import LogisticRegression

    return titanic_pipeline(LogisticRegression(max_iter=1_000)).fit(*titanic())


@answer(ch03.ex3, "fitted on 20 passengers", INCORRECT, "as you handed it in")
def ex3_twenty():
    from sklearn.svm import SVC

    X, y = titanic()
    return titanic_pipeline(SVC()).fit(X.iloc[20:40], y.iloc[20:40])


@answer(ch03.ex3, "memorizes the passenger ids", INCORRECT, "does not generalize")
def ex3_memorizer():
    from sklearn.compose import make_column_transformer
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline

    ids_only = make_column_transformer(("passthrough", ["PassengerId"]))
    return make_pipeline(ids_only, KNeighborsClassifier(n_neighbors=1)).fit(*titanic())


@answer(ch03.ex3, "a constant model", INCORRECT, "as you handed it in")
def ex3_constant():
    from sklearn.dummy import DummyClassifier

    return titanic_pipeline(DummyClassifier()).fit(*titanic())


@answer(ch03.ex3, "numbers only, no pipeline", INCORRECT, "could not predict raw passenger rows")
def ex3_no_pipeline():
    from sklearn.ensemble import RandomForestClassifier

    X, y = titanic()
    return RandomForestClassifier(random_state=42).fit(X[["Pclass", "SibSp"]].to_numpy(), y)


answer(ch03.ex3, "untouched", NOT_ATTEMPTED, "replace the `...`")(untouched)
answer(ch03.ex3, "unfitted", INCORRECT, "not fitted")(lambda: titanic_pipeline(knn_classifier()))
answer(ch03.ex3, "another exercise's answer (MNIST)", INCORRECT, "could not predict raw passenger")(
    ex1_small)


def spam_pipeline(vectorizer, classifier, flip=False):
    from sklearn.pipeline import make_pipeline

    emails, labels = ch03.sample_emails()
    return make_pipeline(vectorizer, classifier).fit(emails, 1 - labels if flip else labels)


@answer(ch03.ex4, "word counts and naive Bayes", CORRECT, "classified correctly")
def ex4_bayes():
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.naive_bayes import MultinomialNB

    return spam_pipeline(CountVectorizer(), MultinomialNB())


@answer(ch03.ex4, "tf-idf and logistic regression", CORRECT, "classified correctly")
def ex4_tfidf():
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    return spam_pipeline(TfidfVectorizer(), LogisticRegression(C=10.0))


@answer(ch03.ex4, "labels flipped", INCORRECT, "were classified correctly")
def ex4_flipped():
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.naive_bayes import MultinomialNB

    return spam_pipeline(CountVectorizer(), MultinomialNB(), flip=True)


@answer(ch03.ex4, "always ham", INCORRECT, "only 4 of 8")
def ex4_constant():
    from sklearn.dummy import DummyClassifier
    from sklearn.feature_extraction.text import CountVectorizer

    return spam_pipeline(CountVectorizer(), DummyClassifier(strategy="constant", constant=0))


@answer(ch03.ex4, "unfitted", INCORRECT, "not fitted")
def ex4_unfitted():
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.naive_bayes import MultinomialNB
    from sklearn.pipeline import make_pipeline

    return make_pipeline(CountVectorizer(), MultinomialNB())


answer(ch03.ex4, "untouched", NOT_ATTEMPTED, "replace the `...`")(untouched)
answer(ch03.ex4, "a string", INCORRECT, "expected a fitted text-classification pipeline")(
    lambda: "spam")
answer(ch03.ex4, "numbers, not texts", INCORRECT, "list of raw email texts")(ex1_small)

# ---- chapter 3, the leakage family (fitted on the test split, on training and test rows
# together, a step fitted on everything before the split) and the other checks of the prompts


def test_images():
    return mnist()[1]


@answer(ch03.ex1, "k-NN fitted on the test images", INCORRECT, LEAK)
def ex1_on_test():
    return knn_classifier(n_neighbors=3).fit(*test_images())


@answer(ch03.ex1, "forest fitted on the test images", INCORRECT,
        (LEAK, "fits them clearly better"))
def ex1_forest_on_test():
    from sklearn.ensemble import RandomForestClassifier

    return RandomForestClassifier(n_estimators=30, random_state=42, n_jobs=2).fit(*test_images())


@answer(ch03.ex1, "k-NN on training and test images", INCORRECT,
        (LEAK, "and the test images (2,000) together"))
def ex1_on_everything():
    (X, y), (X_test, y_test) = mnist()
    return knn_classifier(n_neighbors=3).fit(np.r_[X, X_test], np.r_[y, y_test])


@answer(ch03.ex1, "a scaler fitted on all images before the split", INCORRECT, LEAK)
def ex1_scaler_on_everything():
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    (X, y), (X_test, _) = mnist()
    scaler = StandardScaler().fit(np.r_[X, X_test])
    return make_pipeline(scaler, knn_classifier(n_neighbors=3).fit(scaler.transform(X), y))


@answer(ch03.ex1, "k-NN on the training images and copies shifted right", CORRECT, "test accuracy")
def ex1_augmented():
    (X, y), _ = mnist()
    shifted = np.zeros_like(X).reshape(-1, 28, 28)
    shifted[:, :, 1:] = X.reshape(-1, 28, 28)[:, :, :-1]
    return knn_classifier(n_neighbors=4, weights="distance").fit(
        np.r_[X, shifted.reshape(len(X), -1)], np.r_[y, y])


@answer(ch03.ex1, "k-NN on a third of the training images", CORRECT, "test accuracy")
def ex1_knn_on_part():
    (X, y), _ = mnist()
    return knn_classifier(n_neighbors=4, weights="distance").fit(X[::3], y[::3])


def titanic_test():
    from helpers.data import load_titanic

    return load_titanic()[1]


@answer(ch03.ex3, "fitted on 712 of the 891 passengers", INCORRECT, "fitted on 712 passengers")
def ex3_part():
    from sklearn.svm import SVC

    X_fit, _, y_fit, _ = ch03.titanic_split()
    return titanic_pipeline(SVC()).fit(X_fit, y_fit)


@answer(ch03.ex3, "fitted on the fifth the check scores", INCORRECT, "fitted on 179 passengers")
def ex3_scored_fifth():
    from sklearn.svm import SVC

    _, X_holdout, _, y_holdout = ch03.titanic_split()
    return titanic_pipeline(SVC()).fit(X_holdout, y_holdout)


@answer(ch03.ex3, "preprocessing fitted on titanic_train and titanic_test", INCORRECT,
        LEAK)
def ex3_preprocessing_on_everything():
    import pandas as pd
    from sklearn.pipeline import Pipeline
    from sklearn.svm import SVC

    X, y = titanic()
    prepare = titanic_pipeline(SVC()).steps[0][1]
    prepare.fit(pd.concat([X, titanic_test()]))
    return Pipeline([("prepare", prepare), ("svc", SVC().fit(prepare.transform(X), y))])


@answer(ch03.ex3, "a regressor predicting fractions", INCORRECT, "not classes")
def ex3_regressor():
    from sklearn.linear_model import LinearRegression

    return titanic_pipeline(LinearRegression()).fit(*titanic())


@answer(ch03.ex3, "gradient boosting, no scaler", CORRECT, "as handed in")
def ex3_boosting():
    from sklearn.compose import make_column_transformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OrdinalEncoder

    columns = make_column_transformer(
        ("passthrough", ["Pclass", "Age", "SibSp", "Parch", "Fare"]),
        (OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1), ["Sex", "Embarked"]))
    booster = HistGradientBoostingClassifier(max_depth=3, max_iter=60, random_state=42)
    return make_pipeline(columns, booster).fit(*titanic())


# --------------------------------------------------------------------------- chapter 4


def softmax_gd(eta=0.1, n_epochs=20_000, patience=50, stop=True, transpose=False, bias=True):
    """Another style than the reference: zero start, a while loop, the loss of the best kept."""

    def train(X_train, y_train, X_valid, y_valid):
        Xt = np.c_[np.ones(len(X_train)), X_train] if bias else X_train
        Xv = np.c_[np.ones(len(X_valid)), X_valid] if bias else X_valid
        k = 3
        theta = np.zeros((Xt.shape[1], k))
        best, best_theta, epoch, waited = np.inf, theta, 0, 0
        while epoch < n_epochs:
            z = Xt @ theta
            p = np.exp(z - z.max(1, keepdims=True))
            p /= p.sum(1, keepdims=True)
            theta = theta - eta * Xt.T @ (p - np.eye(k)[y_train]) / len(Xt)
            zv = Xv @ theta
            log_p = zv - zv.max(1, keepdims=True)
            log_p -= np.log(np.exp(log_p).sum(1, keepdims=True))
            loss = -log_p[np.arange(len(y_valid)), y_valid].mean()
            epoch += 1
            if loss < best:
                best, best_theta, waited = loss, theta.copy(), 0
            elif stop:
                waited += 1
                if waited > patience:
                    break
        result = best_theta if stop else theta
        return result.T if transpose else result

    return train


answer(ch04.ex12, "zero start, while loop, patience 50", CORRECT, "stops early")(
    lambda: softmax_gd())
answer(ch04.ex12, "slower learning rate, more patience", CORRECT, "stops early")(
    lambda: softmax_gd(eta=0.05, patience=500))
answer(ch04.ex12, "no early stopping", INCORRECT, "no early stopping found")(
    lambda: softmax_gd(stop=False, n_epochs=3_000))
answer(ch04.ex12, "untouched", NOT_ATTEMPTED, "replace the `...`")(untouched)
answer(ch04.ex12, "forgot return", INCORRECT, "returned None: did you forget")(
    lambda: lambda *args: None)
answer(ch04.ex12, "transposed", INCORRECT, "looks transposed")(
    lambda: softmax_gd(transpose=True))
answer(ch04.ex12, "no bias row", INCORRECT, "shape (5, 3)")(lambda: softmax_gd(bias=False))
answer(ch04.ex12, "too few epochs", INCORRECT, "below 0.9")(
    lambda: softmax_gd(eta=0.001, n_epochs=5))
answer(ch04.ex12, "diverges to NaN", INCORRECT, "NaN")(
    lambda: lambda X, y, Xv, yv: np.full((5, 3), np.nan))


def not_implemented(*args):
    raise NotImplementedError


answer(ch04.ex12, "not implemented yet", NOT_ATTEMPTED, "not implemented")(lambda: not_implemented)
answer(ch04.ex12, "an array, not a function", INCORRECT, "expected a function")(
    lambda: np.zeros((5, 3)))

# --------------------------------------------------------------------------- chapter 5


def separable(C=5.0, order=(0, 1, 2), svc_kernel="linear", sgd_alpha=None, features=2):
    from sklearn.linear_model import SGDClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC, LinearSVC

    X, y = ch05._setosa_versicolor()
    if features == 4:
        X = np.c_[X, X]
    alpha = sgd_alpha if sgd_alpha is not None else 1 / (C * len(X))
    models = [make_pipeline(StandardScaler(), LinearSVC(loss="hinge", C=C, random_state=42)),
              make_pipeline(StandardScaler(), SVC(kernel=svc_kernel, C=C)),
              make_pipeline(StandardScaler(), SGDClassifier(alpha=alpha, tol=None,
                                                             max_iter=2_000, random_state=42))]
    return [models[i].fit(X, y) for i in order]


answer(ch05.ex9, "C = 1", CORRECT, "from the LinearSVC")(lambda: separable(C=1.0))
answer(ch05.ex9, "another order, C = 20", CORRECT, "from the LinearSVC")(
    lambda: separable(C=20.0, order=(2, 0, 1)))
answer(ch05.ex9, "untouched", NOT_ATTEMPTED, "replace the `...`")(untouched)
answer(ch05.ex9, "two models", INCORRECT, "a list of three fitted models")(
    lambda: separable()[:2])
answer(ch05.ex9, "two LinearSVCs", INCORRECT, "there are two LinearSVC")(
    lambda: separable(order=(0, 0, 2)))
answer(ch05.ex9, "RBF kernel", INCORRECT, "kernel='linear'")(lambda: separable(svc_kernel="rbf"))
@answer(ch05.ex9, "SGD on unscaled features, few epochs", INCORRECT, "tilted")
def ex9_sgd_unscaled():
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import SGDClassifier

    models = separable()
    X, y = ch05._setosa_versicolor()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # stopped early on purpose
        return models[:2] + [SGDClassifier(max_iter=5, random_state=42).fit(X, y)]
answer(ch05.ex9, "four features", INCORRECT, "trained on 4 features")(
    lambda: separable(features=4))


@answer(ch05.ex9, "unfitted", INCORRECT, "not fitted")
def ex9_unfitted():
    from sklearn.svm import SVC

    models = separable()
    return [models[0], SVC(kernel="linear"), models[2]]


@answer(ch05.ex9, "logistic regression in place of SGD", INCORRECT, "not one of LinearSVC")
def ex9_logistic():
    from sklearn.linear_model import LogisticRegression

    models = separable()
    return [models[0], models[1], LogisticRegression().fit(*ch05._setosa_versicolor())]


@cache
def wine():
    return ch05._wine_split()


def wine_model(model, rows=None):
    X_train, X_test, y_train, y_test = wine()
    if rows == "all":
        return model.fit(np.r_[X_train, X_test], np.r_[y_train, y_test])
    return model.fit(X_train, y_train)


def scaled(model):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), model)


@answer(ch05.ex10, "RBF SVC, scaled", CORRECT, "held-out wines")
def ex10_rbf():
    from sklearn.svm import SVC

    return wine_model(scaled(SVC(C=3.0)))


@answer(ch05.ex10, "grid search over a scaled LinearSVC", CORRECT, "held-out wines")
def ex10_search():
    from sklearn.model_selection import GridSearchCV
    from sklearn.svm import LinearSVC

    return wine_model(GridSearchCV(scaled(LinearSVC(random_state=42)),
                                   {"linearsvc__C": [0.01, 0.1, 1.0]}, cv=3))


@answer(ch05.ex10, "unscaled SVC", INCORRECT, "did you scale the features")
def ex10_unscaled():
    from sklearn.svm import SVC

    return wine_model(SVC())


@answer(ch05.ex10, "a random forest", INCORRECT, "asks for an SVM classifier")
def ex10_forest():
    from sklearn.ensemble import RandomForestClassifier

    return wine_model(RandomForestClassifier(random_state=42))


@answer(ch05.ex10, "trained on all 178 wines", INCORRECT, "trained on 178 wines")
def ex10_all():
    from sklearn.svm import SVC

    return wine_model(scaled(SVC()), rows="all")


@answer(ch05.ex10, "two features", INCORRECT, "trained on 2 features")
def ex10_two_features():
    from sklearn.svm import SVC

    X_train, _, y_train, _ = wine()
    return scaled(SVC()).fit(X_train[:, :2], y_train)


answer(ch05.ex10, "untouched", NOT_ATTEMPTED, "replace the `...`")(untouched)


@answer(ch05.ex10, "unfitted", INCORRECT, "not fitted")
def ex10_unfitted():
    from sklearn.svm import SVC

    return scaled(SVC())


@answer(ch05.ex10, "the class", INCORRECT, "the class SVC itself")
def ex10_class():
    from sklearn.svm import SVC

    return SVC


@cache
def housing():
    return ch05._housing_split()


def housing_pipeline(regressor=None, impute=True, scale=True):
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVR

    steps = [SimpleImputer(strategy="median")] if impute else []
    steps += [StandardScaler()] if scale else []
    return make_pipeline(*steps, regressor if regressor is not None else SVR(C=5.0, gamma=0.08))


def housing_svr(regressor=None, rows=2_000, dollars=False, impute=True, scale=True):
    X_train, _, y_train, _ = housing()
    model = housing_pipeline(regressor, impute, scale)
    target = y_train * 100_000 if dollars else y_train
    complete = X_train["total_bedrooms"].notna()  # without an imputer, fit on complete rows
    X_fit, y_fit = (X_train, target) if impute else (X_train[complete], target[complete])
    return model.fit(X_fit.iloc[:rows], y_fit.iloc[:rows])


answer(ch05.ex11, "SVR on 2,000 districts", CORRECT, "held-out districts")(lambda: housing_svr())


@answer(ch05.ex11, "a fitted grid search", CORRECT, "held-out districts")
def ex11_search():
    from sklearn.model_selection import GridSearchCV

    X_train, _, y_train, _ = housing()
    return GridSearchCV(housing_svr(), {"svr__C": [3.0, 8.0]}, cv=2).fit(
        X_train.iloc[:1_500], y_train.iloc[:1_500])


answer(ch05.ex11, "target left in dollars", INCORRECT, "prices in dollars")(
    lambda: housing_svr(dollars=True, rows=500))
answer(ch05.ex11, "no imputer", INCORRECT, "put an imputer in the pipeline")(
    lambda: housing_svr(impute=False, rows=500))
answer(ch05.ex11, "unscaled default SVR", INCORRECT, "above the bar")(
    lambda: housing_svr(scale=False, rows=500))


@answer(ch05.ex11, "linear regression", INCORRECT, "asks for an SVM regressor")
def ex11_linear():
    from sklearn.linear_model import LinearRegression

    return housing_svr(LinearRegression())


@answer(ch05.ex11, "with the ocean proximity one-hot", INCORRECT, "trained on 12 features")
def ex11_extra_columns():
    import pandas as pd
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.svm import SVR

    from helpers.data import load_housing

    frame = load_housing().iloc[:500]
    X = pd.get_dummies(frame.drop(columns="median_house_value"), dtype=float)
    return make_pipeline(SimpleImputer(), SVR()).fit(X, frame["median_house_value"] / 1e5)


answer(ch05.ex11, "untouched", NOT_ATTEMPTED, "replace the `...`")(untouched)


@answer(ch05.ex11, "unfitted", INCORRECT, "not fitted")
def ex11_unfitted():
    from sklearn.pipeline import make_pipeline
    from sklearn.svm import SVR

    return make_pipeline(SVR())

# ---- chapter 5, the leakage family and the other cases of the prompts


@answer(ch05.ex10, "SVC fitted on the test wines", INCORRECT, LEAK)
def ex10_on_test():
    from sklearn.svm import SVC

    _, X_test, _, y_test = wine()
    return scaled(SVC()).fit(X_test, y_test)


@answer(ch05.ex10, "scaled LinearSVC fitted on all 178 wines", INCORRECT, LEAK)
def ex10_linear_all():
    from sklearn.svm import LinearSVC

    return wine_model(scaled(LinearSVC(random_state=42)), rows="all")


@answer(ch05.ex10, "LinearSVC alone, fitted on the scaled test wines", INCORRECT, LEAK)
def ex10_linear_on_test():
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer
    from sklearn.svm import LinearSVC

    _, X_test, _, y_test = wine()
    unit_scale = FunctionTransformer(lambda X: X / X_test.max(axis=0))
    return make_pipeline(unit_scale, LinearSVC(dual=False)).fit(X_test, y_test)


@answer(ch05.ex10, "SVC on a split with another random_state", INCORRECT,
        (LEAK, "are test wines"))
def ex10_other_split():
    from sklearn.datasets import load_wine
    from sklearn.model_selection import train_test_split
    from sklearn.svm import SVC

    wine_data = load_wine()
    X_train, _, y_train, _ = train_test_split(wine_data.data, wine_data.target, random_state=0)
    return scaled(SVC()).fit(X_train, y_train)


def wine_scaler_on_everything(classifier):
    """A scaler fitted on all 178 wines, and ``classifier`` fitted on the scaled training wines."""
    from sklearn.preprocessing import StandardScaler

    X_train, X_test, y_train, _ = wine()
    scaler = StandardScaler().fit(np.r_[X_train, X_test])
    return scaler, classifier.fit(scaler.transform(X_train), y_train)


@answer(ch05.ex10, "a scaler fitted on all wines before the split", INCORRECT, LEAK)
def ex10_scaler_on_everything():
    from sklearn.pipeline import Pipeline
    from sklearn.svm import LinearSVC

    scaler, classifier = wine_scaler_on_everything(LinearSVC(dual=False))
    return Pipeline([("scaler", scaler), ("svm", classifier)])


@answer(ch05.ex10, "LinearSVC trained on features scaled outside it", INCORRECT,
        (LEAK, "scaled outside the model"))
def ex10_scaled_outside():
    from sklearn.svm import LinearSVC

    return wine_scaler_on_everything(LinearSVC(dual=False))[1]


@answer(ch05.ex10, "NuSVC in a pipeline with a min-max scaler", CORRECT, "held-out wines")
def ex10_nusvc():
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import MinMaxScaler
    from sklearn.svm import NuSVC

    return wine_model(make_pipeline(MinMaxScaler(), NuSVC(nu=0.3)))


@answer(ch05.ex11, "SVR pipeline inside a TransformedTargetRegressor", CORRECT, "held-out districts")
def ex11_transformed_target():
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.preprocessing import StandardScaler

    X_train, _, y_train, _ = housing()
    wrapped = TransformedTargetRegressor(housing_pipeline(), transformer=StandardScaler())
    return wrapped.fit(X_train.iloc[:2_000], y_train.iloc[:2_000])


@answer(ch05.ex11, "SVR fitted on test districts", INCORRECT, LEAK)
def ex11_on_test():
    _, X_test, _, y_test = housing()
    return housing_pipeline().fit(X_test.iloc[:1_500], y_test.iloc[:1_500])


@answer(ch05.ex11, "the first 5,000 rows of the unsplit data", INCORRECT,
        (LEAK, "are test districts"))
def ex11_unsplit_rows():
    from helpers.data import load_housing

    housing_data = load_housing()
    X = housing_data.drop(columns=["median_house_value", "ocean_proximity"])
    y = housing_data["median_house_value"] / 100_000
    return housing_pipeline().fit(X.iloc[:5_000], y.iloc[:5_000])


@answer(ch05.ex11, "imputer and scaler fitted on all districts", INCORRECT, LEAK)
def ex11_scaler_on_everything():
    import pandas as pd
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVR

    X_train, X_test, y_train, _ = housing()
    prepare = make_pipeline(SimpleImputer(strategy="median"), StandardScaler())
    prepare.fit(pd.concat([X_train, X_test]))
    svr = SVR(C=5.0, gamma=0.08).fit(prepare.transform(X_train.iloc[:2_000]), y_train.iloc[:2_000])
    return make_pipeline(*prepare.named_steps.values(), svr)


# --------------------------------------------------------------------------- chapter 6


@cache
def moons():
    return ch06._exercise_split()


def tree(**kwargs):
    from sklearn.tree import DecisionTreeClassifier

    X_train, _, y_train, _ = moons()
    return DecisionTreeClassifier(random_state=42, **kwargs).fit(X_train, y_train)


@answer(ch06.ex7, "grid search over max_depth", CORRECT, "fresh moons")
def ex7_search():
    from sklearn.model_selection import GridSearchCV
    from sklearn.tree import DecisionTreeClassifier

    X_train, _, y_train, _ = moons()
    return GridSearchCV(DecisionTreeClassifier(random_state=42),
                        {"max_depth": [3, 5, 7, 9]}, cv=3).fit(X_train, y_train)


answer(ch06.ex7, "min_samples_leaf=50", CORRECT, "fresh moons")(lambda: tree(min_samples_leaf=50))
answer(ch06.ex7, "a stump", INCORRECT, "underfits")(lambda: tree(max_depth=1))
answer(ch06.ex7, "unregularized", INCORRECT, "overfits")(lambda: tree())
answer(ch06.ex7, "untouched", NOT_ATTEMPTED, "replace the `...`")(untouched)


@answer(ch06.ex7, "a random forest", INCORRECT, "a single DecisionTreeClassifier")
def ex7_forest():
    from sklearn.ensemble import RandomForestClassifier

    X_train, _, y_train, _ = moons()
    return RandomForestClassifier(n_estimators=20, max_depth=6, random_state=42).fit(X_train, y_train)


@answer(ch06.ex7, "unfitted", INCORRECT, "not fitted")
def ex7_unfitted():
    from sklearn.tree import DecisionTreeClassifier

    return DecisionTreeClassifier(max_leaf_nodes=17)


@answer(ch06.ex7, "three features", INCORRECT, "expects 3 features")
def ex7_three_features():
    from sklearn.tree import DecisionTreeClassifier

    X_train, _, y_train, _ = moons()
    return DecisionTreeClassifier(max_leaf_nodes=17).fit(np.c_[X_train, X_train[:, 0]], y_train)


@answer(ch06.ex7, "a regressor", INCORRECT, "got a DecisionTreeRegressor")
def ex7_regressor():
    from sklearn.tree import DecisionTreeRegressor

    X_train, _, y_train, _ = moons()
    return DecisionTreeRegressor(max_leaf_nodes=17).fit(X_train, y_train)


@cache
def small_trees(n_trees=300):
    from sklearn.tree import DecisionTreeClassifier

    X_train, _, y_train, _ = moons()
    rng = np.random.default_rng(7)
    forest = []
    for _ in range(n_trees):
        rows = rng.choice(len(X_train), size=100, replace=False)
        forest.append(DecisionTreeClassifier(max_leaf_nodes=16).fit(X_train[rows], y_train[rows]))
    return forest


def bincount_vote(X):
    votes = np.stack([t.predict(X) for t in small_trees()]).astype(int)
    return np.apply_along_axis(lambda column: np.bincount(column, minlength=2).argmax(), 0, votes)


def mean_vote(X):
    return (np.mean([t.predict(X) for t in small_trees()], axis=0) > 0.5).astype(int)


answer(ch06.ex8, "bincount vote of 300 trees", CORRECT, "majority vote")(lambda: bincount_vote)
answer(ch06.ex8, "mean of the votes above one half", CORRECT, "majority vote")(lambda: mean_vote)
answer(ch06.ex8, "a single tuned tree's predictions", INCORRECT, "look like one tree's")(
    lambda: tree(max_leaf_nodes=17).predict)
answer(ch06.ex8, "every tree's votes", INCORRECT, "every tree's vote")(
    lambda: lambda X: np.stack([t.predict(X) for t in small_trees()]))
answer(ch06.ex8, "forgot return", INCORRECT, "returned None: did you forget")(
    lambda: lambda X: None)
answer(ch06.ex8, "vote over the instances", INCORRECT, "shape")(
    lambda: lambda X: np.round(np.mean([t.predict(X) for t in small_trees()], axis=1)))
@answer(ch06.ex8, "a vote of stumps", INCORRECT, "below a single tuned tree")
def ex8_stumps():
    from sklearn.tree import DecisionTreeClassifier

    X_train, _, y_train, _ = moons()
    stumps = [DecisionTreeClassifier(max_depth=1).fit(X_train[i::50], y_train[i::50])
              for i in range(50)]
    return lambda X: (np.mean([s.predict(X) for s in stumps], axis=0) > 0.5).astype(int)
answer(ch06.ex8, "untouched", NOT_ATTEMPTED, "replace the `...`")(untouched)
answer(ch06.ex8, "an array, not a function", INCORRECT, "expected a function forest_predict")(
    lambda: np.zeros(10))
answer(ch06.ex8, "labels as words", INCORRECT, "as numbers")(
    lambda: lambda X: np.where(mean_vote(X) == 1, "yes", "no"))

# ---- chapter 6, exercise 7: the training set the prompt names, and nothing else


@answer(ch06.ex7, "a scaled tree in a pipeline", CORRECT, "fresh moons")
def ex7_scaled_pipeline():
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.tree import DecisionTreeClassifier

    X_train, _, y_train, _ = moons()
    model = make_pipeline(StandardScaler(), DecisionTreeClassifier(max_leaf_nodes=20, random_state=0))
    return model.fit(X_train, y_train)


@answer(ch06.ex7, "tuned tree fitted on the test moons", INCORRECT, LEAK)
def ex7_on_test():
    from sklearn.tree import DecisionTreeClassifier

    _, X_test, _, y_test = moons()
    return DecisionTreeClassifier(max_leaf_nodes=17, random_state=42).fit(X_test, y_test)


@answer(ch06.ex7, "tuned tree refitted on all 10,000 moons", INCORRECT, LEAK)
def ex7_on_everything():
    from sklearn.tree import DecisionTreeClassifier

    X_train, X_test, y_train, y_test = moons()
    return DecisionTreeClassifier(max_leaf_nodes=17, random_state=42).fit(
        np.r_[X_train, X_test], np.r_[y_train, y_test])


@answer(ch06.ex7, "grid search fitted on all 10,000 moons", INCORRECT, LEAK)
def ex7_search_on_everything():
    from sklearn.model_selection import GridSearchCV
    from sklearn.tree import DecisionTreeClassifier

    X_train, X_test, y_train, y_test = moons()
    search = GridSearchCV(DecisionTreeClassifier(random_state=42),
                          {"max_leaf_nodes": [8, 16, 32]}, cv=3)
    return search.fit(np.r_[X_train, X_test], np.r_[y_train, y_test])


@answer(ch06.ex7, "a scaler fitted on all moons before the split", INCORRECT, LEAK)
def ex7_scaler_on_everything():
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.tree import DecisionTreeClassifier

    X_train, X_test, y_train, _ = moons()
    scaler = StandardScaler().fit(np.r_[X_train, X_test])
    tree_on_scaled = DecisionTreeClassifier(max_leaf_nodes=17).fit(scaler.transform(X_train), y_train)
    return Pipeline([("scaler", scaler), ("tree", tree_on_scaled)])


@answer(ch06.ex7, "tree trained on moons scaled outside it", INCORRECT,
        (LEAK, "scaled outside the model"))
def ex7_scaled_outside():
    from sklearn.preprocessing import StandardScaler
    from sklearn.tree import DecisionTreeClassifier

    X_train, _, y_train, _ = moons()
    scaled_moons = StandardScaler().fit_transform(X_train)
    return DecisionTreeClassifier(max_leaf_nodes=17, random_state=42).fit(scaled_moons, y_train)


@answer(ch06.ex7, "tuned tree on half the training set", INCORRECT, "full training set")
def ex7_half():
    from sklearn.tree import DecisionTreeClassifier

    X_train, _, y_train, _ = moons()
    return DecisionTreeClassifier(max_leaf_nodes=17, random_state=42).fit(X_train[::2], y_train[::2])


CASES = bank.cases
#: The exercises that score a model on a split the student can reach, with how many answers of
#: their leakage family the bank holds at least (see tests/exercise_bank.py).
LEAKAGE_FAMILY = {ch03.ex1: MIN_LEAKS, ch03.ex3: 1, ch05.ex10: MIN_LEAKS, ch05.ex11: MIN_LEAKS,
           ch06.ex7: MIN_LEAKS}
EXERCISES = [ch01.ex20, ch01.ex21, ch03.ex1, ch03.ex2, ch03.ex3, ch03.ex4, ch04.ex12,
             ch05.ex9, ch05.ex10, ch05.ex11, ch06.ex7, ch06.ex8]


@pytest.mark.parametrize("exercise, build, status, phrase", CASES)
def test_answer(exercise, build, status, phrase):
    run_case(exercise, build, status, phrase)


def test_every_exercise_has_enough_answers():
    check_counts(bank, EXERCISES)


def test_every_model_scoring_exercise_has_its_leakage_family():
    check_leakage_family(bank, LEAKAGE_FAMILY)
