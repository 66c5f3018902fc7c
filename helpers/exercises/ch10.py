"""Exercises of chapter 10: custom models and training with TensorFlow.

TensorFlow is imported inside the functions, so importing this module stays cheap.
"""

from __future__ import annotations

import numpy as np

from helpers.exercises import (
    Exercise,
    Incorrect,
    a_type,
    call_student,
    expect_array,
    expect_callable,
    expect_returned,
)

# --------------------------------------------------------------------------- ex5: Huber loss


def _huber_reference(errors: np.ndarray, delta: float) -> np.ndarray:
    small = np.abs(errors) <= delta
    return np.where(small, 0.5 * errors**2, delta * (np.abs(errors) - 0.5 * delta))


def _check_ex5(huber):
    """What the prompt asks for, and how it is checked:

    * a function ``huber(y_true, y_pred, delta=1.0)`` (None returned is named);
    * returning the loss of each instance, not their mean (a single number is named);
    * equal to 0.5 e² for |e| <= delta and delta (|e| - delta / 2) beyond, for delta 1 and 2;
    * written with TensorFlow operations, so that it can be differentiated.
    """
    import tensorflow as tf

    expect_callable(huber, "a function huber(y_true, y_pred, delta=1.0)")
    rng = np.random.default_rng(42)
    y_true = rng.normal(0.0, 2.0, size=(32, 1)).astype(np.float32)
    y_pred = rng.normal(0.0, 2.0, size=(32, 1)).astype(np.float32)
    for delta in (1.0, 2.0):
        expected = _huber_reference(y_true - y_pred, delta)
        result = call_student(huber, tf.constant(y_true), tf.constant(y_pred), delta=delta)
        expect_returned(result, "your function", "the loss of each instance")
        losses = expect_array(result, f"losses returned for delta={delta}")
        if losses.size == 1:
            raise Incorrect("your function returned a single number: return one loss per instance "
                            "(Keras averages them itself, and can weight each instance).")
        if losses.size != expected.size:
            raise Incorrect(f"for 32 instances your function returned {losses.size} values, "
                            "expected one loss per instance.")
        losses = losses.reshape(expected.shape)
        if not np.allclose(losses, expected, rtol=1e-4, atol=1e-5):
            worst = int(np.argmax(np.abs(losses - expected)))
            error = float((y_true - y_pred).ravel()[worst])
            raise Incorrect(f"with delta={delta}, the loss for an error of {error:.3f} is "
                            f"{float(losses.ravel()[worst]):.4f}, which is wrong: check both the "
                            "quadratic part and the linear part (they must meet at |error| = delta).")
    # The loss must be differentiable with TensorFlow (gradient descent needs it).
    y_pred_var = tf.Variable(y_pred)
    with tf.GradientTape() as tape:
        total = tf.reduce_sum(huber(tf.constant(y_true), y_pred_var))
    gradient = tape.gradient(total, y_pred_var)
    if gradient is None:
        raise Incorrect("TensorFlow cannot differentiate your loss: use TensorFlow operations "
                        "(tf.abs, tf.square, tf.where) rather than NumPy or Python conditionals.")
    return "matches the Huber loss for delta=1 and delta=2, and it is differentiable"


# --------------------------------------------------------------------------- ex12: layer norm


