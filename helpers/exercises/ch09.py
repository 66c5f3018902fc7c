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

from helpers.exercises import (
    Exercise,
    Incorrect,
    a_type,
    expect_array,
    expect_fitted,
    expect_type,
    leakage,
)

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
    """A model that records its input width must take the 64 pixels (None: it does not say)."""
    n_features = getattr(model, "n_features_in_", None)
    if n_features is not None and n_features != 64:
        raise Incorrect(f"the {what} was fitted on {n_features} features; fit it on the "
                        "64 pixel values of the digits (e.g. X_train).")


def _candidate_scales():
    """The test digits as the notebook gives them (0 to 1) and as raw pixels (0 to 16)."""
    *_, X_test, _, _, y_test = load_digit_splits()
    return [(X_test, y_test), (X_test * 16.0, y_test)]


def _contains_kmeans(model):
    return any(isinstance(part, (KMeans, MiniBatchKMeans)) for part in leakage.parts(model))


def _splits_at(scale):
    X_train, X_valid, X_test, y_train, y_valid, y_test = load_digit_splits()
    return X_train * scale, X_valid * scale, X_test * scale, y_train, y_valid, y_test


def _expect_fitted_on_train(model, what: str, scale: float, fit: leakage.Fit,
                            supervised: bool = True) -> None:
    """The prompt says to fit on X_train: the largest count of rows among the model's fitted
    parts must be its 1,077 digits. Otherwise the message says which rows it was, and names
    data leakage when the test digits were among them (from the count, from copies refitted
    on the candidate splits, or from a better fit on the test than on the validation digits).
    Nothing is said when no part keeps a count."""
    part, rows = max(leakage.counts(model), key=lambda count: count[1], default=(None, None))
    X_train, X_valid, X_test, y_train, y_valid, y_test = _splits_at(scale)
    if rows is None or rows == len(X_train):
        return
    scored = leakage.Scored(
        X_test, y_test, what="test digits", n_train=len(X_train), train="X_train", unit="digits",
        reference=(X_valid, y_valid, "the validation digits"), fit=fit,
        fix="Fit it on X_train only: the test digits are there to judge the finished model.")
    if rows == len(X_train) + len(X_valid) + len(X_test):
        raise leakage.leak(scored, f"its {part} was fitted on {rows:,} digits: all of them, the "
                                   "test digits included")
    splits = {"X_test": (X_test, y_test),
              "X_train and X_test": (np.r_[X_train, X_test], np.r_[y_train, y_test]),
              "X_valid": (X_valid, y_valid),
              "X_train and X_valid": (np.r_[X_train, X_valid], np.r_[y_train, y_valid])}
    candidates = {name: (X, y if supervised else None) for name, (X, y) in splits.items()
                  if len(X) == rows}
    found = leakage.refitted_on(model, candidates, X_test) if candidates else None
    if found is not None and "X_test" in found:
        raise leakage.leak(scored, f"a fresh copy fitted on {found} gives the very same outputs")
    if found is None:
        evidence = leakage.gap_evidence(model, scored)
        if evidence:
            raise leakage.leak(scored, evidence)
    which = f" ({found})" if found else ""
    raise Incorrect(f"the {what} was fitted on {rows:,} digits{which}; the exercise asks to fit "
                    f"it on X_train, its {len(X_train):,} digits (the validation digits choose "
                    "between models, the test digits judge the chosen one).")


def _step_widths(model) -> None:
    """Each step of a pipeline must take what the step before it gives: a mixture fitted on the
    pixels and then put after a PCA is named before predicting fails on it."""
    steps = [step for _, step in getattr(model, "steps", []) if step not in (None, "passthrough")]
    for before, after in zip(steps, steps[1:], strict=False):
        width = getattr(before, "n_components_", None)
        if width is None and isinstance(before, (KMeans, MiniBatchKMeans)):
            width = getattr(before, "n_clusters", None)
        needed = getattr(after, "n_features_in_", None)
        if width is not None and needed is not None and width != needed:
            raise Incorrect(f"the {type(after).__name__} step was fitted on {needed} features, but "
                            f"the {type(before).__name__} before it outputs {width}: in a pipeline "
                            "each step learns from what the previous one gives. Fit the "
                            f"{type(after).__name__} on {type(before).__name__.lower()}."
                            "transform(X_train), or fit the whole pipeline at once.")


