"""Exercises of chapter 6: decision trees.

Both checkers score the answer on fresh moons that the student never saw (10,000 points,
noise 0.4, a seed of their own), so a model cannot pass by memorizing its test set. Exercise 7
also checks, with ``helpers.exercises.leakage``, that the tree learnt from the training set
the prompt names, and from nothing else.
"""

from __future__ import annotations

import numpy as np

from helpers.exercises import (
    Exercise,
    Incorrect,
    a_type,
    call_student,
    expect_array,
    expect_fitted,
    expect_returned,
    leakage,
)

MIN_TREE_ACCURACY = 0.84
VOTE_MARGIN = 0.01
#: A single tree with up to this many leaves (+1) cannot cut a grid at more places.
_SINGLE_TREE_CUTS = 45


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


def _training_evidence(model, tree, X_train, X_test, y_train, y_test, X_fresh, y_fresh):
    """Raise Incorrect unless the tree (and any step before it) learnt from the 8,000 training
    moons and nothing else."""
    scored = leakage.Scored(
        X_test, y_test, what="test moons", n_train=len(X_train), train="the training set",
        unit="moons",
        reference=(X_fresh, y_fresh, "1,000 fresh moons"),
        fix="Fit it on X_train, y_train only (the 8,000 training moons of the prompt's split): "
            "the test moons are there to measure the finished tree.")
    leakage.expect_unseen(model, scored)
    everything = (np.r_[X_train, X_test], np.r_[y_train, y_test])
    found = leakage.refitted_on(model, {"the 2,000 test moons": (X_test, y_test),
                                        "all 10,000 moons": everything}, X_fresh[:2_000])
    if found is not None:
        raise leakage.leak(scored, f"a fresh copy fitted on {found} makes the very same "
                                   "predictions")
    rows = leakage.rows_learnt(tree)
    if rows != len(X_train):
        raise Incorrect(f"the tree was trained on {rows:,} moons; step 4 asks to train it on the "
                        f"full training set, all {len(X_train):,} moons of X_train (GridSearchCV's "
                        "refit=True does it for you).")


def _check_ex7(model):
    """What the prompt asks for, and how it is checked:

    * a fitted ``DecisionTreeClassifier``, alone, at the end of a pipeline, or the fitted grid
      search around one (unwrapped by ``leakage.final_estimator``); another model, a random
      forest included, is named;
    * trained on the moons' two features;
    * trained on the full training set of the prompt's split, and on nothing else: no fitted
      part learnt from more than its 8,000 moons (a scaler in a pipeline included), the tree
      does not fit the 2,000 test moons clearly better than fresh ones, and a fresh copy
      fitted on the test moons or on all 10,000 must not make the very same predictions
      (each named as data leakage); then the tree's root node must hold all 8,000 training
      moons (a subset is named);
    * regularized well: at least 0.84 accuracy on 10,000 fresh moons. Below that, the message
      says whether the tree was trained on moons scaled outside it, underfits (too few
      leaves: as bad on its training set) or overfits (much better on its training set).

    Not verified: that the hyperparameters came from a grid search.
    """
    from sklearn.tree import DecisionTreeClassifier

    tree = leakage.final_estimator(model)
    expect_fitted(tree, "decision tree")
    if not isinstance(tree, DecisionTreeClassifier):
        raise Incorrect(f"the exercise asks for a single DecisionTreeClassifier (or the grid "
                        f"search around one), got {a_type(tree)}.")
    if getattr(tree, "n_features_in_", 2) != 2:
        raise Incorrect(f"the model expects {tree.n_features_in_} features; the moons have 2.")
    fitted = getattr(model, "best_estimator_", model)
    X_fresh, y_fresh = _fresh_moons()
    try:
        predictions = fitted.predict(X_fresh)
    except Exception as exc:  # noqa: BLE001
        raise Incorrect(f"model.predict failed on new moons: {type(exc).__name__}.") from None
    accuracy = _accuracy(predictions, y_fresh)
    X_train, X_test, y_train, y_test = _exercise_split()
    _training_evidence(fitted, tree, X_train, X_test, y_train, y_test, X_fresh, y_fresh)
    if accuracy < MIN_TREE_ACCURACY:
        leakage.refuse_scaled_outside(
            lambda X: float(np.mean(fitted.predict(X) == y_fresh)), X_fresh, X_train,
            good=MIN_TREE_ACCURACY, raw_score=accuracy, what="your tree")
        train_accuracy = float(np.mean(fitted.predict(X_train) == y_train))
        leaves = tree.get_n_leaves()
        if train_accuracy - accuracy > 0.03:
            raise Incorrect(f"accuracy {accuracy:.3f} on 10,000 fresh moons, below "
                            f"{MIN_TREE_ACCURACY}, while it scores {train_accuracy:.3f} on the "
                            f"training set: the tree ({leaves} leaves) overfits. Regularize it "
                            "(try a grid of max_leaf_nodes).")
        raise Incorrect(f"accuracy {accuracy:.3f} on 10,000 fresh moons, below "
                        f"{MIN_TREE_ACCURACY}, and about as low on the training set "
                        f"({train_accuracy:.3f}): the tree ({leaves} leaves, depth "
                        f"{tree.get_depth()}) underfits. Give it more room: search larger "
                        "values of max_leaf_nodes or max_depth.")
    return (f"{tree.get_n_leaves()} leaves, accuracy {accuracy:.3f} on 10,000 fresh moons "
            f"(the bar is {MIN_TREE_ACCURACY}).")