def _check_ex12(answer):
    """What the prompt asks for, and how it is checked:

    * a Keras layer class (or an instance), not Keras's own LayerNormalization;
    * build() creates two trainable weights of shape input_shape[-1:], alpha at 1, beta at 0;
    * call() returns alpha * (X - mean) / (std + 0.001) + beta over each instance's features:
      the same as keras.layers.LayerNormalization, with the initial and with other weights.
    """
    import keras
    import tensorflow as tf

    if isinstance(answer, type):
        if not issubclass(answer, keras.layers.Layer):
            raise Incorrect(f"expected a Keras layer class (a subclass of keras.layers.Layer), "
                            f"got the class {answer.__name__}.")
        layer = call_student(answer, what="creating your layer with no arguments")
    else:
        layer = answer
    if not isinstance(layer, keras.layers.Layer):
        raise Incorrect("expected your layer class (or an instance of it), a subclass of "
                        f"keras.layers.Layer; got {a_type(answer)}.")
    if isinstance(layer, keras.layers.LayerNormalization):
        raise Incorrect("that is Keras's own LayerNormalization: write your own layer class.")

    n_features = 8
    if layer.built and layer.weights:
        n_features = int(layer.weights[0].shape[-1]) if layer.weights[0].shape else n_features
    rng = np.random.default_rng(42)
    X = tf.constant(rng.normal(3.0, 2.0, size=(16, n_features)).astype(np.float32))

    output = call_student(layer, X, what="calling your layer on a batch")
    expect_returned(output, "your layer's call()", "the normalized inputs")
    output = expect_array(output, "layer output", shape=(16, n_features))

    weights = [w for w in layer.trainable_weights]
    if len(weights) != 2:
        raise Incorrect(f"after it is built, your layer should have 2 trainable weights (alpha and "
                        f"beta), but it has {len(weights)}: create them in build() with "
                        "add_weight().")
    values = [np.asarray(w.numpy() if hasattr(w, "numpy") else w) for w in weights]
    for value in values:
        if value.shape != (n_features,):
            raise Incorrect(f"alpha and beta should both have shape input_shape[-1:] = "
                            f"({n_features},), found a weight of shape {value.shape}.")
    ones = [i for i, v in enumerate(values) if np.allclose(v, 1.0)]
    zeros = [i for i, v in enumerate(values) if np.allclose(v, 0.0)]
    if len(ones) != 1 or len(zeros) != 1:
        raise Incorrect("alpha should start at 1 and beta at 0 (use the 'ones' and 'zeros' "
                        "initializers).")
    alpha, beta = weights[ones[0]], weights[zeros[0]]

    reference = keras.layers.LayerNormalization(epsilon=1e-3)
    expected = reference(X).numpy()
    if not np.allclose(output, expected, atol=1e-2):
        raise Incorrect("with alpha = 1 and beta = 0, your output differs from "
                        "keras.layers.LayerNormalization: normalize each instance over its "
                        "features (the last axis), using tf.nn.moments(..., axes=-1, keepdims=True).")

    # Now with non-trivial scale and offset: are alpha and beta used the right way?
    gamma = rng.uniform(0.5, 2.0, size=n_features).astype(np.float32)
    shift = rng.uniform(-1.0, 1.0, size=n_features).astype(np.float32)
    alpha.assign(gamma)
    beta.assign(shift)
    reference.gamma.assign(gamma)
    reference.beta.assign(shift)
    output = expect_array(call_student(layer, X, what="calling your layer"), "layer output",
                          shape=(16, n_features))
    if not np.allclose(output, reference(X).numpy(), atol=2e-2):
        raise Incorrect("with alpha = 1 and beta = 0 your layer is right, but not with other "
                        "values: the output should be alpha * normalized + beta.")
    difference = float(np.max(np.abs(output - reference(X).numpy())))
    return f"largest difference from keras.layers.LayerNormalization: {difference:.1e}"


# --------------------------------------------------------------------------- ex13: custom loop


#: Exercise 13's task: a few thousand MNIST images, a small classifier, a few epochs.
LOOP_TRAIN_SIZE = 3_000
LOOP_TEST_SIZE = 1_000
LOOP_EPOCHS = 3
LOOP_MIN_ACCURACY = 0.85


def _loop_task():
    """Images scaled to [0, 1] with integer labels, as a batched dataset, plus a held-out set."""
    import tensorflow as tf

    from helpers.data import load_mnist

    (X_train, y_train), (X_test, y_test) = load_mnist(flatten=False)
    X = (X_train[:LOOP_TRAIN_SIZE] / 255.0).astype(np.float32)
    y = y_train[:LOOP_TRAIN_SIZE].astype(np.int64)
    dataset = tf.data.Dataset.from_tensor_slices((X, y)).shuffle(len(X), seed=42).batch(64)
    X_held = (X_test[:LOOP_TEST_SIZE] / 255.0).astype(np.float32)
    return dataset, (X, y), (X_held, y_test[:LOOP_TEST_SIZE])