def _distance_to_centre(model, X, y):
    return -np.min(model.transform(X), axis=1) ** 2


def _reconstruction(model, X, y):
    return -((model.inverse_transform(model.transform(X)) - X) ** 2).mean(axis=1)


#: How well a k-means model or a PCA fits rows: closeness to the nearest centroid, and the
#: reconstruction error (lower on rows it was fitted on).
CENTRE_DISTANCE = leakage.Fit("mean squared distance to the nearest centroid",
                              _distance_to_centre, shown=-1, relative=0.03)
RECONSTRUCTION_ERROR = leakage.Fit("mean reconstruction error", _reconstruction, shown=-1,
                                   relative=0.1)


def _anomaly_auc(normal_scores, odd_scores):
    """ROC AUC of telling modified images (positives) from normal ones by a higher score."""
    labels = np.r_[np.zeros(len(normal_scores)), np.ones(len(odd_scores))]
    return roc_auc_score(labels, np.r_[normal_scores, odd_scores])


# --------------------------------------------------------------------------- exercise 10


def _check_ex10(kmeans):
    """What the prompt asks for, and how it is checked:

    * a fitted ``KMeans`` (or MiniBatchKMeans): a class, an unfitted model, another estimator
      are named;
    * fitted on the 64 pixel values of the digits (scaled to [0, 1] or raw 0-16);
    * fitted on X_train: its ``labels_`` must hold X_train's 1,077 digits; other rows are named,
      as data leakage when they include the test digits (see ``_expect_fitted_on_train``);
    * a number of clusters chosen well: between 5 and 100, with a silhouette score of at
      least 0.14 on all 1,797 digits.

    Not verified: looking at the images of each cluster, and how k was chosen.
    """
    expect_type(kmeans, (KMeans, MiniBatchKMeans), "a fitted KMeans model")
    expect_fitted(kmeans, "KMeans model")
    _expect_64_features(kmeans, "KMeans model")
    centers = expect_array(kmeans.cluster_centers_, "cluster centers", shape=(None, 64))
    k = len(centers)
    if not 5 <= k <= 100:
        raise Incorrect(f"{k} clusters is outside a sensible range for ten kinds of digit "
                        "(look between 5 and 100): compare silhouette scores for several k.")
    scale = 1.0 if centers.max() <= 1.5 else 16.0  # the pixel scale it was fitted on
    _expect_fitted_on_train(kmeans, "KMeans model", scale, CENTRE_DISTANCE, supervised=False)
    X_all = load_digits().data / 16.0 * scale
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


def _predicted_digits(model, X):
    try:
        return np.asarray(model.predict(X)).ravel()
    except Exception as exc:  # noqa: BLE001 - said in words
        raise Incorrect(f"the pipeline could not predict the test digits ({type(exc).__name__}): "
                        "fit the whole pipeline on X_train and y_train, so that each step takes "
                        "what the previous one gives.") from None


