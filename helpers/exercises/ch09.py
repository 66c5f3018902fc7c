"""Exercises of chapter 9: unsupervised learning techniques.

The book's exercises use the Olivetti faces, which need a download that the offline course
mirror does not hold. We use scikit-learn's bundled digits instead (1,797 images of 8x8
pixels, 10 classes): the same four tasks (cluster the images, use clusters as features,
a Gaussian mixture as a generative model and anomaly detector, PCA reconstruction error)
work on them unchanged, and they load instantly without a network.
"""

from __future__ import annotations

import numpy as np
from sklearn.cluster import KMeans, MiniBatchKMeans
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA, IncrementalPCA
from sklearn.metrics import accuracy_score, roc_auc_score, silhouette_score
from sklearn.mixture import BayesianGaussianMixture, GaussianMixture
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline

from helpers import env
from helpers.exercises import Exercise, Incorrect, expect_array, expect_fitted, expect_type

__all__ = ["ex10", "ex11", "ex12", "ex13", "load_digit_splits", "rotate_digits"]

MIN_SILHOUETTE = 0.14
MIN_ACCURACY = 0.93
MIN_GMM_AUC = 0.90
MIN_PCA_AUC = 0.95


def load_digit_splits():
    """The digits scaled to [0, 1], split 60/20/20 into train, validation and test sets.

    The splits are stratified (the same share of each digit in every set) and seeded, so
    the notebook and the checkers see the same sets. Returns
    ``X_train, X_valid, X_test, y_train, y_valid, y_test``.
    """
    digits = load_digits()
    X = digits.data / 16.0  # pixel intensities go from 0 to 16
    y = digits.target
    X_rest, X_test, y_rest, y_test = train_test_split(
        X, y, test_size=0.2, stratify=y, random_state=42)
    X_train, X_valid, y_train, y_valid = train_test_split(
        X_rest, y_rest, test_size=0.25, stratify=y_rest, random_state=42)
    return X_train, X_valid, X_test, y_train, y_valid, y_test


def rotate_digits(X):
    """Rotate flattened 8x8 digit images by 90 degrees (an easy kind of anomaly)."""
    X = np.asarray(X)
    return np.rot90(X.reshape(-1, 8, 8), axes=(1, 2)).reshape(len(X), 64)


# --------------------------------------------------------------------------- shared checks


def _expect_64_features(model, what):
    n_features = getattr(model, "n_features_in_", None)
    if n_features != 64:
        raise Incorrect(f"the {what} was fitted on {n_features} features; fit it on the "
                        "64 pixel values of the digits (e.g. X_train).")


def _candidate_scales():
    """The test digits as the notebook gives them (0 to 1) and as raw pixels (0 to 16)."""
    *_, X_test, _, _, y_test = load_digit_splits()
    return [(X_test, y_test), (X_test * 16.0, y_test)]


def _contains_kmeans(model):
    if isinstance(model, (KMeans, MiniBatchKMeans)):
        return True
    try:
        parts = model.get_params(deep=True).values()
    except Exception:  # noqa: BLE001 - not a scikit-learn estimator
        return False
    return any(isinstance(part, (KMeans, MiniBatchKMeans)) for part in parts)


def _anomaly_auc(normal_scores, odd_scores):
    """ROC AUC of telling modified images (positives) from normal ones by a higher score."""
    labels = np.r_[np.zeros(len(normal_scores)), np.ones(len(odd_scores))]
    return roc_auc_score(labels, np.r_[normal_scores, odd_scores])


# --------------------------------------------------------------------------- exercise 10


def _check_ex10(kmeans):
    expect_type(kmeans, (KMeans, MiniBatchKMeans), "a fitted KMeans model")
    expect_fitted(kmeans, "KMeans model")
    _expect_64_features(kmeans, "KMeans model")
    centers = expect_array(kmeans.cluster_centers_, "cluster centers", shape=(None, 64))
    k = len(centers)
    if not 5 <= k <= 100:
        raise Incorrect(f"{k} clusters is outside a sensible range for ten kinds of digit "
                        "(look between 5 and 100): compare silhouette scores for several k.")
    X_all = load_digits().data
    if centers.max() <= 1.5:  # the model was fitted on pixels scaled to [0, 1]
        X_all = X_all / 16.0
    labels = kmeans.predict(X_all)
    if len(np.unique(labels)) < 2:
        raise Incorrect("the model puts every digit in the same cluster.")
    score = silhouette_score(X_all, labels)
    if score < MIN_SILHOUETTE:
        raise Incorrect(f"with {k} clusters the silhouette score on all 1,797 digits is "
                        f"{score:.3f}, below {MIN_SILHOUETTE}: try other values of k and keep "
                        "the one with the best silhouette score.")
    return f"{k} clusters, silhouette score {score:.3f} on all 1,797 digits."