def _loop_model():
    import keras

    init = keras.initializers.GlorotUniform(seed=42)
    return keras.Sequential([
        keras.Input(shape=(28, 28)),
        keras.layers.Flatten(),
        keras.layers.Dense(64, activation="relu", kernel_initializer=init),
        keras.layers.Dense(10, kernel_initializer=init),  # logits
    ])


def _recording_loss():
    """The task's loss (SparseCategoricalCrossentropy on logits) that also writes down the value
    of every call, in eager mode and inside a tf.function alike (into TensorFlow variables)."""
    import keras
    import tensorflow as tf

    capacity = 4_096

    class RecordingLoss(keras.losses.SparseCategoricalCrossentropy):
        def __init__(self):
            super().__init__(from_logits=True)
            self._values = tf.Variable(tf.zeros(capacity), trainable=False)
            self._calls = tf.Variable(0, trainable=False)

        def __call__(self, y_true, y_pred, sample_weight=None):
            value = super().__call__(y_true, y_pred, sample_weight=sample_weight)
            slot = tf.minimum(self._calls, capacity - 1)
            self._values.scatter_nd_update([[slot]], [tf.cast(tf.reduce_mean(value), tf.float32)])
            self._calls.assign_add(1)
            return value

        def recorded(self):
            return self._values.numpy()[:min(int(self._calls.numpy()), capacity)]

    return RecordingLoss()


def _expect_epoch_means(losses, batch_losses) -> None:
    """Each returned loss must be the mean of that epoch's batch losses, as the loss function
    recorded them. A Mean metric never reset returns running means over all epochs so far
    (named). Not verified when the calls do not split evenly into epochs."""
    calls = len(batch_losses)
    if calls == 0 or calls % LOOP_EPOCHS:
        return
    means = batch_losses.reshape(LOOP_EPOCHS, -1).mean(axis=1)
    if np.allclose(losses, means, rtol=0.05):
        return
    running = np.cumsum(means) / np.arange(1, LOOP_EPOCHS + 1)
    if np.allclose(losses, running, rtol=0.05):
        raise Incorrect(f"your losses ({', '.join(f'{v:.3f}' for v in losses)}) are running means "
                        "over all the epochs so far, not the mean of each epoch "
                        f"({', '.join(f'{v:.3f}' for v in means)}): reset the Mean metric at the "
                        "start of every epoch (mean_loss.reset_state()), or start a new sum.")
    raise Incorrect(f"your losses ({', '.join(f'{v:.3f}' for v in losses)}) are not the mean "
                    "training loss of each epoch: the batch losses your loop computed average "
                    f"to {', '.join(f'{v:.3f}' for v in means)}. Return, for each epoch, the "
                    "mean of its batch losses.")