def _check_ex11(model):
    """What the prompt asks for, and how it is checked:

    * a fitted classifier pipeline (something with predict that is a classifier): a bare
      KMeans, which only assigns clusters, is named;
    * that uses k-means features: a KMeans step (alone, or next to the pixels in a union);
      one without it ("passthrough", another transformer) is named;
    * fitted on the 64 pixel values (scaled to [0, 1] or raw 0-16);
    * fitted on X_train: the KMeans step's ``labels_`` must hold its 1,077 digits; other rows
      are named, as data leakage when they include the test digits (from the count, a copy
      refitted on the candidate splits, or a clearly better fit on the test digits than on
      the validation digits: probability of the right digit);
    * at least 0.93 test accuracy.

    Not verified: the search of the number of clusters on the validation set.
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
    if not _contains_kmeans(model):
        raise Incorrect("the model does not use k-means: put a KMeans step in a pipeline "
                        "(alone, or next to the pixels in a FeatureUnion) before the classifier.")
    _expect_64_features(model, "classifier")
    accuracy, scale = max((accuracy_score(y, _predicted_digits(model, X)), factor)
                          for (X, y), factor in zip(_candidate_scales(), (1.0, 16.0), strict=True))
    _expect_fitted_on_train(model, "pipeline", scale, leakage.PROBABILITY)
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


def _densities(model, X, what):
    try:
        return expect_array(model.score_samples(X), what)
    except Incorrect:
        raise
    except Exception as exc:  # noqa: BLE001 - said in words
        raise Incorrect(f"score_samples() of your pipeline failed on the test digits "
                        f"({type(exc).__name__}): fit the PCA on X_train, then the mixture on "
                        "the PCA's output, and hand in make_pipeline(pca, gm).") from None


def _check_ex12(model):
    """What the prompt asks for, and how it is checked:

    * a fitted pipeline ``make_pipeline(pca, gm)``: a PCA step, then a GaussianMixture (a
      bare mixture, a KMeans, a classifier are named, each with what to do);
    * the PCA keeps 99% of the variance; the pipeline takes the 64 pixel values; each step
      takes what the previous gives (a mixture fitted on pixels behind a PCA is named);
    * fitted on X_train: the PCA's ``n_samples_`` must be its 1,077 digits; other rows are
      named, as data leakage when they include the test digits (from the count, a copy
      refitted on the candidate splits, or a clearly higher log-density on the test digits
      than on the validation digits);
    * it tells rotated and darkened test digits from normal ones: ROC AUC of at least 0.9
      with score_samples() (lower density means more unusual).

    Not verified: generating digits with sample() and showing them.
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
    _step_widths(model)
    best = None
    for (X, _), scale in zip(_candidate_scales(), (1.0, 16.0), strict=True):
        normal = _densities(model, X, "densities of normal digits")
        if best is None or np.median(normal) > np.median(best[1]):
            best = (X, normal, scale)  # the pixel scale the model was trained on
    X, normal, scale = best
    _expect_fitted_on_train(model, "pipeline", scale, leakage.LOG_DENSITY, supervised=False)
    odd = np.r_[_densities(model, rotate_digits(X), "densities of rotated digits"),
                _densities(model, X * 0.3, "densities of darkened digits")]
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
    * fitted on the 64 pixel values (scaled to [0, 1] or raw 0-16);
    * fitted on X_train: its ``n_samples_`` must be X_train's 1,077 digits; other rows are
      named, as data leakage when they include the test digits (from the count, a copy
      refitted on the candidate splits, or a clearly lower reconstruction error on the test
      digits than on the validation digits);
    * keeping 99% of the variance (fewer components are named; all 64 too, since they rebuild
      every image perfectly);
    * its reconstruction error tells rotated test digits from normal ones (ROC AUC >= 0.95).

    Not verified: the plots of reconstructed anomalies.
    """
    expect_type(pca, (PCA, IncrementalPCA), "a fitted PCA")
    expect_fitted(pca, "PCA")
    _expect_64_features(pca, "PCA")
    if pca.n_components_ >= 64:
        raise Incorrect("the PCA keeps all 64 components, so it rebuilds every image perfectly "
                        "and the reconstruction error is zero everywhere: keep fewer components.")
    _expect_variance_kept(pca)
    scale = 16.0 if np.max(pca.mean_) > 1.5 else 1.0  # the pixel scale it was fitted on

    def errors(X):
        return expect_array(-_reconstruction(pca, X, None), "reconstruction errors")

    X = _splits_at(scale)[2]
    normal, rotated = errors(X), errors(rotate_digits(X))
    auc = _anomaly_auc(normal, rotated)
    if auc < MIN_PCA_AUC:
        raise Incorrect(f"the reconstruction error tells rotated digits from normal ones with "
                        f"ROC AUC {auc:.3f}, below {MIN_PCA_AUC}: fit the PCA on normal digits only.")
    _expect_fitted_on_train(pca, "PCA", scale, RECONSTRUCTION_ERROR, supervised=False)
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
