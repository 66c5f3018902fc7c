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

from helpers.exercises import Exercise, Incorrect, a_type, expect_array, expect_fitted, expect_type

__all__ = ["ex10", "ex11", "ex12", "ex13", "load_digit_splits", "rotate_digits"]

MIN_SILHOUETTE = 0.14
MIN_ACCURACY = 0.93
MIN_GMM_AUC = 0.90
MIN_PCA_AUC = 0.95
#: "Keep 99% of the variance": a PCA that keeps less than this is refused.
MIN_VARIANCE = 0.985


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
    """What the prompt asks for, and how it is checked:

    * a fitted ``KMeans`` (or MiniBatchKMeans): a class, an unfitted model, another estimator
      are named;
    * fitted on the 64 pixel values of the digits (X_train, scaled or not);
    * a number of clusters chosen well: between 5 and 100, with a silhouette score of at
      least 0.14 on all 1,797 digits.

    Left to the student (not checked): looking at the images of each cluster.
    """
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


ex10 = Exercise(
    "ex10", "Cluster the digits with k-means and choose k", _check_ex10,
    hint="""Fit KMeans(n_clusters=k, n_init=10, random_state=42) on X_train for a range of k
    (say 5 to 30), compute silhouette_score(X_train, kmeans.labels_) for each, and hand in the
    fitted model with the best score. The inertia keeps falling as k grows, so it cannot
    choose k on its own.""",
    solution="""
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    from helpers.exercises.ch09 import load_digit_splits

    X_train, X_valid, X_test, y_train, y_valid, y_test = load_digit_splits()
    silhouettes, models = {}, {}
    for k in range(6, 31, 2):
        models[k] = KMeans(n_clusters=k, n_init=10, random_state=42).fit(X_train)
        silhouettes[k] = silhouette_score(X_train, models[k].labels_)
    best_k = max(silhouettes, key=silhouettes.get)
    best_kmeans = models[best_k]
    print(f"best k = {best_k}, silhouette score {silhouettes[best_k]:.3f}")
    """,
    defines="best_kmeans")


# --------------------------------------------------------------------------- exercise 11


def _check_ex11(model):
    """What the prompt asks for, and how it is checked:

    * a fitted classifier pipeline (something with predict that is a classifier): a bare
      KMeans, which only assigns clusters, is named;
    * that uses k-means features: a KMeans step (alone, or next to the pixels in a union);
    * fitted on the 64 pixel values;
    * at least 0.93 test accuracy.
    """
    from sklearn.base import is_classifier

    if isinstance(model, type):
        expect_fitted(model, "classifier pipeline")
    if isinstance(model, (KMeans, MiniBatchKMeans)):
        raise Incorrect("this is a KMeans model on its own: it assigns cluster numbers, not "
                        "digits. The exercise asks for a classifier that uses k-means features: "
                        "make_pipeline(KMeans(n_clusters=k), LogisticRegression()), fitted on "
                        "X_train and y_train.")
    if not hasattr(model, "predict"):
        raise Incorrect(f"expected a fitted classifier pipeline (something with .predict), "
                        f"got {a_type(model)}.")
    expect_fitted(model, "classifier")
    if not is_classifier(model):
        raise Incorrect(f"the model ends with a {type(_final_step(model)).__name__}, which is not "
                        "a classifier: end the pipeline with one (e.g. LogisticRegression).")
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


