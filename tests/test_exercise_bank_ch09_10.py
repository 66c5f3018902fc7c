"""Answer bank, chapters 9 and 10: correct answers unlike the reference must pass, wrong ones
must fail with a message that names the problem (see tests/exercise_bank.py)."""

from __future__ import annotations

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

from helpers.exercises import ch09, ch10

bank = Bank()
answer = bank.answer

# --------------------------------------------------------------------------- chapter 9


@cache
def digits():
    return ch09.load_digit_splits()


def train(scale=1.0, features=64):
    X_train, _, _, y_train, _, _ = digits()
    return X_train[:, :features] * scale, y_train


def kmeans(k, **kwargs):
    from sklearn.cluster import KMeans

    return KMeans(n_clusters=k, n_init=3, random_state=42, **kwargs)


def pipeline(*steps, scale=1.0, features=64, supervised=True):
    from sklearn.pipeline import make_pipeline

    X, y = train(scale, features)
    return make_pipeline(*steps).fit(X, y) if supervised else make_pipeline(*steps).fit(X)


answer(ch09.ex10, "k = 10", CORRECT, "silhouette score")(lambda: kmeans(10).fit(train()[0]))


@answer(ch09.ex10, "mini-batch k-means on raw 0-16 pixels", CORRECT, "silhouette score")
def ex10_minibatch_raw():
    from sklearn.cluster import MiniBatchKMeans

    return MiniBatchKMeans(n_clusters=12, n_init=3, random_state=42).fit(train(16.0)[0])


answer(ch09.ex10, "untouched", NOT_ATTEMPTED, "replace the `...`")(untouched)
answer(ch09.ex10, "two clusters", INCORRECT, "outside a sensible range")(
    lambda: kmeans(2).fit(train()[0]))
answer(ch09.ex10, "150 clusters", INCORRECT, "outside a sensible range")(
    lambda: kmeans(150).fit(train()[0]))
answer(ch09.ex10, "unfitted", INCORRECT, "not fitted")(lambda: kmeans(10))
answer(ch09.ex10, "the class", INCORRECT, "the class KMeans itself")(lambda: type(kmeans(10)))
answer(ch09.ex10, "half the pixels", INCORRECT, "fitted on 32 features")(
    lambda: kmeans(10).fit(train(features=32)[0]))


@answer(ch09.ex10, "a Gaussian mixture", INCORRECT, "expected a fitted KMeans model")
def ex10_mixture():
    from sklearn.mixture import GaussianMixture

    return GaussianMixture(3, random_state=42).fit(train()[0])


def logistic():
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(max_iter=1_000)


def scaler():
    from sklearn.preprocessing import StandardScaler

    return StandardScaler()


answer(ch09.ex11, "50 distances, scaled", CORRECT, "with k-means features")(
    lambda: pipeline(kmeans(50), scaler(), logistic()))


@answer(ch09.ex11, "pixels next to distances, an SVC", CORRECT, "with k-means features")
def ex11_union_svc():
    from sklearn.pipeline import make_union
    from sklearn.preprocessing import FunctionTransformer
    from sklearn.svm import SVC

    return pipeline(make_union(FunctionTransformer(), kmeans(30)), scaler(), SVC())


answer(ch09.ex11, "untouched", NOT_ATTEMPTED, "replace the `...`")(untouched)
answer(ch09.ex11, "a KMeans alone", INCORRECT, "on its own")(lambda: kmeans(50).fit(train()[0]))
answer(ch09.ex11, "no k-means", INCORRECT, "does not use k-means")(
    lambda: pipeline(scaler(), logistic()))
answer(ch09.ex11, "ends with a KMeans", INCORRECT, "not a classifier")(
    lambda: pipeline(scaler(), kmeans(10), supervised=False))
answer(ch09.ex11, "five distances only", INCORRECT, "below 0.93")(
    lambda: pipeline(kmeans(5), logistic()))
