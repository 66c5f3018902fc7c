"""Exercises of chapter 8: dimensionality reduction.

Both checkers work on MNIST through ``helpers.data.load_mnist()``, so their data follows the
mode: in quick mode the 8,000 "training" and 2,000 test images come from the official test
file, in full mode the official 60,000 / 10,000 split is used.
"""

from __future__ import annotations

import numpy as np

from helpers import env
from helpers.exercises import Exercise, Incorrect, a_type, expect_array, expect_fitted

# Exercise 9: test accuracy the PCA + random forest pipeline must reach. The book reports
# about 0.95 with 60,000 training images; quick mode trains on 8,000 and gets a little less.
MIN_PCA_FOREST_ACCURACY = {"full": 0.93, "quick": 0.90}
MIN_VARIANCE_KEPT = 0.94

# Exercise 10: how many images the embedding covers (the first n training images, the prompt
# suggests 5,000 in full mode and 1,000 in quick mode), and the 5-nearest-neighbours accuracy
# (5-fold cross-validation on the 2-D points) that a class-separating embedding reaches.
TSNE_SIZE = {"full": 5_000, "quick": 1_000}
MIN_TSNE_SIZE = 1_000
MIN_EMBEDDING_KNN_ACCURACY = 0.75


# --------------------------------------------------------------------------- exercise 9


def _check_ex9(model):
    """What the prompt asks for, and how it is checked:

    * a fitted Pipeline: a PCA step, then a ``RandomForestClassifier`` as the last step
      (a missing PCA, another classifier, a bare model are named);
    * the PCA keeps 95% of the variance (less than 94% is named);
    * it takes the 784 raw pixels (scaling, if any, inside the pipeline);
    * test accuracy above the bar of the mode (0.93 full, 0.90 quick).

    Left to the student (not checked): the comparison of training times.
    """
    from sklearn.decomposition import PCA, IncrementalPCA
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.pipeline import Pipeline

    from helpers.data import load_mnist

    if not isinstance(model, Pipeline):
        raise Incorrect(f"expected a scikit-learn Pipeline (PCA, then a random forest), "
                        f"got {a_type(model)}.")
    expect_fitted(model, "pipeline")
    steps = [step for _, step in model.steps]
    reducers = [step for step in steps[:-1] if isinstance(step, PCA | IncrementalPCA)]
    if not reducers:
        raise Incorrect("the pipeline has no PCA step before the classifier.")
    if not isinstance(steps[-1], RandomForestClassifier):
        raise Incorrect(f"the last step should be a RandomForestClassifier, "
                        f"not a {type(steps[-1]).__name__}.")
    if getattr(model, "n_features_in_", 784) != 784:
        raise Incorrect(f"the pipeline was trained on {model.n_features_in_} features; it should "
                        f"take the 784 raw pixels of each image (PCA belongs inside the pipeline).")
    kept = float(np.sum(reducers[0].explained_variance_ratio_))
    if kept < MIN_VARIANCE_KEPT:
        raise Incorrect(f"the PCA step keeps only {kept:.1%} of the variance; the exercise asks "
                        f"for 95% (n_components=0.95).")
    _, (X_test, y_test) = load_mnist()
    accuracy = float(np.mean(model.predict(X_test) == y_test))
    bar = MIN_PCA_FOREST_ACCURACY[env.mode()]
    if accuracy < bar:
        raise Incorrect(f"test accuracy {accuracy:.3f} is below {bar} ({env.mode()} mode; the bar "
                        f"is {MIN_PCA_FOREST_ACCURACY['full']} in full mode and "
                        f"{MIN_PCA_FOREST_ACCURACY['quick']} in quick mode). The pipeline gets the "
                        f"raw test pixels (0-255): if you scaled the images, scale inside the "
                        f"pipeline, and train on the whole training set.")
    n_components = reducers[0].n_components_
    return f"{n_components} principal components, test accuracy {accuracy:.3f}"