ex7 = Exercise(
    "ex7", "Tune a decision tree on 10,000 noisy moons", _check_ex7,
    hint="""
    Generate the data with make_moons(n_samples=10_000, noise=0.4, random_state=42), split it
    with train_test_split(test_size=0.2, random_state=42), then run GridSearchCV on a
    DecisionTreeClassifier with a range of max_leaf_nodes (say 2 to 100) and cv=3. With the
    default refit=True, best_estimator_ is already retrained on the whole training set.
    """,
    solution="""
    from sklearn.datasets import make_moons
    from sklearn.model_selection import GridSearchCV, train_test_split
    from sklearn.tree import DecisionTreeClassifier

    X_moons, y_moons = make_moons(n_samples=10_000, noise=0.4, random_state=42)
    X_train, X_test, y_train, y_test = train_test_split(X_moons, y_moons, test_size=0.2,
                                                        random_state=42)
    param_grid = {"max_leaf_nodes": list(range(2, 100))}
    grid_search = GridSearchCV(DecisionTreeClassifier(random_state=42), param_grid, cv=3)
    grid_search.fit(X_train, y_train)  # refit=True: the best tree is retrained on all of X_train
    best_tree = grid_search.best_estimator_
    print("Best hyperparameters:", grid_search.best_params_)
    print(f"Test accuracy: {best_tree.score(X_test, y_test):.4f}")
    """,
    defines="best_tree",
)


# --------------------------------------------------------------------------- exercise 8


def _boundary_cuts(forest_predict) -> int:
    """How many distinct places, along the rows and the columns of a grid over the moons, the
    predicted class changes. A tree with L leaves cuts at no more than L - 1 places; a vote
    over many trees trained on different subsets cuts at many more."""
    xs, ys = np.linspace(-1.5, 2.5, 150), np.linspace(-1.0, 1.5, 150)
    grid = np.array([[x, y] for y in ys for x in xs])
    labels = np.ravel(np.asarray(call_student(forest_predict, grid, what="forest_predict(X)")))
    labels = labels.reshape(len(ys), len(xs))
    column_cuts = np.flatnonzero(np.any(labels[:, 1:] != labels[:, :-1], axis=0))
    row_cuts = np.flatnonzero(np.any(labels[1:, :] != labels[:-1, :], axis=1))
    return len(column_cuts) + len(row_cuts)