answer(ch09.ex11, "half the pixels", INCORRECT, "fitted on 32 features")(
    lambda: pipeline(kmeans(30), logistic(), features=32))
answer(ch09.ex11, "unfitted", INCORRECT, "not fitted")(
    lambda: __import__("sklearn.pipeline", fromlist=["x"]).make_pipeline(kmeans(5), logistic()))
answer(ch09.ex11, "a string", INCORRECT, "something with .predict")(lambda: "pipeline")


def pca(n, **kwargs):
    from sklearn.decomposition import PCA

    return PCA(n_components=n, random_state=42, **kwargs)


def mixture(n=4, **kwargs):
    from sklearn.mixture import GaussianMixture

    return GaussianMixture(n_components=n, random_state=42, **kwargs)


answer(ch09.ex12, "4 full components", CORRECT, "ROC AUC")(
    lambda: pipeline(pca(0.99), mixture(4), supervised=False))


@answer(ch09.ex12, "a Bayesian mixture on raw 0-16 pixels", CORRECT, "ROC AUC")
def ex12_bayesian():
    from sklearn.mixture import BayesianGaussianMixture

    return pipeline(pca(0.995), BayesianGaussianMixture(n_components=6, random_state=42,
                                                        max_iter=300),
                    scale=16.0, supervised=False)


@answer(ch09.ex12, "the mixture alone, on PCA features", INCORRECT, "hand in make_pipeline(pca, gm)")
def ex12_bare_reduced():
    reducer = pca(0.99).fit(train()[0])
    return mixture().fit(reducer.transform(train()[0]))


answer(ch09.ex12, "the mixture alone, on pixels", INCORRECT, "reduce the digits with PCA")(
    lambda: mixture(2, covariance_type="diag").fit(train()[0]))
answer(ch09.ex12, "a KMeans pipeline", INCORRECT, "ends with a KMeans")(
    lambda: pipeline(pca(0.99), kmeans(10), supervised=False))
answer(ch09.ex12, "two components kept", INCORRECT, "the exercise asks for 99%")(
    lambda: pipeline(pca(2), mixture(), supervised=False))
answer(ch09.ex12, "no PCA", INCORRECT, "no PCA step")(
    lambda: pipeline(scaler(), mixture(2, covariance_type="diag"), supervised=False))
answer(ch09.ex12, "a classifier", INCORRECT, "ends with a GaussianMixture")(
    lambda: pipeline(pca(0.99), logistic()))
answer(ch09.ex12, "untouched", NOT_ATTEMPTED, "replace the `...`")(untouched)
answer(ch09.ex12, "unfitted", INCORRECT, "not fitted")(
    lambda: __import__("sklearn.pipeline", fromlist=["x"]).make_pipeline(pca(0.99), mixture()))

answer(ch09.ex13, "full SVD solver", CORRECT, "larger mean reconstruction error")(
    lambda: pca(0.99, svd_solver="full").fit(train()[0]))


@answer(ch09.ex13, "incremental PCA on raw 0-16 pixels", CORRECT, "larger mean reconstruction")
def ex13_incremental():
    from sklearn.decomposition import IncrementalPCA

    return IncrementalPCA(n_components=48).fit(train(16.0)[0])


answer(ch09.ex13, "two components", INCORRECT, "the exercise asks for 99%")(
    lambda: pca(2).fit(train()[0]))
answer(ch09.ex13, "all 64 components", INCORRECT, "all 64 components")(
    lambda: pca(None).fit(train()[0]))
answer(ch09.ex13, "a pipeline", INCORRECT, "expected a fitted PCA")(
    lambda: pipeline(pca(0.99), mixture(), supervised=False))
answer(ch09.ex13, "unfitted", INCORRECT, "not fitted")(lambda: pca(0.99))
answer(ch09.ex13, "the class", INCORRECT, "the class PCA itself")(lambda: type(pca(0.99)))
answer(ch09.ex13, "half the pixels", INCORRECT, "fitted on 32 features")(
    lambda: pca(0.99).fit(train(features=32)[0]))
