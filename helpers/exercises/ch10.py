"""Exercises of chapter 10: custom models and training with TensorFlow.

TensorFlow is imported inside the functions, so importing this module stays cheap.
"""

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

# --------------------------------------------------------------------------- ex5: Huber loss


def _huber_reference(errors: np.ndarray, delta: float) -> np.ndarray:
    small = np.abs(errors) <= delta
    return np.where(small, 0.5 * errors**2, delta * (np.abs(errors) - 0.5 * delta))


def _check_ex5(huber):
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


def _solve_ex5():
    import tensorflow as tf

    def huber(y_true, y_pred, delta=1.0):
        error = y_true - y_pred
        abs_error = tf.abs(error)
        quadratic = 0.5 * tf.square(error)  # small errors: like the MSE
        linear = delta * (abs_error - 0.5 * delta)  # large errors: like the MAE
        return tf.where(abs_error <= delta, quadratic, linear)

    return huber


# --------------------------------------------------------------------------- ex12: layer norm


def _check_ex12(answer):
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
                        f"keras.layers.Layer; got a {type(answer).__name__}.")
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


def _solve_ex12():
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

    return MyLayerNormalization


# --------------------------------------------------------------------------- ex13: custom loop


def _check_ex13(train_loop):
    import keras
    import tensorflow as tf

    expect_callable(train_loop, "a function train_loop(model, dataset, n_epochs, optimizer, loss_fn)")
    rng = np.random.default_rng(42)
    X = rng.normal(size=(512, 3)).astype(np.float32)
    y = (X @ np.array([[2.0], [-1.0], [0.5]], dtype=np.float32) + 1.0
         + 0.1 * rng.normal(size=(512, 1)).astype(np.float32))
    dataset = tf.data.Dataset.from_tensor_slices((X, y)).shuffle(512, seed=42).batch(32)
    initializer = keras.initializers.GlorotUniform(seed=42)
    model = keras.Sequential([keras.Input(shape=(3,)),
                              keras.layers.Dense(16, activation="relu", kernel_initializer=initializer),
                              keras.layers.Dense(1, kernel_initializer=initializer)])
    before = [w.copy() for w in model.get_weights()]
    initial_mse = float(np.mean((model(X).numpy() - y) ** 2))
    n_epochs = 5
    losses = call_student(train_loop, model, dataset, n_epochs,
                          keras.optimizers.SGD(learning_rate=0.05), keras.losses.MeanSquaredError(),
                          what="your training loop")
    expect_returned(losses, "your function", "the list of per-epoch mean losses")
    losses = expect_array(losses, "per-epoch losses")
    if losses.ndim != 1 or losses.size != n_epochs:
        raise Incorrect(f"called with n_epochs={n_epochs}, your function should return one mean "
                        f"loss per epoch ({n_epochs} numbers), but it returned {losses.size}.")
    if all(np.allclose(a, b) for a, b in zip(before, model.get_weights(), strict=True)):
        raise Incorrect("the model's weights did not change: apply the gradients to "
                        "model.trainable_variables with optimizer.apply_gradients().")
    final_mse = float(np.mean((model(X).numpy() - y) ** 2))
    if not losses[-1] < 0.5 * losses[0]:
        raise Incorrect(f"the loss went from {losses[0]:.3f} (epoch 1) to {losses[-1]:.3f} "
                        f"(epoch {n_epochs}): it should fall clearly on this easy regression. "
                        "Check the sign of the update and that each batch is used.")
    if not final_mse < 0.5 * initial_mse:
        raise Incorrect(f"the model passed in did not improve (MSE {initial_mse:.3f} before, "
                        f"{final_mse:.3f} after): train the model you are given, not a copy.")
    if abs(losses[-1] - final_mse) > max(0.5, 2 * final_mse):
        raise Incorrect(f"your last epoch loss ({losses[-1]:.3f}) is far from the model's MSE "
                        f"after training ({final_mse:.3f}): return the mean loss of each epoch.")
    return f"loss {losses[0]:.3f} -> {losses[-1]:.3f} over {n_epochs} epochs"


def _solve_ex13():
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
            optimizer.apply_gradients(zip(gradients, model.trainable_variables, strict=True))
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

    return train_loop


# --------------------------------------------------------------------------- the exercises

ex5 = Exercise(
    "ex5", "Write the Huber loss as a function", _check_ex5,
    hint="""
    Compute error = y_true - y_pred, then use tf.where(tf.abs(error) <= delta, A, B) where A is
    the quadratic part 0.5 * error**2 and B the linear part, chosen so that both parts are
    equal at |error| = delta. Return one loss per instance: do not average.
    """,
    solution=_solve_ex5,
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
    solution=_solve_ex12,
)

ex13 = Exercise(
    "ex13", "Write a custom training loop that returns per-epoch losses", _check_ex13,
    hint="""
    Loop over epochs (wrap range(n_epochs) in tqdm for a progress bar), and inside over the
    batches of the dataset. For each batch: open a tf.GradientTape, compute
    loss_fn(y_batch, model(X_batch, training=True)), get tape.gradient(loss,
    model.trainable_variables) and call optimizer.apply_gradients(zip(gradients, variables)).
    Average the batch losses of each epoch and return the list of these averages.
    Decorating the step with @tf.function makes it much faster.
    """,
    solution=_solve_ex13,
)