def _solve_ex10():
    X_train, X_valid, X_test, y_train, y_valid, y_test = load_digit_splits()
    k_values = env.pick(full=range(5, 31), quick=[8, 10, 12, 15])
    best_kmeans, best_score = None, -1.0
    for k in k_values:
        kmeans = KMeans(n_clusters=k, n_init=10, random_state=42).fit(X_train)
        score = silhouette_score(X_train, kmeans.labels_)
        if score > best_score:
            best_kmeans, best_score = kmeans, score
    print(f"best k = {best_kmeans.n_clusters}, silhouette score {best_score:.3f}")
    return best_kmeans


ex10 = Exercise(
    "ex10", "Cluster the digits with k-means and choose k", _check_ex10,
    hint="""Fit KMeans(n_clusters=k, n_init=10, random_state=42) on X_train for a range of k
    (say 5 to 30), compute silhouette_score(X_train, kmeans.labels_) for each, and hand in the
    fitted model with the best score. The inertia keeps falling as k grows, so it cannot
    choose k on its own.""",
    solution=_solve_ex10)


# --------------------------------------------------------------------------- exercise 11


def _check_ex11(model):
    if not hasattr(model, "predict"):
        raise Incorrect(f"expected a fitted classifier (something with .predict), "
                        f"got a {type(model).__name__}.")
    expect_fitted(model, "classifier")
    _expect_64_features(model, "classifier")
    if not _contains_kmeans(model):
        raise Incorrect("the model does not use k-means: put a KMeans step in a pipeline "
                        "(alone, or next to the pixels in a FeatureUnion) before the classifier.")
    accuracy = max(accuracy_score(y, np.asarray(model.predict(X)).ravel())
                   for X, y in _candidate_scales())
    if accuracy < MIN_ACCURACY:
        raise Incorrect(f"test accuracy {accuracy:.3f} is below {MIN_ACCURACY}: search the "
                        "number of clusters on the validation set, and try keeping the pixels "
                        "next to the cluster distances.")
    return f"test accuracy {accuracy:.3f} with k-means features."


def _solve_ex11():
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline, make_union
    from sklearn.preprocessing import FunctionTransformer

    X_train, X_valid, X_test, y_train, y_valid, y_test = load_digit_splits()
    pixels_only = LogisticRegression(max_iter=1_000).fit(X_train, y_train)
    print(f"pixels only: validation accuracy {pixels_only.score(X_valid, y_valid):.3f}")

    best_model, best_accuracy = None, 0.0
    for k in env.pick(full=[20, 40, 60, 80, 100, 150], quick=[40, 80]):
        distances = KMeans(n_clusters=k, n_init=3, random_state=42)
        reduced = make_pipeline(distances, LogisticRegression(max_iter=1_000))
        both = make_pipeline(make_union(FunctionTransformer(), distances),
                             LogisticRegression(max_iter=1_000))
        for name, model in [("distances only", reduced), ("pixels + distances", both)]:
            accuracy = model.fit(X_train, y_train).score(X_valid, y_valid)
            print(f"k={k:3d}, {name}: validation accuracy {accuracy:.3f}")
            if accuracy > best_accuracy:
                best_model, best_accuracy = model, accuracy
    return best_model


ex11 = Exercise(
    "ex11", "Use k-means clusters as features for a classifier", _check_ex11,
    hint="""KMeans is a transformer: in make_pipeline(KMeans(n_clusters=k), LogisticRegression())
    the classifier sees the k distances to the centroids. To keep the pixels as well, use
    make_union(FunctionTransformer(), KMeans(...)) as the first step. Loop over a few k,
    score each pipeline on the validation set and hand in the best fitted pipeline.""",
    solution=_solve_ex11)


# --------------------------------------------------------------------------- exercise 12


def _final_step(model):
    return model.steps[-1][1] if isinstance(model, Pipeline) else model