def _check_ex13(train_loop):
    """What the prompt asks for, and how it is checked:

    * a function ``train_loop(model, dataset, n_epochs, optimizer, loss_fn)`` (a class, a
      value, a function returning None are named);
    * a custom loop (compile()/fit() is named) that trains the model it is given with the
      optimizer it is given (a loop that trains a copy, or that never applies the gradients,
      or that ignores the optimizer, is named);
    * returning a list of n_epochs mean training losses (a wrong length, a sum instead of a
      mean are named), which fall;
    * each of them the mean of that epoch's batch losses: the loss function handed to the
      loop records every value it computes (eager or in a tf.function), and the returned
      losses must match their mean per epoch within 5% (running means over all epochs so
      far, from a Mean metric never reset, are named);
    * on an image-classification task: a small classifier (Flatten, Dense(64), Dense(10)
      logits) on a few thousand MNIST images scaled to [0, 1], with
      SparseCategoricalCrossentropy(from_logits=True): held-out accuracy of at least 0.85.

    Left to the student (not checked): the tqdm progress bar, and the bonus (two optimizers).
    """
    expect_callable(train_loop, "a function train_loop(model, dataset, n_epochs, optimizer, loss_fn)")
    if isinstance(train_loop, type):
        raise Incorrect(f"expected a function train_loop(...), got the class {train_loop.__name__}.")
    import keras

    keras.utils.set_random_seed(42)  # the same shuffling and initial weights on every check
    dataset, (X, y), (X_held, y_held) = _loop_task()
    model = _loop_model()
    loss_fn = _recording_loss()
    optimizer = keras.optimizers.Adam(learning_rate=2e-3)
    before = [w.copy() for w in model.get_weights()]
    losses = call_student(train_loop, model, dataset, LOOP_EPOCHS, optimizer, loss_fn,
                          what="your training loop")
    batch_losses = loss_fn.recorded()
    expect_returned(losses, "your function", "the list of per-epoch mean losses")
    losses = expect_array(losses, "per-epoch losses")
    if losses.ndim != 1 or losses.size != LOOP_EPOCHS:
        raise Incorrect(f"called with n_epochs={LOOP_EPOCHS}, your function should return one "
                        f"mean loss per epoch ({LOOP_EPOCHS} numbers), but it returned "
                        f"{losses.size}.")
    if getattr(model, "optimizer", None) is not None:
        raise Incorrect("the model was compiled: write the loop yourself (GradientTape, "
                        "gradients, optimizer.apply_gradients) instead of compile() and fit().")
    unchanged = all(np.allclose(a, b) for a, b in zip(before, model.get_weights(), strict=True))
    falling = bool(losses[-1] < 0.8 * losses[0])
    if unchanged and falling:
        raise Incorrect(f"your losses fell ({losses[0]:.3f} -> {losses[-1]:.3f}), but the model "
                        "you were given did not change at all: your loop trains a copy. Train "
                        "`model` itself (its trainable_variables), and do not clone it.")
    if unchanged:
        raise Incorrect("the model's weights did not change: compute the gradients of the loss "
                        "with respect to model.trainable_variables and apply them with "
                        "optimizer.apply_gradients().")
    if int(optimizer.iterations.numpy()) == 0:
        raise Incorrect("the model changed, but not through the optimizer you were given: use "
                        "that optimizer's apply_gradients(), not one you create inside.")
    logits = model(X_held, training=False)
    accuracy = float(np.mean(np.argmax(np.asarray(logits), axis=1) == y_held))
    final_loss = float(loss_fn(y, model(X, training=False)))
    if losses[-1] > 5 * max(final_loss, 0.05):
        raise Incorrect(f"your last epoch's loss ({losses[-1]:.3f}) is far above the model's loss "
                        f"after training ({final_loss:.3f}): return the mean batch loss of each "
                        "epoch, not their sum.")
    _expect_epoch_means(losses, batch_losses)
    if not falling:
        raise Incorrect(f"the loss went from {losses[0]:.3f} (epoch 1) to {losses[-1]:.3f} "
                        f"(epoch {LOOP_EPOCHS}): it should fall clearly. Check that every batch "
                        "updates the weights and the sign of the update.")
    if accuracy < LOOP_MIN_ACCURACY:
        raise Incorrect(f"after training, the classifier's accuracy on {LOOP_TEST_SIZE:,} "
                        f"held-out images is {accuracy:.3f}, below {LOOP_MIN_ACCURACY}: check "
                        "that each batch's loss compares y_batch with model(X_batch) and that "
                        "every batch of every epoch is used.")
    return (f"loss {losses[0]:.3f} -> {losses[-1]:.3f} over {LOOP_EPOCHS} epochs; accuracy "
            f"{accuracy:.3f} on {LOOP_TEST_SIZE:,} held-out MNIST images")


