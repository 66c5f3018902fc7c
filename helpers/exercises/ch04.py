"""Exercises of chapter 4: training models."""

from __future__ import annotations

import numpy as np

from helpers.exercises import (
    Exercise,
    Incorrect,
    call_student,
    expect_array,
    expect_callable,
    expect_returned,
)

_MIN_ACCURACY = 0.9


def _iris_splits():
    """Iris, all four features, split 90 / 30 / 30 (train / validation / test), stratified."""
    from sklearn.datasets import load_iris
    from sklearn.model_selection import train_test_split

    iris = load_iris()
    X, y = iris.data, iris.target
    X_rest, X_test, y_rest, y_test = train_test_split(X, y, test_size=30, stratify=y,
                                                      random_state=42)
    X_train, X_valid, y_train, y_valid = train_test_split(X_rest, y_rest, test_size=30,
                                                          stratify=y_rest, random_state=42)
    return X_train, y_train, X_valid, y_valid, X_test, y_test


def _accuracy(theta: np.ndarray, X: np.ndarray, y: np.ndarray) -> float:
    X_with_bias = np.c_[np.ones(len(X)), X]
    return float(np.mean(np.argmax(X_with_bias @ theta, axis=1) == y))


def _check_ex12(train_softmax):
    expect_callable(train_softmax, "a function (X_train, y_train, X_valid, y_valid) -> Theta")
    X_train, y_train, X_valid, y_valid, X_test, y_test = _iris_splits()
    n_inputs, n_classes = X_train.shape[1] + 1, len(np.unique(y_train))
    theta = call_student(train_softmax, X_train.copy(), y_train.copy(), X_valid.copy(),
                         y_valid.copy(), what="your training function")
    expect_returned(theta, "your function", "the parameter matrix Theta")
    if np.shape(theta) == (n_classes, n_inputs):
        raise Incorrect(f"Theta has shape {np.shape(theta)}: it looks transposed. Use one row per "
                        f"input (the bias first) and one column per class, i.e. shape "
                        f"({n_inputs}, {n_classes}).")
    theta = expect_array(theta, "parameter matrix Theta", shape=(n_inputs, n_classes))
    valid_accuracy = _accuracy(theta, X_valid, y_valid)
    test_accuracy = _accuracy(theta, X_test, y_test)
    if test_accuracy < _MIN_ACCURACY:
        raise Incorrect(f"accuracy on a held-out test set is {test_accuracy:.3f} (validation "
                        f"{valid_accuracy:.3f}), below {_MIN_ACCURACY}: check the gradient, the "
                        "learning rate and the number of epochs, and that row 0 of Theta holds "
                        "the bias terms.")
    return (f"validation accuracy {valid_accuracy:.3f}, accuracy on a held-out test set "
            f"{test_accuracy:.3f}")


def _solve_ex12():
    def train_softmax(X_train, y_train, X_valid, y_valid, eta=0.5, n_epochs=5001, alpha=0.01,
                      patience=200, seed=42):
        """Batch gradient descent for softmax regression with l2 and early stopping."""

        def add_bias(X):
            return np.c_[np.ones(len(X)), X]

        def softmax(logits):
            exps = np.exp(logits - logits.max(axis=1, keepdims=True))  # stable
            return exps / exps.sum(axis=1, keepdims=True)

        def cross_entropy(Y_proba, Y_onehot):
            return -np.mean(np.sum(Y_onehot * np.log(Y_proba + 1e-9), axis=1))

        X_train_b, X_valid_b = add_bias(X_train), add_bias(X_valid)
        n_classes = int(max(y_train.max(), y_valid.max())) + 1
        Y_train = np.eye(n_classes)[y_train]  # one-hot targets
        Y_valid = np.eye(n_classes)[y_valid]
        m, n_inputs = X_train_b.shape

        rng = np.random.default_rng(seed)
        theta = rng.standard_normal((n_inputs, n_classes)) * 0.01
        best_loss, best_theta, epochs_without_progress = np.inf, theta.copy(), 0
        for _ in range(n_epochs):
            Y_proba = softmax(X_train_b @ theta)
            gradients = X_train_b.T @ (Y_proba - Y_train) / m
            gradients[1:] += alpha * theta[1:]  # l2 penalty, bias row left out
            theta = theta - eta * gradients

            valid_loss = cross_entropy(softmax(X_valid_b @ theta), Y_valid)
            valid_loss += alpha / 2 * np.sum(theta[1:] ** 2)
            if valid_loss < best_loss:
                best_loss, best_theta, epochs_without_progress = valid_loss, theta.copy(), 0
            else:
                epochs_without_progress += 1
                if epochs_without_progress >= patience:
                    break  # early stopping: validation loss stopped improving
        return best_theta

    return train_softmax


ex12 = Exercise(
    "ex12", "Softmax regression by batch gradient descent with early stopping (NumPy only)",
    _check_ex12,
    hint="""
    Add a column of ones to X, one-hot encode y with np.eye(n_classes)[y], start Theta with
    small random values of shape (n_features + 1, n_classes). Each epoch: probabilities =
    softmax(X_b @ Theta) (subtract the row maximum before np.exp), gradient =
    X_b.T @ (probabilities - Y_onehot) / m, Theta -= eta * gradient. After each step compute the
    cross-entropy on the validation set, keep a copy of the best Theta, and stop once it has not
    improved for a while. A learning rate around 0.5 and a few thousand epochs work on iris.
    """,
    solution=_solve_ex12,
)