answer(ch09.ex13, "fitted on rotated digits", INCORRECT, "fit the PCA on normal digits only")(
    lambda: pca(0.99).fit(np.r_[train()[0], ch09.rotate_digits(train()[0])]))
answer(ch09.ex13, "untouched", NOT_ATTEMPTED, "replace the `...`")(untouched)

# ---- chapter 9: "fitted on X_train", and the leakage family (fitted on the test digits, on
# X_train and X_test together, a step fitted on all the digits before the split)


def rows(*names, scale=1.0):
    """The named splits of the digits stacked: rows("train", "test") -> X, y."""
    X_train, X_valid, X_test, y_train, y_valid, y_test = digits()
    chosen = {"train": (X_train, y_train), "valid": (X_valid, y_valid), "test": (X_test, y_test)}
    return (np.concatenate([chosen[name][0] for name in names]) * scale,
            np.concatenate([chosen[name][1] for name in names]))


def all_digits():
    return rows("train", "valid", "test")


answer(ch09.ex10, "fitted on the test digits", INCORRECT, LEAK)(
    lambda: kmeans(10).fit(rows("test")[0]))
answer(ch09.ex10, "fitted on X_train and X_test", INCORRECT, LEAK)(
    lambda: kmeans(10).fit(rows("train", "test")[0]))
answer(ch09.ex10, "fitted on all 1,797 digits", INCORRECT, LEAK)(
    lambda: kmeans(10).fit(all_digits()[0]))
answer(ch09.ex10, "fitted on X_train and X_valid", INCORRECT, "(X_train and X_valid)")(
    lambda: kmeans(10).fit(rows("train", "valid")[0]))


def kmeans_features():
    return pipeline_steps(kmeans(50), scaler(), logistic())


def pipeline_steps(*steps):
    from sklearn.pipeline import make_pipeline

    return make_pipeline(*steps)


answer(ch09.ex11, "fitted on the test digits", INCORRECT, LEAK)(
    lambda: kmeans_features().fit(*rows("test")))
answer(ch09.ex11, "refitted on X_train and X_test", INCORRECT, LEAK)(
    lambda: kmeans_features().fit(*rows("train", "test")))


@answer(ch09.ex11, "a scaler fitted on all digits before the split", INCORRECT, LEAK)
def ex11_scaler_on_everything():
    from sklearn.pipeline import Pipeline

    everything = scaler().fit(all_digits()[0])
    X, y = train()
    rest = pipeline_steps(kmeans(50), logistic()).fit(everything.transform(X), y)
    return Pipeline([("scaler", everything), ("rest", rest)])


@answer(ch09.ex11, "passthrough instead of k-means", INCORRECT, "does not use k-means")
def ex11_passthrough():
    from sklearn.pipeline import Pipeline

    return Pipeline([("features", "passthrough"), ("classifier", logistic())]).fit(*train())


@answer(ch09.ex11, "a custom transformer instead of k-means", INCORRECT, "does not use k-means")
def ex11_custom_transformer():
    from sklearn.preprocessing import FunctionTransformer

    return pipeline_steps(FunctionTransformer(np.sqrt), logistic()).fit(*train())


def pca_gm():
    return pipeline_steps(pca(0.99), mixture(4))


answer(ch09.ex12, "fitted on the test digits", INCORRECT, LEAK)(
    lambda: pca_gm().fit(rows("test")[0]))
answer(ch09.ex12, "fitted on X_train and X_test", INCORRECT, LEAK)(
    lambda: pca_gm().fit(rows("train", "test")[0]))


@answer(ch09.ex12, "a PCA fitted on all digits before the split", INCORRECT, LEAK)
def ex12_pca_on_everything():
    reducer = pca(0.99).fit(all_digits()[0])
    return pipeline_steps(reducer, mixture(4).fit(reducer.transform(train()[0])))


@answer(ch09.ex12, "the mixture fitted on the pixels, put after the PCA", INCORRECT,
        "the PCA before it outputs")