def _check_ex8(forest_predict):
    """What the prompt asks for, and how it is checked:

    * a function ``forest_predict(X)`` returning one class (0 or 1) per row of X (None, every
      tree's votes instead of their mode, and wrong shapes are named);
    * a majority vote over many trees trained on different subsets: its decision boundary
      must be finer than any single small tree's (a single tree's predictions are named);
    * at most one point below a single tree tuned as in exercise 7 and trained on the full
      training set, on 10,000 fresh moons (the bar the prompt states).

    Not verified: how the trees were trained (the function is opaque), their number and
    subsets, and their own accuracy. Fresh moons are out of every student's reach, so trees
    that learnt from the test split gain nothing here.
    """
    if not callable(forest_predict):
        raise Incorrect(f"expected a function forest_predict(X) that returns the majority vote, "
                        f"got {a_type(forest_predict)}.")
    from sklearn.tree import DecisionTreeClassifier

    X_fresh, y_fresh = _fresh_moons()
    predictions = call_student(forest_predict, X_fresh, what="forest_predict(X)")
    expect_returned(predictions, "forest_predict(X)", "one vote per row of X")
    shape = np.shape(predictions)
    if len(shape) == 2 and shape[1] == len(X_fresh) and shape[0] > 1:
        raise Incorrect(f"forest_predict returned an array of shape {shape}: every tree's vote. "
                        "Keep only the most frequent class of each column (scipy.stats.mode(..., "
                        "axis=0)), one per instance.")
    vote_accuracy = _accuracy(np.ravel(predictions) if len(shape) == 2 and 1 in shape
                              else predictions, y_fresh)
    X_train, _, y_train, _ = _exercise_split()
    single_tree = DecisionTreeClassifier(max_leaf_nodes=17, random_state=42).fit(X_train, y_train)
    tree_accuracy = single_tree.score(X_fresh, y_fresh)
    if vote_accuracy < tree_accuracy - VOTE_MARGIN:
        raise Incorrect(f"the vote scores {vote_accuracy:.3f} on 10,000 fresh moons, more than "
                        f"{VOTE_MARGIN} below a single tuned tree ({tree_accuracy:.3f}). Are the "
                        "small trees using the tuned hyperparameters, and is the vote taken "
                        "per instance (over the trees, not over the instances)?")
    cuts = _boundary_cuts(forest_predict)
    if cuts <= _SINGLE_TREE_CUTS:
        raise Incorrect(f"the boundary of forest_predict cuts the plane at only {cuts} place{'' if cuts == 1 else 's'},"
                        " as a single small tree does: the predictions look like one tree's. Take "
                        "the majority vote of the 1,000 trees' predictions for each instance.")
    return (f"majority vote {vote_accuracy:.3f} vs a single tuned tree {tree_accuracy:.3f} "
            "on 10,000 fresh moons.")


ex8 = Exercise(
    "ex8", "Grow a forest of small trees and take the majority vote", _check_ex8,
    hint="""
    ShuffleSplit(n_splits=1000, train_size=100, random_state=42).split(X_train) yields the
    indices of 1,000 random subsets of 100 training instances. Fit one DecisionTreeClassifier
    with the tuned hyperparameters on each, stack their predictions into an array of shape
    (n_trees, n_instances), and take the most frequent class of each column with
    scipy.stats.mode(..., axis=0). Wrap that last step in a function of X.
    """,
    solution="""
    import numpy as np
    from scipy.stats import mode
    from sklearn.datasets import make_moons
    from sklearn.model_selection import ShuffleSplit, train_test_split
    from sklearn.tree import DecisionTreeClassifier

    X_moons, y_moons = make_moons(n_samples=10_000, noise=0.4, random_state=42)
    X_train, X_test, y_train, y_test = train_test_split(X_moons, y_moons, test_size=0.2,
                                                        random_state=42)
    n_trees = 1_000
    best_params = {"max_leaf_nodes": 17}  # what the grid search of exercise 7 found
    subsets = ShuffleSplit(n_splits=n_trees, train_size=100, random_state=42)
    forest = []
    for subset_indices, _ in subsets.split(X_train):
        tree = DecisionTreeClassifier(**best_params, random_state=42)
        forest.append(tree.fit(X_train[subset_indices], y_train[subset_indices]))


    def forest_predict(X):
        votes = np.array([tree.predict(X) for tree in forest])  # shape (n_trees, n_instances)
        return mode(votes, axis=0).mode.ravel()  # the most frequent class of each column


    tree_scores = [tree.score(X_test, y_test) for tree in forest]
    print(f"{n_trees} small trees, mean test accuracy: {np.mean(tree_scores):.4f}")
    print(f"Majority vote test accuracy: {np.mean(forest_predict(X_test) == y_test):.4f}")
    """,
    defines="forest_predict",
)
