"""Exercises of chapter 7: ensemble learning and random forests.

Both exercises are scored on the test split that ``helpers.data.load_mnist()`` returns
(2,000 images in quick mode, the official 10,000 in full mode). Models must take the raw
pixels (784 integers from 0 to 255) as input: put any scaling inside a pipeline. Neither the
ensemble nor any member may have learnt from the test images (``helpers.exercises.leakage``).
"""

from __future__ import annotations

import numpy as np

from helpers import env
from helpers.data import load_mnist
from helpers.exercises import (
    Exercise,
    Incorrect,
    expect_fitted,
    expect_type,
    leakage,
    refuse_pixels_scaled_outside,
)

#: An ensemble passes if it is at most this far below its best member on the test set ...
TOLERANCE = 0.005
#: ... or if it reaches this bar (it depends on the mode: quick mode trains on less data).
BARS = {"quick": 0.95, "full": 0.97}
#: Below this accuracy an ensemble fails whatever its members do.
FLOOR = 0.90


def _bar() -> float:
    return BARS[env.mode()]


def _accuracy(model, X, y, what: str) -> float:
    try:
        predicted = np.asarray(model.predict(X))
    except Exception as exc:  # noqa: BLE001 - reported to the student in one line
        raise Incorrect(f"{what} could not predict the MNIST test images ({type(exc).__name__}: "
                        f"{exc}). Train it on the raw pixels that load_mnist() returns.") from None
    if predicted.shape != y.shape:
        raise Incorrect(f"{what} returned {predicted.shape[0] if predicted.ndim else 0} "
                        f"predictions for {len(y)} images.")
    return float(np.mean(predicted == y))


def _scored_images(X_train, y_train, X_test, y_test) -> leakage.Scored:
    return leakage.Scored(
        X_test, y_test, what="test images", n_train=len(X_train), train="the training images",
        unit="images",
        reference=(X_train, y_train, "1,000 training images"), augmented=True,
        fix="Train the members (and the ensemble) on training images only, for example a "
            "subset of X_train: the test images are there to score the finished ensemble.")


def _check_ensemble(model, members, kind: str) -> str:
    """Score ``model`` and its fitted ``members`` (name, estimator) on the MNIST test set, after
    making sure that none of them has seen the test images."""
    classes = np.asarray(getattr(model, "classes_", []))
    if classes.shape != (10,) or not np.array_equal(classes, np.arange(10)):
        raise Incorrect(f"the {kind} should be trained on the integer labels 0-9 that "
                        f"load_mnist() returns (its classes_ are {classes.tolist()}).")
    if len(members) < 2:
        raise Incorrect(f"an ensemble needs at least two members; this {kind} has {len(members)}.")
    (X_train, y_train), (X_test, y_test) = load_mnist()
    accuracy = _accuracy(model, X_test, y_test, f"your {kind}")
    scores = {name: _accuracy(member, X_test, y_test, f"member '{name}'")
              for name, member in members}
    scored = _scored_images(X_train, y_train, X_test, y_test)
    leakage.expect_unseen(model, scored)
    for name, member in members:
        evidence = leakage.gap_evidence(member, scored)
        if evidence:
            raise leakage.leak(scored, f"member '{name}': {evidence}")
    best_name = max(scores, key=scores.get)
    best = scores[best_name]
    members_text = ", ".join(f"{name} {score:.4f}" for name, score in scores.items())
    bar = _bar()
    if accuracy < FLOOR or (accuracy < best - TOLERANCE and accuracy < bar):
        scaled = _accuracy(model, X_test / 255.0, y_test, f"your {kind}")
        refuse_pixels_scaled_outside(f"your {kind}", accuracy, scaled, good=FLOOR)
        leakage.refuse_scaled_outside(
            lambda X: _accuracy(model, X, y_test, f"your {kind}"), X_test, X_train, good=FLOOR,
            raw_score=accuracy, what=f"your {kind}")
    if accuracy < FLOOR:
        raise Incorrect(f"the {kind}'s test accuracy is {accuracy:.4f}, below {FLOOR}: "
                        f"train stronger members (members: {members_text}).")
    if accuracy < best - TOLERANCE and accuracy < bar:
        raise Incorrect(
            f"the {kind}'s test accuracy ({accuracy:.4f}) is more than {TOLERANCE} below its "
            f"best member ('{best_name}', {best:.4f}), and below the bar of {bar} for "
            f"{env.mode()} mode. Members: {members_text}. Try other members, drop a weak one, "
            f"or change how their predictions are combined.")
    return f"{kind} test accuracy {accuracy:.4f}; members: {members_text}."