ex11 = Exercise(
    "ex11", "Use k-means clusters as features for a classifier", _check_ex11,
    hint="""KMeans is a transformer: in make_pipeline(KMeans(n_clusters=k), LogisticRegression())
    the classifier sees the k distances to the centroids. To keep the pixels as well, use
    make_union(FunctionTransformer(), KMeans(...)) as the first step. Loop over a few k,
    score each pipeline on the validation set and hand in the best fitted pipeline.""",
    solution="""
    from sklearn.cluster import KMeans
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline, make_union
    from sklearn.preprocessing import FunctionTransformer, StandardScaler

    from helpers.exercises.ch09 import load_digit_splits

    X_train, X_valid, X_test, y_train, y_valid, y_test = load_digit_splits()
    pixels_only = LogisticRegression(max_iter=1_000).fit(X_train, y_train)
    print(f"pixels only: validation accuracy {pixels_only.score(X_valid, y_valid):.3f}")

    kmeans_pipeline, best_accuracy = None, 0.0
    for k in [30, 60, 100]:
        distances = KMeans(n_clusters=k, n_init=3, random_state=42)
        candidates = {  # scaled distances: the logistic regression converges much faster
            "distances only": make_pipeline(distances, StandardScaler(),
                                            LogisticRegression(max_iter=1_000)),
            "pixels + distances": make_pipeline(make_union(FunctionTransformer(), distances),
                                                StandardScaler(), LogisticRegression(max_iter=1_000)),
        }
        for name, candidate in candidates.items():
            accuracy = candidate.fit(X_train, y_train).score(X_valid, y_valid)
            print(f"k={k:3d}, {name}: validation accuracy {accuracy:.3f}")
            if accuracy > best_accuracy:
                kmeans_pipeline, best_accuracy = candidate, accuracy
    """,
    defines="kmeans_pipeline")


# --------------------------------------------------------------------------- exercise 12


def _final_step(model):
    return model.steps[-1][1] if isinstance(model, Pipeline) else model


def _expect_variance_kept(pca) -> None:
    kept = float(np.sum(pca.explained_variance_ratio_))
    if kept < MIN_VARIANCE:
        raise Incorrect(f"the PCA keeps {pca.n_components_} components, {kept:.1%} of the variance; "
                        "the exercise asks for 99% (PCA(n_components=0.99)).")


def _check_ex12(model):
    """What the prompt asks for, and how it is checked:

    * a fitted pipeline ``make_pipeline(pca, gm)``: a PCA step, then a GaussianMixture (a
      bare mixture, a KMeans, a classifier are named, each with what to do);
    * the PCA keeps 99% of the variance; the pipeline takes the 64 pixel values;
    * it tells rotated and darkened test digits from normal ones: ROC AUC of at least 0.9
      with score_samples() (lower density means more unusual).

    Left to the student (not checked): generating digits with sample() and showing them.
    """
    if isinstance(model, type):
        expect_fitted(model, "pipeline")
    final = _final_step(model)
    if isinstance(final, (KMeans, MiniBatchKMeans)):
        raise Incorrect("this ends with a KMeans: the exercise asks for a Gaussian mixture, whose "
                        "score_samples() gives a density. Hand in make_pipeline(pca, gm) with a "
                        "fitted GaussianMixture.")
    if not isinstance(final, (GaussianMixture, BayesianGaussianMixture)):
        raise Incorrect("expected a fitted pipeline make_pipeline(pca, gm) that ends with a "
                        f"GaussianMixture; got {a_type(final)}.")
    if not isinstance(model, Pipeline):
        n_features = getattr(model, "n_features_in_", None)
        if n_features is not None and n_features < 64:
            raise Incorrect(f"this GaussianMixture was fitted on {n_features} PCA features, so it "
                            "cannot take pixel rows: hand in make_pipeline(pca, gm), which applies "
                            "the fitted PCA first.")
        raise Incorrect("the exercise asks to reduce the digits with PCA (99% of the variance) "
                        "before the mixture: hand in make_pipeline(pca, gm).")
    expect_fitted(model, "pipeline")
    reducers = [step for _, step in model.steps[:-1] if isinstance(step, (PCA, IncrementalPCA))]
    if not reducers:
        raise Incorrect("the pipeline has no PCA step: reduce the digits with "
                        "PCA(n_components=0.99) before the GaussianMixture.")
    _expect_variance_kept(reducers[0])
    _expect_64_features(model, "pipeline")
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