ex9 = Exercise(
    "ex9", "A random forest on MNIST, with and without PCA", _check_ex9,
    hint="""
    Time `RandomForestClassifier(random_state=42).fit(X_train, y_train)` with
    `time.perf_counter()` before and after, and score it on the test set. Then build
    `make_pipeline(PCA(n_components=0.95), RandomForestClassifier(random_state=42))`, fit it on
    the same raw pixels and compare the time and the accuracy. Pass the fitted pipeline.
    """,
    solution="""
    import time

    from sklearn.decomposition import PCA
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.pipeline import make_pipeline

    from helpers.data import load_mnist

    (X_train, y_train), (X_test, y_test) = load_mnist()

    models = {
        "forest on 784 pixels": RandomForestClassifier(random_state=42, n_jobs=-1),
        "PCA (95%) + forest": make_pipeline(PCA(n_components=0.95, random_state=42),
                                           RandomForestClassifier(random_state=42, n_jobs=-1)),
    }
    for name, model in models.items():
        start = time.perf_counter()
        model.fit(X_train, y_train)
        seconds = time.perf_counter() - start
        print(f"{name:<22} trained in {seconds:5.1f} s, "
              f"test accuracy {model.score(X_test, y_test):.3f}")
    pca_forest = models["PCA (95%) + forest"]
    """,
    defines="pca_forest",
)


# --------------------------------------------------------------------------- exercise 10


def _knn_accuracy(embedding, y) -> float:
    from sklearn.model_selection import cross_val_score
    from sklearn.neighbors import KNeighborsClassifier

    return float(cross_val_score(KNeighborsClassifier(n_neighbors=5), embedding, y, cv=5).mean())


def _check_ex10(embedding):
    """What the prompt asks for, and how it is checked:

    * an array with one row per image and 2 columns (a transposed or 3-D one is named);
    * for the first n training images in their original order, n at least 1,000 (the prompt
      suggests 5,000 in full mode and 1,000 in quick mode);
    * a real embedding (not constant), that separates the digits: 5-nearest-neighbours
      accuracy of at least 0.75 on the 2-D points.

    Left to the student (not checked): the plot, and the other methods (PCA, LLE, MDS).
    """
    from helpers.data import load_mnist

    (_, y_train), _ = load_mnist()
    suggested = TSNE_SIZE[env.mode()]
    shape_note = (f"one row per image and 2 columns, for the first n training images, with n of "
                  f"at least {MIN_TSNE_SIZE:,} ({suggested:,} in {env.mode()} mode)")
    shape = np.shape(embedding)
    if len(shape) == 2 and shape[0] == 2 and shape[1] >= MIN_TSNE_SIZE:
        raise Incorrect(f"the embedding has shape {shape}: it looks transposed. Expected "
                        f"{shape_note}.")
    embedding = expect_array(embedding, "embedding", shape=(None, 2))
    size = len(embedding)
    if not MIN_TSNE_SIZE <= size <= len(y_train):
        raise Incorrect(f"the embedding has {size:,} rows. Expected {shape_note}.")
    if np.unique(embedding, axis=0).shape[0] < size // 2:
        raise Incorrect("most points share exactly the same coordinates: this does not look "
                        "like a 2-D embedding of the images.")
    accuracy = _knn_accuracy(embedding, y_train[:size])
    if accuracy < MIN_EMBEDDING_KNN_ACCURACY:
        raise Incorrect(f"the classes are not well separated: a 5-nearest-neighbours classifier on "
                        f"your 2-D points reaches {accuracy:.3f} accuracy (cross-validated), below "
                        f"{MIN_EMBEDDING_KNN_ACCURACY}. Use t-SNE on the first {size:,} images, in "
                        "their original order, scaled to [0, 1].")
    return f"{size:,} images; 5-nearest-neighbours accuracy on the embedding {accuracy:.3f}"


ex10 = Exercise(
    "ex10", "Visualize MNIST with t-SNE", _check_ex10,
    hint="""
    Take the first `env.pick(full=5_000, quick=1_000)` training images (scaled to 0-1) and
    call `TSNE(n_components=2, init="pca", random_state=42).fit_transform(...)`. Scatter the
    result with `c=y` and a 10-colour map such as "tab10". Then try `PCA`,
    `LocallyLinearEmbedding` or `MDS` on the same images and compare the pictures.
    """,
    solution="""
    import matplotlib.pyplot as plt
    from sklearn.manifold import TSNE

    from helpers.data import load_mnist

    (X_train, y_train), _ = load_mnist()
    n_images = 1_000  # t-SNE takes much longer with more points: try 5,000 when you have time
    X_tsne = TSNE(n_components=2, init="pca", learning_rate="auto",
                  random_state=42).fit_transform(X_train[:n_images] / 255)

    fig, ax = plt.subplots(figsize=(7, 6))
    points = ax.scatter(X_tsne[:, 0], X_tsne[:, 1], c=y_train[:n_images], cmap="tab10", s=6)
    fig.colorbar(points, ax=ax, label="digit")
    ax.set_title(f"t-SNE of the first {n_images:,} MNIST images")
    ax.axis("off")
    plt.show()
    """,
    defines="X_tsne",
)
