"""Exercises of chapter 6: decision trees.

Both checkers score the answer on fresh moons that the student never saw (10,000 points,
noise 0.4, a seed of their own), so a model cannot pass by memorizing its test set.
"""

from __future__ import annotations

import numpy as np

from helpers import env
from helpers.exercises import (
    Exercise,
    Incorrect,
    call_student,
    expect_array,
    expect_fitted,
    expect_returned,
)

MIN_TREE_ACCURACY = 0.84
VOTE_MARGIN = 0.01


def _fresh_moons():
    """10,000 moons from a seed used nowhere else: the checkers' independent test set."""
    from sklearn.datasets import make_moons

    return make_moons(n_samples=10_000, noise=0.4, random_state=2024)


def _exercise_split():
    """The split the prompts ask for: 10,000 moons, 20% held out."""
    from sklearn.datasets import make_moons
    from sklearn.model_selection import train_test_split

    X, y = make_moons(n_samples=10_000, noise=0.4, random_state=42)
    return train_test_split(X, y, test_size=0.2, random_state=42)


def _accuracy(predictions, y) -> float:
    predictions = expect_array(predictions, "predictions", shape=(len(y),))
    if not np.all(np.isin(predictions, (0, 1))):
        raise Incorrect("the predictions should be class labels, 0 or 1.")
    return float(np.mean(predictions == y))


# --------------------------------------------------------------------------- exercise 7


def _check_ex7(model):
    expect_fitted(model, "classifier")
    if getattr(model, "n_features_in_", 2) != 2:
        raise Incorrect(f"the model expects {model.n_features_in_} features; the moons have 2.")
    X_fresh, y_fresh = _fresh_moons()
    try:
        predictions = model.predict(X_fresh)
    except Exception as exc:  # noqa: BLE001
        raise Incorrect(f"model.predict failed on new moons: {type(exc).__name__}.") from None
    accuracy = _accuracy(predictions, y_fresh)
    if accuracy < MIN_TREE_ACCURACY:
        raise Incorrect(f"accuracy {accuracy:.3f} on 10,000 fresh moons is below {MIN_TREE_ACCURACY}: "
                        "the tree probably overfits. Regularize it (try a grid of max_leaf_nodes).")
    return f"accuracy {accuracy:.3f} on 10,000 fresh moons (the bar is {MIN_TREE_ACCURACY})."


def _solve_ex7():
    from sklearn.datasets import make_moons
    from sklearn.model_selection import GridSearchCV, train_test_split
    from sklearn.tree import DecisionTreeClassifier

    X_moons, y_moons = make_moons(n_samples=10_000, noise=0.4, random_state=42)
    X_train, X_test, y_train, y_test = train_test_split(X_moons, y_moons, test_size=0.2,
                                                        random_state=42)
    param_grid = env.pick(
        full={"max_leaf_nodes": list(range(2, 100)), "min_samples_split": [2, 3, 4]},
        quick={"max_leaf_nodes": list(range(4, 40, 2))},
    )
    grid_search = GridSearchCV(DecisionTreeClassifier(random_state=42), param_grid, cv=3)
    grid_search.fit(X_train, y_train)  # refit=True: the best tree is retrained on all of X_train
    best_tree = grid_search.best_estimator_
    print("Best hyperparameters:", grid_search.best_params_)
    print(f"Test accuracy: {best_tree.score(X_test, y_test):.4f}")
    return best_tree


ex7 = Exercise(
    "ex7", "Tune a decision tree on 10,000 noisy moons", _check_ex7,
    hint="""
    Generate the data with make_moons(n_samples=10_000, noise=0.4, random_state=42), split it
    with train_test_split(test_size=0.2, random_state=42), then run GridSearchCV on a
    DecisionTreeClassifier with a range of max_leaf_nodes (say 2 to 100) and cv=3. With the
    default refit=True, best_estimator_ is already retrained on the whole training set.
    """,
    solution=_solve_ex7,
)


# --------------------------------------------------------------------------- exercise 8


def _check_ex8(forest_predict):
    if not callable(forest_predict):
        raise Incorrect(f"expected a function forest_predict(X) that returns the majority vote, "
                        f"got a {type(forest_predict).__name__}.")
    from sklearn.tree import DecisionTreeClassifier

    X_fresh, y_fresh = _fresh_moons()
    predictions = call_student(forest_predict, X_fresh, what="forest_predict(X)")
    expect_returned(predictions, "forest_predict(X)", "one vote per row of X")
    vote_accuracy = _accuracy(np.ravel(predictions) if np.ndim(predictions) == 2 and
                              1 in np.shape(predictions) else predictions, y_fresh)
    X_train, _, y_train, _ = _exercise_split()
    single_tree = DecisionTreeClassifier(max_leaf_nodes=17, random_state=42).fit(X_train, y_train)
    tree_accuracy = single_tree.score(X_fresh, y_fresh)
    if vote_accuracy < tree_accuracy - VOTE_MARGIN:
        raise Incorrect(f"the vote scores {vote_accuracy:.3f} on 10,000 fresh moons, more than "
                        f"{VOTE_MARGIN} below a single tuned tree ({tree_accuracy:.3f}). Are the "
                        "small trees using the tuned hyperparameters, and is the vote taken "
                        "per instance (over the trees, not over the instances)?")
    return (f"majority vote {vote_accuracy:.3f} vs a single tuned tree {tree_accuracy:.3f} "
            "on 10,000 fresh moons.")


def _solve_ex8():
    from scipy.stats import mode
    from sklearn.datasets import make_moons
    from sklearn.model_selection import ShuffleSplit, train_test_split
    from sklearn.tree import DecisionTreeClassifier

    X_moons, y_moons = make_moons(n_samples=10_000, noise=0.4, random_state=42)
    X_train, X_test, y_train, y_test = train_test_split(X_moons, y_moons, test_size=0.2,
                                                        random_state=42)
    n_trees = env.pick(full=1_000, quick=100)
    best_params = {"max_leaf_nodes": 17}  # what the grid search of exercise 7 found
    subsets = ShuffleSplit(n_splits=n_trees, train_size=100, random_state=42)
    forest = []
    for subset_indices, _ in subsets.split(X_train):
        tree = DecisionTreeClassifier(**best_params, random_state=42)
        tree.fit(X_train[subset_indices], y_train[subset_indices])
        forest.append(tree)

    def forest_predict(X):
        votes = np.array([tree.predict(X) for tree in forest])  # shape (n_trees, n_instances)
        return mode(votes, axis=0).mode  # the most frequent class in each column

    tree_scores = [tree.score(X_test, y_test) for tree in forest]
    print(f"{n_trees} small trees, mean test accuracy: {np.mean(tree_scores):.4f}")
    print(f"Majority vote test accuracy: {np.mean(forest_predict(X_test) == y_test):.4f}")
    return forest_predict


ex8 = Exercise(
    "ex8", "Grow a forest of small trees and take the majority vote", _check_ex8,
    hint="""
    ShuffleSplit(n_splits=1000, train_size=100, random_state=42).split(X_train) yields the
    indices of 1,000 random subsets of 100 training instances. Fit one DecisionTreeClassifier
    with the tuned hyperparameters on each, stack their predictions into an array of shape
    (n_trees, n_instances), and take the most frequent class of each column with
    scipy.stats.mode(..., axis=0). Wrap that last step in a function of X.
    """,
    solution=_solve_ex8,
)