ex12 = Exercise(
    "ex12", "A Gaussian mixture as generator and anomaly detector", _check_ex12,
    hint="""Reduce X_train with PCA(n_components=0.99), fit GaussianMixture models with a few
    numbers of components on the reduced data and keep the lowest .bic(). make_pipeline(pca, gm)
    then has .score_samples() on raw pixel rows: compare it on X_test and on rotated or
    darkened copies (lower log-density means more unusual).""",
    solution="""
    import numpy as np
    from sklearn.decomposition import PCA
    from sklearn.mixture import GaussianMixture
    from sklearn.pipeline import make_pipeline

    from helpers.exercises.ch09 import load_digit_splits, rotate_digits

    X_train, X_valid, X_test, y_train, y_valid, y_test = load_digit_splits()
    pca = PCA(n_components=0.99, random_state=42).fit(X_train)
    X_reduced = pca.transform(X_train)
    print(f"PCA keeps {pca.n_components_} of 64 dimensions")

    mixtures = {n: GaussianMixture(n_components=n, n_init=2, random_state=42).fit(X_reduced)
                for n in [1, 2, 4, 6]}
    bics = {n: gm.bic(X_reduced) for n, gm in mixtures.items()}
    print("BIC:", {n: round(bic) for n, bic in bics.items()})
    gm = mixtures[min(bics, key=bics.get)]

    pca_gm_pipeline = make_pipeline(pca, gm)
    new_digits = pca.inverse_transform(gm.sample(20)[0])  # 20 generated images, 64 pixels each
    for name, images in [("normal", X_test), ("rotated", rotate_digits(X_test)),
                         ("darkened", X_test * 0.3)]:
        median = np.median(pca_gm_pipeline.score_samples(images))
        print(f"{name:>8} test digits: median log-density {median:.1f}")
    """,
    defines="pca_gm_pipeline")


# --------------------------------------------------------------------------- exercise 13


def _check_ex13(pca):
    """What the prompt asks for, and how it is checked:

    * a fitted ``PCA`` (a pipeline, a class, an unfitted PCA are named);
    * fitted on the 64 pixel values of X_train;
    * keeping 99% of the variance (fewer components are named; all 64 too, since they rebuild
      every image perfectly);
    * its reconstruction error tells rotated test digits from normal ones (ROC AUC >= 0.95).
    """
    expect_type(pca, (PCA, IncrementalPCA), "a fitted PCA")
    expect_fitted(pca, "PCA")
    _expect_64_features(pca, "PCA")
    if pca.n_components_ >= 64:
        raise Incorrect("the PCA keeps all 64 components, so it rebuilds every image perfectly "
                        "and the reconstruction error is zero everywhere: keep fewer components.")
    _expect_variance_kept(pca)

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


ex13 = Exercise(
    "ex13", "Anomaly detection with the PCA reconstruction error", _check_ex13,
    hint="""Fit PCA(n_components=0.99) on X_train. The reconstruction of X is
    pca.inverse_transform(pca.transform(X)); its mean squared difference with X, per row, is
    the reconstruction error. Compare it on X_test and on rotate_digits(X_test).""",
    solution="""
    from sklearn.decomposition import PCA

    from helpers.exercises.ch09 import load_digit_splits, rotate_digits

    X_train, X_valid, X_test, y_train, y_valid, y_test = load_digit_splits()
    anomaly_pca = PCA(n_components=0.99, random_state=42).fit(X_train)


    def reconstruction_errors(X):
        rebuilt = anomaly_pca.inverse_transform(anomaly_pca.transform(X))
        return ((rebuilt - X) ** 2).mean(axis=1)


    for name, images in [("normal", X_test), ("rotated", rotate_digits(X_test)),
                         ("darkened", X_test * 0.3)]:
        print(f"{name:>8} test digits: mean error {reconstruction_errors(images).mean():.4f}")
    """,
    defines="anomaly_pca")
