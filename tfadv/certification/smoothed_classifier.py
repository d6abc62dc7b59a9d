"""`SmoothedClassifier`: randomized smoothing's Monte-Carlo prediction and l2 certification."""

import functools
import time

import keras
import numpy as np
import tensorflow as tf
from scipy import stats

from tfadv import backend
from tfadv.attacks.attack import model_logits
from tfadv.certification.certification_report import CertificationReport
from tfadv.utils import validation

#: The class `SmoothedClassifier.predict` returns where the vote cannot decide (it abstains).
ABSTAIN = -1
#: Keys of the stateless draws (JAX, PyTorch) are pairs of int32 below this.
_KEY_MAX = 2**31 - 1


def lower_confidence_bound(successes, trials, alpha):
    """One-sided Clopper-Pearson lower bound on a binomial proportion, at confidence `1 - alpha`.

    The `alpha` quantile of `Beta(successes, trials - successes + 1)` (`0` when `successes` is
    0), i.e. the lower end of statsmodels' `proportion_confint(successes, trials, alpha=2 * alpha,
    method="beta")` used by the reference code. Works elementwise on arrays.
    """
    successes = np.asarray(successes, np.float64)
    bound = stats.beta.ppf(alpha, np.maximum(successes, 1.0), trials - successes + 1.0)
    return np.where(successes > 0, bound, 0.0)