def _check_ex12(model):
    final = _final_step(model)
    if not isinstance(final, (GaussianMixture, BayesianGaussianMixture)):
        raise Incorrect("expected a fitted GaussianMixture, or a pipeline (e.g. PCA then "
                        f"GaussianMixture) that ends with one; got a {type(final).__name__}.")
    expect_fitted(model, "Gaussian mixture")
    _expect_64_features(model, "model")
    best = None
    for X, _ in _candidate_scales():  # use the pixel scale the model was trained on
        normal = expect_array(model.score_samples(X), "densities of normal digits")
        if best is None or np.median(normal) > np.median(best[1]):
            best = (X, normal)
    X, normal = best
    odd = np.r_[model.score_samples(rotate_digits(X)), model.score_samples(X * 0.3)]
    odd = expect_array(odd, "densities of modified digits")
    auc = _anomaly_auc(-normal, -odd)
    if auc < MIN_GMM_AUC:
        raise Incorrect(f"your model separates normal digits from rotated or darkened ones with "
                        f"ROC AUC {auc:.3f}, below {MIN_GMM_AUC}: reduce the dimensions with PCA "
                        "first and compare a few numbers of components with the BIC.")
    return (f"ROC AUC {auc:.3f}; median log-density {np.median(normal):.1f} for normal digits, "
            f"{np.median(odd):.1f} for rotated or darkened ones.")


def _solve_ex12():
    from sklearn.pipeline import make_pipeline

    X_train, X_valid, X_test, y_train, y_valid, y_test = load_digit_splits()
    pca = PCA(n_components=0.99, random_state=42).fit(X_train)
    X_reduced = pca.transform(X_train)
    print(f"PCA keeps {pca.n_components_} of 64 dimensions")

    best_gm, best_bic = None, np.inf
    for n_components in env.pick(full=[1, 2, 3, 4, 6, 8, 10], quick=[2, 4]):
        gm = GaussianMixture(n_components=n_components, n_init=3, random_state=42)
        bic = gm.fit(X_reduced).bic(X_reduced)
        print(f"{n_components:2d} components: BIC {bic:,.0f}")
        if bic < best_bic:
            best_gm, best_bic = gm, bic

    model = make_pipeline(pca, best_gm)
    new_digits = pca.inverse_transform(best_gm.sample(20)[0])  # 20 generated images
    print("generated digits:", new_digits.shape)
    return model


ex12 = Exercise(
    "ex12", "A Gaussian mixture as generator and anomaly detector", _check_ex12,
    hint="""Reduce X_train with PCA(n_components=0.99), fit GaussianMixture models with a few
    numbers of components on the reduced data and keep the lowest .bic(). make_pipeline(pca, gm)
    then has .score_samples() on raw pixel rows: compare it on X_test and on rotated or
    darkened copies (lower log-density means more unusual).""",
    solution=_solve_ex12)


# --------------------------------------------------------------------------- exercise 13


def _check_ex13(pca):
    expect_type(pca, (PCA, IncrementalPCA), "a fitted PCA")
    expect_fitted(pca, "PCA")
    _expect_64_features(pca, "PCA")
    if pca.n_components_ >= 64:
        raise Incorrect("the PCA keeps all 64 components, so it rebuilds every image perfectly "
                        "and the reconstruction error is zero everywhere: keep fewer components.")

    def errors(X):
        rebuilt = pca.inverse_transform(pca.transform(X))
        return expect_array(((rebuilt - X) ** 2).mean(axis=1), "reconstruction errors")

    X_scaled, X_raw = (X for X, _ in _candidate_scales())
    X = X_raw if np.max(pca.mean_) > 1.5 else X_scaled  # the pixel scale it was fitted on
    normal, rotated = errors(X), errors(rotate_digits(X))
    auc = _anomaly_auc(normal, rotated)
    if auc < MIN_PCA_AUC:
        raise Incorrect(f"the reconstruction error tells rotated digits from normal ones with "
                        f"ROC AUC {auc:.3f}, below {MIN_PCA_AUC}: fit the PCA on normal digits only.")
    ratio = rotated.mean() / max(normal.mean(), 1e-12)
    return (f"{pca.n_components_} components; rotated digits have a {ratio:.0f}x larger mean "
            f"reconstruction error (ROC AUC {auc:.3f}).")


def _solve_ex13():
    X_train, X_valid, X_test, y_train, y_valid, y_test = load_digit_splits()
    pca = PCA(n_components=0.99, random_state=42).fit(X_train)

    def reconstruction_errors(X):
        return ((pca.inverse_transform(pca.transform(X)) - X) ** 2).mean(axis=1)

    print(f"mean error, normal digits:  {reconstruction_errors(X_test).mean():.4f}")
    print(f"mean error, rotated digits: {reconstruction_errors(rotate_digits(X_test)).mean():.4f}")
    return pca


ex13 = Exercise(
    "ex13", "Anomaly detection with the PCA reconstruction error", _check_ex13,
    hint="""Fit PCA(n_components=0.99) on X_train. The reconstruction of X is
    pca.inverse_transform(pca.transform(X)); its mean squared difference with X, per row, is
    the reconstruction error. Compare it on X_test and on rotate_digits(X_test).""",
    solution=_solve_ex13)
