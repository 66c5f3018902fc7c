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
#: With contradicting validation labels, the Theta an early-stopping loop keeps must have a
#: loss on them below this fraction of that of the Theta it returns for the true labels.
_EARLY_STOP_RATIO = 0.75


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


def _cross_entropy(theta: np.ndarray, X: np.ndarray, y: np.ndarray) -> float:
    logits = np.c_[np.ones(len(X)), X] @ theta
    logits = logits - logits.max(axis=1, keepdims=True)
    log_proba = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    return float(-np.mean(log_proba[np.arange(len(y)), y]))


def _check_ex12(train_softmax):
    """What the prompt asks for, and how it is checked:

    * a function ``train_softmax(X_train, y_train, X_valid, y_valid)`` that returns Theta
      (a returned None is named);
    * Theta of shape ``(n_features + 1, n_classes)``, bias row first (transposed is named);
    * batch gradient descent on the cross-entropy that works: at least 90% accuracy on 30
      test flowers the function never sees;
    * early stopping on the validation loss, keeping the best parameters: called again with
      validation labels that disagree with the training labels (each shifted to the next
      class), the validation loss can only rise as the model learns, so the Theta handed back
      must come from early in training: its loss on those labels must be clearly lower than
      that of the Theta returned for the true labels.
    """
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
    # Early stopping: with validation labels that contradict the training labels, the best
    # validation loss is reached at the start, and a loop that keeps the best Theta returns
    # parameters that are still close to uniform on that set.
    wrong_valid = (y_valid + 1) % n_classes
    stopped = call_student(train_softmax, X_train.copy(), y_train.copy(), X_valid.copy(),
                           wrong_valid.copy(), what="your training function")
    expect_returned(stopped, "your function", "the parameter matrix Theta")
    stopped = expect_array(stopped, "parameter matrix Theta", shape=(n_inputs, n_classes))
    wrong_loss = _cross_entropy(stopped, X_valid, wrong_valid)
    trained_loss = _cross_entropy(theta, X_valid, wrong_valid)
    if not wrong_loss < _EARLY_STOP_RATIO * trained_loss:
        raise Incorrect(
            "no early stopping found: called with validation labels that disagree with the "
            "training labels, the validation loss rises from the first epochs on, so the Theta "
            "kept should come from the start of training; yet its loss on those labels "
            f"({wrong_loss:.2f}) is about that of a fully trained Theta ({trained_loss:.2f}). "
            "Compute the validation loss every epoch, keep a copy of the best Theta, stop once "
            "it has not improved for a while, and return that best Theta.")
    return (f"validation accuracy {valid_accuracy:.3f}, accuracy on a held-out test set "
            f"{test_accuracy:.3f}; it stops early and keeps the best Theta")


ex12 = Exercise(
    "ex12", "Softmax regression by batch gradient descent with early stopping (NumPy only)",
    _check_ex12,
    hint="""
    Add a column of ones to X, one-hot encode y with np.eye(n_classes)[y], start Theta with
    small random values of shape (n_features + 1, n_classes). Each epoch: probabilities =
    softmax(X_b @ Theta) (subtract the row maximum before np.exp), gradient =
    X_b.T @ (probabilities - Y_onehot) / m, Theta -= eta * gradient. After each step compute the
    cross-entropy on the validation set, keep a copy of the best Theta, and stop once it has not
    improved for a while. A learning rate around 0.1 and a few thousand epochs work on iris.
    """,
    solution="""
    import numpy as np


    def train_softmax(X_train, y_train, X_valid, y_valid, eta=0.1, n_epochs=5001, alpha=0.01,
                      patience=200, seed=42):
        \"\"\"Batch gradient descent for softmax regression with l2 and early stopping.\"\"\"

        def with_bias(X):
            return np.c_[np.ones(len(X)), X]

        def probabilities(logits):
            exps = np.exp(logits - logits.max(axis=1, keepdims=True))  # no overflow
            return exps / exps.sum(axis=1, keepdims=True)

        def mean_cross_entropy(proba, onehot):
            return -np.mean(np.sum(onehot * np.log(proba + 1e-9), axis=1))

        Xb_train, Xb_valid = with_bias(X_train), with_bias(X_valid)
        n_classes = int(max(y_train.max(), y_valid.max())) + 1
        Y_train, Y_valid = np.eye(n_classes)[y_train], np.eye(n_classes)[y_valid]  # one-hot

        rng = np.random.default_rng(seed)
        theta = rng.standard_normal((Xb_train.shape[1], n_classes)) * 0.01
        best_loss, best_theta, stale_epochs = np.inf, theta.copy(), 0
        for _ in range(n_epochs):
            gradients = Xb_train.T @ (probabilities(Xb_train @ theta) - Y_train) / len(Xb_train)
            gradients[1:] += alpha * theta[1:]  # l2 penalty, bias row left out
            theta = theta - eta * gradients

            valid_loss = mean_cross_entropy(probabilities(Xb_valid @ theta), Y_valid)
            valid_loss += alpha / 2 * np.sum(theta[1:] ** 2)
            if valid_loss < best_loss:
                best_loss, best_theta, stale_epochs = valid_loss, theta.copy(), 0
            else:
                stale_epochs += 1
                if stale_epochs >= patience:
                    break  # early stopping: the validation loss stopped improving
        return best_theta
    """,
    defines="train_softmax",
)