# --------------------------------------------------------------------------- exercise 8


def _check_ex8(voting_clf):
    """What the prompt asks for, and how it is checked:

    * a fitted ``VotingClassifier`` (another ensemble or a single model is named), with at
      least two members;
    * trained on raw MNIST pixels with the integer labels 0-9 (members trained on pixels
      scaled outside the model are detected and named);
    * trained on training images only (``leakage.expect_unseen``): no fitted part learnt from
      exactly the training and the test images together (an augmented training set is
      fine), no training row kept by a k-NN or SVM member is a test image, and neither the
      ensemble nor any member fits 1,000 test images clearly better than 1,000 training
      images; each is named as data leakage;
    * at least as good as its best member, within 0.005 on the test split, or at or above
      the bar of the mode (0.95 quick, 0.97 full), and in any case at or above 0.90.

    Not verified: the comparison on the student's validation set, which the check never sees.
    """
    from sklearn.ensemble import VotingClassifier

    expect_type(voting_clf, VotingClassifier, "a fitted VotingClassifier")
    expect_fitted(voting_clf, "voting classifier")
    members = [(name, member) for name, member in voting_clf.named_estimators_.items()
               if member != "drop"]
    return _check_ensemble(voting_clf, members, "voting classifier")


ex8 = Exercise(
    "ex8",
    "A voting ensemble on MNIST, compared with its members",
    _check_ex8,
    hint="""
    Train a few classifiers that make different kinds of mistakes (a random forest, an
    extra-trees classifier, a k-nearest-neighbours classifier, a scaled SVC...) on a subset
    of the training images, and look at each one's accuracy on a validation set. Then wrap
    them in a VotingClassifier and try voting="hard" and voting="soft". If one member
    is much weaker than the others, dropping it often helps. Keep the models on raw pixels
    (scaling goes inside a pipeline) and the labels as the integers load_mnist() returns.
    """,
    solution="""
    from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier, VotingClassifier
    from sklearn.model_selection import train_test_split
    from sklearn.neighbors import KNeighborsClassifier

    from helpers.data import load_mnist

    (X_pool, y_pool), (X_test, y_test) = load_mnist()
    # A few thousand images are enough to see the effect: 8,000 to train, 2,000 to compare
    # (6,000 and 2,000 in quick mode, where load_mnist() gives 8,000 training images).
    X_train, X_valid, y_train, y_valid = train_test_split(
        X_pool[:10_000], y_pool[:10_000], test_size=2_000, random_state=42)

    # Three diverse members: two kinds of forests and a nearest-neighbours classifier.
    voting_ensemble = VotingClassifier(
        estimators=[
            ("random_forest", RandomForestClassifier(n_estimators=100, random_state=42)),
            ("extra_trees", ExtraTreesClassifier(n_estimators=100, random_state=42)),
            ("knn", KNeighborsClassifier(n_neighbors=4, weights="distance")),
        ],
        voting="soft",  # average the class probabilities: confident votes weigh more
    )
    voting_ensemble.fit(X_train, y_train)

    # Compare the ensemble with its members on images none of them was trained on.
    for name, member in voting_ensemble.named_estimators_.items():
        print(f"{name:>13}: {member.score(X_valid, y_valid):.4f}")
    print(f"{'soft voting':>13}: {voting_ensemble.score(X_valid, y_valid):.4f}")
    """,
    defines="voting_ensemble",
)


# --------------------------------------------------------------------------- exercise 9


#: The blender of a cv="prefit" stack is refitted on a k-NN member's training rows (to see
#: whether it learnt from them) only up to this many rows: their features cost a k-NN search.
MAX_MEMBER_ROWS_REFIT = 5_000