def ex12_mixture_on_pixels():
    X = train()[0]
    return pipeline_steps(pca(0.99).fit(X), mixture(2, covariance_type="diag").fit(X))


answer(ch09.ex13, "fitted on the test digits", INCORRECT, LEAK)(
    lambda: pca(0.99).fit(rows("test")[0]))
answer(ch09.ex13, "fitted on X_train and X_test", INCORRECT, LEAK)(
    lambda: pca(0.99).fit(rows("train", "test")[0]))
answer(ch09.ex13, "fitted on all 1,797 digits", INCORRECT, LEAK)(
    lambda: pca(0.99).fit(all_digits()[0]))
answer(ch09.ex13, "fitted on X_train and X_valid", INCORRECT, "fit it on X_train")(
    lambda: pca(0.99).fit(rows("train", "valid")[0]))


# --------------------------------------------------------------------------- chapter 10


def huber_by_minimum(y_true, y_pred, delta=1.0):
    import tensorflow as tf

    size = tf.abs(y_pred - y_true)
    inside = tf.minimum(size, delta)
    return 0.5 * inside**2 + delta * (size - inside)


def huber_by_masks(y_true, y_pred, delta=1.0):
    import tensorflow as tf

    error = tf.cast(y_true, tf.float32) - y_pred
    small = tf.cast(tf.abs(error) <= delta, tf.float32)
    return small * error * error / 2 + (1 - small) * (delta * tf.abs(error) - delta**2 / 2)


def huber_numpy(y_true, y_pred, delta=1.0):
    error = np.asarray(y_true) - np.asarray(y_pred)
    return np.where(np.abs(error) <= delta, 0.5 * error**2, delta * (np.abs(error) - 0.5 * delta))


answer(ch10.ex5, "tf.minimum", CORRECT, "differentiable")(lambda: huber_by_minimum)
answer(ch10.ex5, "masks", CORRECT, "differentiable")(lambda: huber_by_masks)
answer(ch10.ex5, "untouched", NOT_ATTEMPTED, "replace the `...`")(untouched)
answer(ch10.ex5, "averaged", INCORRECT, "single number")(
    lambda: lambda y_true, y_pred, delta=1.0: __import__("tensorflow").reduce_mean(
        huber_by_minimum(y_true, y_pred, delta)))
answer(ch10.ex5, "NumPy", INCORRECT, "cannot differentiate")(lambda: huber_numpy)
answer(ch10.ex5, "quadratic everywhere", INCORRECT, "which is wrong")(
    lambda: lambda y_true, y_pred, delta=1.0: 0.5 * (y_true - y_pred) ** 2)
answer(ch10.ex5, "linear part off by delta / 2", INCORRECT, "which is wrong")(
    lambda: lambda y_true, y_pred, delta=1.0: huber_by_minimum(y_true, y_pred, delta)
    + 0.5 * delta * __import__("tensorflow").cast(abs(y_true - y_pred) > delta, "float32"))
answer(ch10.ex5, "forgot return", INCORRECT, "returned None: did you forget")(
    lambda: lambda y_true, y_pred, delta=1.0: None)
answer(ch10.ex5, "a number", INCORRECT, "expected a function huber")(lambda: 1.0)
answer(ch10.ex5, "Keras's Huber class", INCORRECT, "raised")(
    lambda: __import__("keras").losses.Huber)


def layer_class(mode="ok"):
    import keras
    import tensorflow as tf

    class MyLayerNormalization(keras.layers.Layer):
        def build(self, input_shape):
            start = "zeros" if mode == "alpha zeros" else "ones"
            if mode != "no weights":  # created beta first, named gamma: another style
                self.beta = self.add_weight(shape=input_shape[-1:], initializer="zeros",
                                            name="beta")
                self.gamma = self.add_weight(shape=input_shape[-1:], initializer=start,
                                             name="gamma")

        def call(self, inputs):
            axis = 0 if mode == "batch axis" else -1
            mean = tf.reduce_mean(inputs, axis=axis, keepdims=True)
            std = tf.sqrt(tf.reduce_mean(tf.square(inputs - mean), axis=axis, keepdims=True))
            normalized = (inputs - mean) / (std + 1e-3)
            if mode == "no return":
                return None
            if mode in ("no weights", "no scale"):
                return normalized
            return self.gamma * normalized + self.beta

    return MyLayerNormalization