class SmoothedClassifier:
    """The smoothed classifier `g(x) = argmax_c P(f(x + d) = c)`, `d ~ N(0, sigma^2 I)`.

    `g` is estimated by Monte Carlo from the base classifier `f`, with the procedures of Cohen et
    al., which abstain (return `-1`) rather than answer with too little evidence:

    - `certify`: `n0` noisy samples pick the top class `c`; `n` fresh samples give the one-sided
      Clopper-Pearson lower bound `pA` on `P(f(x + d) = c)` at confidence `1 - alpha`; if
      `pA < 1/2` it abstains, otherwise it returns `c` and the l2 radius `sigma * Phi^-1(pA)`,
      within which `g`'s prediction provably cannot change (with probability `1 - alpha` over the
      sampling).
    - `predict`: `n` samples; a two-sided binomial test between the two most frequent classes;
      it returns the top class when the p-value is <= `alpha` and abstains otherwise (the
      returned class is `g(x)` with probability at least `1 - alpha`).

    The noise is added in the classifier's input space (pixels in [0, 1]) and not clipped. Train
    the base classifier at the same `sigma` (`tfadv.methods.GaussianAugmentation`).

    Every Keras backend: on TensorFlow the noise comes from a `tf.random.Generator` (seeded by
    `seed`) in a `tf.function`; on JAX and PyTorch each chunk of at most `batch_size` samples
    draws stateless noise (`tfadv.backend.normal`) from its own key, `[seed, chunk number]` (or
    a fresh key without a seed), in a function compiled by `tfadv.backend.compiled_call`. A
    fixed seed reproduces the counts on one backend; the backends' draws differ.

    Args:
        classifier: a `keras.Model` mapping images to logits.
        sigma: float > 0, the noise standard deviation.
        batch_size: int >= 1, noisy samples per forward pass. Defaults to `1000`.
        seed: optional int for reproducible sampling. Defaults to `None`.

    Example:

    ```python
    smoothed = tfadv.certification.SmoothedClassifier(classifier, sigma=0.25, seed=0)
    predictions, radii = smoothed.certify(x_test[:10], n0=100, n=10_000, alpha=0.001)
    report = smoothed.evaluate(x_test[:500], y_test[:500], n=10_000)
    print(report.table())
    ```

    Reference:
        Cohen, Rosenfeld, Kolter, "Certified Adversarial Robustness via Randomized Smoothing",
        ICML 2019.
    """

    def __init__(self, classifier, sigma, *, batch_size=1000, seed=None):
        if not isinstance(classifier, keras.Model):
            raise TypeError(
                f"`classifier` must be a keras.Model returning logits. Received: "
                f"classifier={classifier!r}"
            )
        self.classifier = classifier
        self.sigma = validation.check_number("sigma", sigma, minimum=0.0, strict=True)
        self.batch_size = validation.check_number("batch_size", batch_size, minimum=1, integer=True)
        if seed is not None:
            seed = validation.check_number("seed", seed, minimum=0, integer=True)
        self.seed = seed
        if backend.name() != "tensorflow":
            self._generator = None
            self._chunks = 0  # the keys drawn so far (seeded), see `_next_key`
            self._count_fns = {}  # one compiled count function per number of samples
        elif seed is None:
            self._generator = tf.random.Generator.from_non_deterministic_state()
        else:
            self._generator = tf.random.Generator.from_seed(seed)
        if self._generator is not None:
            self._count_fn = tf.function(self._count_chunk, reduce_retracing=True)

    # ------------------------------------------------------------------------------- sampling
    def _count_chunk(self, x, samples, num_classes):
        noise = self._generator.normal(tf.concat([[samples], tf.shape(x)], 0), dtype=tf.float32)
        noisy = x[None] + self.sigma * noise
        predictions = tf.argmax(model_logits(self.classifier, noisy), axis=-1, output_type=tf.int32)
        return tf.math.bincount(
            predictions, minlength=num_classes, maxlength=num_classes, dtype=tf.int64
        )

    def _count_chunk_ops(self, x, key, samples, num_classes):
        """JAX and PyTorch: the counts of `samples` noisy copies of `x`, the noise drawn
        statelessly from `key` (`tfadv.backend.normal`)."""
        noise = backend.normal((samples, *keras.ops.shape(x)), key)
        noisy = x[None] + self.sigma * noise
        predictions = keras.ops.argmax(model_logits(self.classifier, noisy), axis=-1)
        return keras.ops.sum(keras.ops.one_hot(predictions, num_classes, dtype="int32"), axis=0)

    def _next_key(self):
        """The next chunk's key: `[seed, chunk number]` with a seed, else a fresh one (from
        NumPy's generator, which `keras.utils.set_random_seed` seeds)."""
        if self.seed is None:
            return backend.fresh_key()
        key = np.array([self.seed % _KEY_MAX, self._chunks % _KEY_MAX], np.int32)
        self._chunks += 1
        return keras.ops.convert_to_tensor(key)

    def _count_ops(self, image, samples, num_classes):
        if samples not in self._count_fns:  # the noise's shape is static under `jax.jit`
            count = functools.partial(self._count_chunk_ops, samples=samples,
                                      num_classes=num_classes)  # fmt: skip
            self._count_fns[samples] = backend.compiled_call(count, self.classifier)
        with backend.no_grad():
            counts = self._count_fns[samples](image, self._next_key())
        return np.asarray(keras.ops.convert_to_numpy(counts), np.int64)

    def sample_counts(self, x, n):
        """Counts of `f(x + d)` per class over `n` noise draws, for each image of `x`.

        Args:
            x: images `(N, *input_shape)` in [0, 1], the classifier's input space.
            n: int >= 1, noise samples per image.

        Returns:
            An int64 array `[len(x), num_classes]`.
        """
        x = self._check_x(x)
        n = validation.check_number("n", n, minimum=1, integer=True)
        return self._counts(x, n)

    def _check_x(self, x):
        x, _ = validation.check_inputs(x, model=self.classifier)
        return x

    def _counts(self, x, n):
        if self._generator is None:
            return self._counts_ops(x, n)
        num_classes = tf.constant(self._num_classes(x), tf.int32)
        counts = np.zeros((len(x), int(num_classes)), np.int64)
        for i, image in enumerate(x):
            image = tf.constant(image)
            remaining = n
            while remaining > 0:
                samples = min(self.batch_size, remaining)
                counts[i] += self._count_fn(image, tf.constant(samples, tf.int32), num_classes)
                remaining -= samples
        return counts

    def _counts_ops(self, x, n):
        """`_counts` on JAX and PyTorch, in the same chunks of at most `batch_size` samples."""
        num_classes = self._num_classes(x)
        counts = np.zeros((len(x), num_classes), np.int64)
        for i, image in enumerate(x):
            image = keras.ops.convert_to_tensor(image)
            remaining = n
            while remaining > 0:
                samples = min(self.batch_size, remaining)
                counts[i] += self._count_ops(image, samples, num_classes)
                remaining -= samples
        return counts

    def _num_classes(self, x):
        shape = getattr(self.classifier, "output_shape", None)
        if isinstance(shape, tuple) and shape[-1] is not None:
            return int(shape[-1])
        if self._generator is None:
            with backend.no_grad():
                logits = model_logits(self.classifier, keras.ops.convert_to_tensor(x[:1]))
            return int(keras.ops.shape(logits)[-1])
        return int(model_logits(self.classifier, x[:1]).shape[-1])

    # ---------------------------------------------------------------------------- procedures
    def predict(self, x, *, n=100_000, alpha=0.001):
        """Cohen et al.'s PREDICT: the top class per image, or `-1` (abstain).

        Args:
            x: images `(N, *input_shape)` in [0, 1], the classifier's input space.
            n: int >= 1, noise samples per image. Defaults to `100_000`.
            alpha: float in (0, 1), the probability of returning a class other than `g(x)`.
                Defaults to `0.001`.

        Returns:
            An int64 array of classes, `-1` where the procedure abstains.
        """
        alpha = _check_alpha(alpha)
        n = validation.check_number("n", n, minimum=1, integer=True)
        counts = self._counts(self._check_x(x), n)
        order = np.argsort(-counts, axis=1, kind="stable")
        rows = np.arange(len(counts))
        top, runner_up = counts[rows, order[:, 0]], counts[rows, order[:, 1]]
        predictions = order[:, 0].astype(np.int64)
        for i in rows:
            p_value = stats.binomtest(int(top[i]), int(top[i] + runner_up[i]), 0.5).pvalue
            if p_value > alpha:
                predictions[i] = ABSTAIN
        return predictions

    def certify(self, x, *, n0=100, n=100_000, alpha=0.001):
        """Cohen et al.'s CERTIFY: a class and a certified l2 radius per image.

        Args:
            x: images `(N, *input_shape)` in [0, 1], the classifier's input space.
            n0: int >= 1, samples that select the top class. Defaults to `100`.
            n: int >= 1, samples that estimate its probability. Defaults to `100_000`.
            alpha: float in (0, 1), the failure probability of the certificate. Defaults to
                `0.001`.

        Returns:
            `(predictions, radii)`: int64 classes (`-1` where it abstains) and float64 l2 radii
            (`0` where it abstains).
        """
        alpha = _check_alpha(alpha)
        n0 = validation.check_number("n0", n0, minimum=1, integer=True)
        n = validation.check_number("n", n, minimum=1, integer=True)
        return self._certify(self._check_x(x), n0, n, alpha)

    def _certify(self, x, n0, n, alpha):
        selected = np.argmax(self._counts(x, n0), axis=1)
        counts = self._counts(x, n)
        successes = counts[np.arange(len(counts)), selected]
        p_lower = lower_confidence_bound(successes, n, alpha)
        certified = p_lower >= 0.5
        radii = np.where(certified, self.sigma * stats.norm.ppf(np.maximum(p_lower, 0.5)), 0.0)
        predictions = np.where(certified, selected, ABSTAIN).astype(np.int64)
        return predictions, radii.astype(np.float64)

    def evaluate(self, x, y, *, n0=100, n=100_000, alpha=0.001):
        """Runs `certify` on labelled data and returns a `tfadv.certification.CertificationReport`.

        Args:
            x: images `(N, *input_shape)` in [0, 1].
            y: integer class ids of shape `(N,)`.
            n0: as in `certify`.
            n: as in `certify`.
            alpha: as in `certify`.
        """
        alpha = _check_alpha(alpha)
        n0 = validation.check_number("n0", n0, minimum=1, integer=True)
        n = validation.check_number("n", n, minimum=1, integer=True)
        x, y = validation.check_inputs(x, y, model=self.classifier)
        start = time.perf_counter()
        predictions, radii = self._certify(x, n0, n, alpha)
        return CertificationReport(
            sigma=self.sigma,
            n0=n0,
            n=n,
            alpha=alpha,
            labels=y.tolist(),
            predictions=predictions.tolist(),
            radii=radii.tolist(),
            seconds=time.perf_counter() - start,
        )

    # ----------------------------------------------------------------------------- serialisation
    def get_config(self):
        return {
            "classifier": keras.saving.serialize_keras_object(self.classifier),
            "sigma": self.sigma,
            "batch_size": self.batch_size,
            "seed": self.seed,
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        config["classifier"] = keras.saving.deserialize_keras_object(
            config["classifier"], custom_objects=custom_objects
        )
        return cls(**config)


def _check_alpha(alpha):
    alpha = validation.check_number("alpha", alpha, minimum=0.0, strict=True)
    if alpha >= 1.0:
        raise ValueError(f"`alpha` must be in (0, 1). Received: alpha={alpha!r}")
    return alpha