# --------------------------------------------------------------------------- the exercises

ex5 = Exercise(
    "ex5", "Write the Huber loss as a function", _check_ex5,
    hint="""
    Compute error = y_true - y_pred, then use tf.where(tf.abs(error) <= delta, A, B) where A is
    the quadratic part 0.5 * error**2 and B the linear part, chosen so that both parts are
    equal at |error| = delta. Return one loss per instance: do not average.
    """,
    solution="""
    import tensorflow as tf


    def huber(y_true, y_pred, delta=1.0):
        error = y_true - y_pred
        size = tf.abs(error)
        near = 0.5 * tf.square(error)  # small errors: like the MSE
        far = delta * (size - 0.5 * delta)  # large errors: like the MAE, meeting at delta
        return tf.where(size <= delta, near, far)
    """,
    defines="huber",
)

ex12 = Exercise(
    "ex12", "Implement a layer-normalization layer", _check_ex12,
    hint="""
    Subclass keras.layers.Layer. In build(input_shape), create alpha and beta with
    self.add_weight(shape=input_shape[-1:], initializer="ones" / "zeros"). In call(X), get the
    mean and variance of each instance with tf.nn.moments(X, axes=-1, keepdims=True), then
    return alpha * (X - mean) / (sqrt(variance) + epsilon) + beta, with epsilon = 0.001.
    Pass the class itself to the check.
    """,
    solution="""
    import keras
    import tensorflow as tf


    class MyLayerNormalization(keras.layers.Layer):
        def __init__(self, epsilon=1e-3, **kwargs):
            super().__init__(**kwargs)
            self.epsilon = epsilon

        def build(self, input_shape):
            self.alpha = self.add_weight(name="alpha", shape=input_shape[-1:],
                                         initializer="ones", dtype="float32")
            self.beta = self.add_weight(name="beta", shape=input_shape[-1:],
                                        initializer="zeros", dtype="float32")

        def call(self, X):
            mean, variance = tf.nn.moments(X, axes=-1, keepdims=True)
            return self.alpha * (X - mean) / (tf.sqrt(variance) + self.epsilon) + self.beta

        def get_config(self):
            return {**super().get_config(), "epsilon": self.epsilon}
    """,
    defines="MyLayerNormalization",
)

ex13 = Exercise(
    "ex13", "A custom training loop for an image classifier", _check_ex13,
    hint="""
    Loop over epochs (wrap range(n_epochs) in tqdm for a progress bar), and inside over the
    batches of the dataset. For each batch: open a tf.GradientTape, compute
    loss_fn(y_batch, model(X_batch, training=True)), get tape.gradient(loss,
    model.trainable_variables) and call optimizer.apply_gradients(zip(gradients, variables)).
    Average the batch losses of each epoch and return the list of these averages.
    Decorating the step with @tf.function makes it much faster.
    """,
    solution="""
    import tensorflow as tf
    from tqdm.auto import tqdm


    def train_loop(model, dataset, n_epochs, optimizer, loss_fn):
        @tf.function
        def train_step(X_batch, y_batch):
            with tf.GradientTape() as tape:
                y_pred = model(X_batch, training=True)
                loss = loss_fn(y_batch, y_pred)
                if model.losses:  # regularization losses, if the model has any
                    loss += tf.add_n(model.losses)
            gradients = tape.gradient(loss, model.trainable_variables)
            optimizer.apply_gradients(zip(gradients, model.trainable_variables))
            return loss

        epoch_losses = []
        progress = tqdm(range(n_epochs), desc="training", unit="epoch")
        for _ in progress:
            total, n_batches = 0.0, 0
            for X_batch, y_batch in dataset:
                total += float(train_step(X_batch, y_batch))
                n_batches += 1
            epoch_losses.append(total / n_batches)
            progress.set_postfix(loss=f"{epoch_losses[-1]:.4f}")
        return epoch_losses
    """,
    defines="train_loop",
)