def layer_with_ops():
    import keras

    class MyLayerNormalization(keras.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.epsilon = 0.001

        def build(self, input_shape):
            self.alpha = self.add_weight(shape=(input_shape[-1],), initializer="ones")
            self.beta = self.add_weight(shape=(input_shape[-1],), initializer="zeros")

        def call(self, X):
            mean = keras.ops.mean(X, axis=-1, keepdims=True)
            variance = keras.ops.var(X, axis=-1, keepdims=True)
            return self.alpha * (X - mean) / (keras.ops.sqrt(variance) + self.epsilon) + self.beta

    return MyLayerNormalization


answer(ch10.ex12, "beta first, named gamma", CORRECT, "largest difference")(layer_class)
answer(ch10.ex12, "an instance written with keras.ops", CORRECT, "largest difference")(
    lambda: layer_with_ops()())
answer(ch10.ex12, "untouched", NOT_ATTEMPTED, "replace the `...`")(untouched)
answer(ch10.ex12, "Keras's own layer", INCORRECT, "Keras's own LayerNormalization")(
    lambda: __import__("keras").layers.LayerNormalization())
answer(ch10.ex12, "no weights", INCORRECT, "2 trainable weights")(lambda: layer_class("no weights"))
answer(ch10.ex12, "over the batch axis", INCORRECT, "differs from")(
    lambda: layer_class("batch axis"))
answer(ch10.ex12, "alpha and beta unused", INCORRECT, "not with other values")(
    lambda: layer_class("no scale"))
answer(ch10.ex12, "call forgets return", INCORRECT, "returned None: did you forget")(
    lambda: layer_class("no return"))
answer(ch10.ex12, "alpha starts at zero", INCORRECT, "alpha should start at 1")(
    lambda: layer_class("alpha zeros"))
answer(ch10.ex12, "a function", INCORRECT, "expected your layer class")(lambda: huber_by_minimum)


def loop(mode="ok"):
    """Loops written unlike the reference (eager, a Mean metric, optimizer.apply, ...)."""
    import keras
    import tensorflow as tf

    def train_loop(model, dataset, n_epochs, optimizer, loss_fn):
        if mode == "fit":
            model.compile(optimizer=optimizer, loss=loss_fn)
            history = model.fit(dataset, epochs=n_epochs, verbose=0)
            return history.history["loss"]
        trained = keras.models.clone_model(model) if mode == "copy" else model
        if mode == "copy":
            trained.set_weights(model.get_weights())
        own = keras.optimizers.SGD(learning_rate=0.1) if mode == "own optimizer" else optimizer
        mean_loss = keras.metrics.Mean()
        history = []
        for _ in range(1 if mode == "one epoch" else n_epochs):
            if mode != "never reset":
                mean_loss.reset_state()
            total = 0.0
            for X_batch, y_batch in dataset:
                with tf.GradientTape() as tape:
                    loss = loss_fn(y_batch, trained(X_batch, training=True))
                gradients = tape.gradient(loss, trained.trainable_variables)
                if mode == "ascent":
                    gradients = [-g for g in gradients]
                if mode != "no update":
                    own.apply(gradients, trained.trainable_variables)
                mean_loss.update_state(loss)
                total += float(loss)
            if mode == "last batch":
                history.append(float(loss))
            else:
                history.append(total if mode == "sum" else float(mean_loss.result()))
        if mode == "no return":
            return None
        return history

    return train_loop


def loop_with_graph_epochs():
    import tensorflow as tf

    def train_loop(model, dataset, n_epochs, optimizer, loss_fn):
        @tf.function
        def one_epoch():
            total, count = tf.constant(0.0), tf.constant(0.0)
            for X_batch, y_batch in dataset:
                with tf.GradientTape() as tape:
                    loss = loss_fn(y_batch, model(X_batch, training=True))
                grads = tape.gradient(loss, model.trainable_variables)
                optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))
                total, count = total + loss, count + 1.0
            return total / count

        return [float(one_epoch()) for _ in range(n_epochs)]

    return train_loop