def _expect_blender_on_blending_set(stacking_clf, X_test, y_test, scored) -> None:
    """With cv="prefit", the blender must learn from rows that neither the members nor the test
    split hold: a fresh copy fitted on the test images' features, or on those of a k-NN
    member's training rows, must not reproduce its outputs."""
    features = stacking_clf.transform(X_test)
    candidates = {"the test images": (features, y_test)}
    for _, member in stacking_clf.named_estimators_.items():
        knn = leakage.final_estimator(member)
        rows = getattr(knn, "_fit_X", None)
        if (rows is not None and getattr(knn, "_y", None) is not None and member is knn
                and len(rows) <= MAX_MEMBER_ROWS_REFIT):
            labels = np.asarray(knn.classes_)[np.asarray(knn._y)]
            candidates["the members' own training images"] = (stacking_clf.transform(rows), labels)
            break
    found = leakage.refitted_on(stacking_clf.final_estimator_, candidates, features[:500])
    if found == "the test images":
        raise leakage.leak(scored, "its blender (final_estimator_) was fitted on the members' "
                                   "predictions for the test images: a fresh copy fitted on "
                                   "them gives the very same outputs")
    if found is not None:
        raise Incorrect("the blender (final_estimator_) was fitted on the images the members were "
                        "trained on (a fresh copy fitted on them gives the very same outputs). "
                        "On those images the members are right almost always, so what the "
                        "blender learns about them does not hold on new images: fit the stack "
                        "on a separate blending set, images the members have never seen.")


def _check_ex9(stacking_clf):
    """What the prompt asks for, and how it is checked:

    * a fitted ``StackingClassifier`` (a voting ensemble or a single model is named), with at
      least two members and a trained blender;
    * trained on raw MNIST pixels with the integer labels 0-9 (scaling outside the model is
      detected and named);
    * trained on training images only, checked like exercise 8 (counts, rows kept by k-NN or
      SVM members, score gaps of the stack and each member), each named as data leakage;
    * with ``cv="prefit"``, the blender fitted on a blending set: a fresh copy of it fitted on
      the members' outputs for the test images must not reproduce its outputs (data leakage),
      nor one fitted on a k-NN member's own training images, when there are at most 5,000
      (on the members' training images their outputs are nearly always right, unlike on new
      images);
    * checked like exercise 8: close to or above its best member, or above the bar, and above
      0.90.

    Not verified: a blender that learnt from the members' training images when no member is a
    k-NN with at most 5,000 of them, or when the blender's fit is random (a forest without
    random_state): neither the blender nor the stack records which rows it was fitted on.
    """
    from sklearn.ensemble import StackingClassifier

    expect_type(stacking_clf, StackingClassifier, "a fitted StackingClassifier")
    expect_fitted(stacking_clf, "stacking classifier")
    members = [(name, member) for name, member in stacking_clf.named_estimators_.items()
               if member != "drop"]
    verdict = _check_ensemble(stacking_clf, members, "stacking classifier")
    if stacking_clf.cv == "prefit":
        (X_train, y_train), (X_test, y_test) = load_mnist()
        _expect_blender_on_blending_set(stacking_clf, X_test, y_test,
                                        _scored_images(X_train, y_train, X_test, y_test))
    return verdict

ex9 = Exercise(
    "ex9",
    "A stacking ensemble (members plus a trained blender) on MNIST",
    _check_ex9,
    hint="""
    The blender must learn from predictions the members made on images they were not
    trained on. By hand: fit the members on a training subset, stack their predictions
    for a separate blending (validation) subset with np.column_stack, and fit the blender
    on those columns. To hand in a single model, wrap the already-fitted members in
    StackingClassifier(..., cv="prefit") and fit it on the blending subset; or let
    StackingClassifier(..., cv=3) do the cross-validated version on the training subset
    (slower, since it fits every member cv + 1 times).
    """,
    solution="""
    from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier, StackingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.neighbors import KNeighborsClassifier

    from helpers.data import load_mnist

    (X_pool, y_pool), (X_test, y_test) = load_mnist()
    X_train, X_blend, y_train, y_blend = train_test_split(
        X_pool[:10_000], y_pool[:10_000], test_size=3_000, random_state=42)

    # 1. Train the members on the training subset.
    members = [
        ("random_forest", RandomForestClassifier(n_estimators=100, random_state=42)),
        ("extra_trees", ExtraTreesClassifier(n_estimators=100, random_state=42)),
        ("knn", KNeighborsClassifier(n_neighbors=4, weights="distance")),
    ]
    for _, member in members:
        member.fit(X_train, y_train)

    # 2. Train the blender on the members' predictions for images they have never seen.
    #    cv="prefit" keeps the members as they are; fit() only trains the final estimator,
    #    on the class probabilities the members give for X_blend (3 members x 10 classes).
    stacking_ensemble = StackingClassifier(
        members,
        final_estimator=LogisticRegression(max_iter=1_000, random_state=42),
        cv="prefit",
    )
    stacking_ensemble.fit(X_blend, y_blend)
    print(f"stacking, test accuracy: {stacking_ensemble.score(X_test, y_test):.4f}")
    """,
    defines="stacking_ensemble",
)