answer(ch10.ex13, "eager, a Mean metric, optimizer.apply", CORRECT, "held-out MNIST images")(loop)
answer(ch10.ex13, "a graph per epoch", CORRECT, "held-out MNIST images")(loop_with_graph_epochs)
answer(ch10.ex13, "untouched", NOT_ATTEMPTED, "replace the `...`")(untouched)
answer(ch10.ex13, "trains a copy", INCORRECT, "trains a copy")(lambda: loop("copy"))
answer(ch10.ex13, "never applies the gradients", INCORRECT, "did not change")(
    lambda: loop("no update"))
answer(ch10.ex13, "compile and fit", INCORRECT, "was compiled")(lambda: loop("fit"))
answer(ch10.ex13, "sum, not mean", INCORRECT, "not their sum")(lambda: loop("sum"))
answer(ch10.ex13, "forgot return", INCORRECT, "returned None: did you forget")(
    lambda: loop("no return"))
answer(ch10.ex13, "one epoch only", INCORRECT, "one mean loss per epoch")(lambda: loop("one epoch"))
answer(ch10.ex13, "its own optimizer", INCORRECT, "not through the optimizer you were given")(
    lambda: loop("own optimizer"))
answer(ch10.ex13, "gradient ascent", INCORRECT, "should fall clearly")(lambda: loop("ascent"))
answer(ch10.ex13, "another exercise's answer (a layer class)", INCORRECT, "expected a function")(
    layer_class)


def loop_with_weighted_means():
    """Another correct style: each epoch's mean weighted by the size of its batches."""
    import tensorflow as tf

    def train_loop(model, dataset, n_epochs, optimizer, loss_fn):
        history = []
        for _ in range(n_epochs):
            total, count = 0.0, 0
            for X_batch, y_batch in dataset:
                with tf.GradientTape() as tape:
                    loss = loss_fn(y_batch, model(X_batch, training=True))
                gradients = tape.gradient(loss, model.trainable_variables)
                optimizer.apply_gradients(zip(gradients, model.trainable_variables, strict=True))
                total, count = total + float(loss) * len(y_batch), count + len(y_batch)
            history.append(total / count)
        return history

    return train_loop


answer(ch10.ex13, "means weighted by batch size", CORRECT, "held-out MNIST images")(
    loop_with_weighted_means)
answer(ch10.ex13, "a Mean metric never reset", INCORRECT, "running means")(
    lambda: loop("never reset"))
answer(ch10.ex13, "the last batch's loss", INCORRECT, "not the mean training loss of each epoch")(
    lambda: loop("last batch"))

CASES = bank.cases
#: The exercises that score a model on a split the student can reach, with how many answers of
#: their leakage family the bank holds at least (see tests/exercise_bank.py).
LEAKAGE_FAMILY = {ch09.ex10: MIN_LEAKS, ch09.ex11: MIN_LEAKS, ch09.ex12: MIN_LEAKS,
           ch09.ex13: MIN_LEAKS}
EXERCISES = [ch09.ex10, ch09.ex11, ch09.ex12, ch09.ex13, ch10.ex5, ch10.ex12, ch10.ex13]


@pytest.mark.parametrize("exercise, build, status, phrase", CASES)
def test_answer(exercise, build, status, phrase):
    run_case(exercise, build, status, phrase)


def test_every_exercise_has_enough_answers():
    check_counts(bank, EXERCISES)


def test_every_model_scoring_exercise_has_its_leakage_family():
    check_leakage_family(bank, LEAKAGE_FAMILY)
