"""The Square attack (Andriushchenko et al. 2020): score-based black-box random search."""

import keras
import tensorflow as tf
from keras import ops

from tfadv import backend
from tfadv.attacks import _ops
from tfadv.attacks._square_search import SEARCHES, fold_in, p_selection
from tfadv.attacks.attack import Attack
from tfadv.utils import validation


def _as_images(x):
    """Views `x` as `[batch, height, width, channels]` (vectors as one-row images)."""
    rank = len(x.shape)
    if rank == 4:
        return x
    if rank == 3:
        return x[..., None]
    if rank == 2:
        return x[:, None, :, None]
    raise ValueError(
        "Square needs inputs of shape (batch, features), (batch, height, width) or "
        f"(batch, height, width, channels). Received: x of shape {x.shape}"
    )


@keras.saving.register_keras_serializable(package="tfadv")
class Square(Attack):
    """The Square attack: score-based black-box random search in the epsilon ball (l-inf or l2).

    Square never computes a gradient: it only queries the model's logits. It starts from vertical
    stripes of `+-eps` (l-inf) or from a grid of square patterns (l2), and at every query proposes a
    change of the current best perturbation on a random square window whose side shrinks with a
    fixed schedule (a share `p` of the pixels, from `p_init` down to `p_init / 512`: halved after
    iterations 10, 50, 200, 500, 1000, 2000, 4000, 6000 and 8000, as AutoAttack runs it; with
    `rescale_schedule=True` the iteration is first rescaled to a 10,000-query budget, as in the
    original Square code). The proposal is kept when it lowers the margin loss
    `z_y - max_{j != y} z_j` (or misclassifies the example).
    Examples already misclassified stop querying. With `restarts > 1` the search starts again, from
    new random points, on the examples it did not fool.

    Because it needs no gradient, Square is the attack that exposes gradient masking: a defence that
    resists the gradient attacks but not Square has obfuscated gradients (AutoAttack runs it last).

    Windows and signs are drawn per example (the original Square code; AutoAttack's shares one
    window per batch), positions uniformly over all valid windows. Under l2 the window update is
    normalised per channel over height and width, as in both references. Inputs are viewed as NHWC
    images; vectors `(batch, features)` as one-row images.

    Threat model: l-inf or l2 ball of radius `eps` intersected with [0, 1]. Input contract: images
    in [0, 1] with static height, width and channels, integer labels, a model returning logits.

    Args:
        eps: float, the radius. Defaults to `0.3` (MNIST l-inf).
        norm: `"linf"` or `"l2"`. Defaults to `"linf"`.
        n_queries: int >= 1, the query budget per example and restart. Defaults to `5000`
            (AutoAttack).
        p_init: float in (0, 1], the initial share of pixels changed per query. Defaults to `0.8`
            (AutoAttack).
        restarts: int >= 1, random restarts on the examples not yet fooled. Defaults to `1`.
        loss: `"margin"` (the logit margin) or `"ce"` (minus the cross-entropy), the score that a
            proposal must lower. Defaults to `"margin"`.
        rescale_schedule: bool, rescale the iteration to 10,000 queries before the `p` schedule
            (the original Square code's `resc_schedule=True`). Defaults to `False` (AutoAttack).
        seed: optional int for a reproducible search. Defaults to `None`.

    Example:

    ```python
    attack = tfadv.attacks.Square(eps=0.3, n_queries=5000)
    x_adv = attack(model, x, y)
    ```

    Reference:
        Andriushchenko, Croce, Flammarion, Hein, "Square Attack: a query-efficient black-box
        adversarial attack via random search", ECCV 2020.
    """

    #: Square only queries the model's outputs; evaluation treats it as the black-box check.
    gradient_free = True

    registry_name = "square"
    backends = backend.BACKENDS
    small_budget = {"n_queries": 20, "restarts": 2}

    def __init__(
        self,
        *,
        eps=0.3,
        norm="linf",
        n_queries=5000,
        p_init=0.8,
        restarts=1,
        loss="margin",
        rescale_schedule=False,
        seed=None,
    ):
        super().__init__(eps=eps, norm=norm, seed=seed)
        self.n_queries = validation.check_steps(n_queries, "n_queries")
        self.p_init = validation.check_number(
            "p_init", p_init, minimum=0.0, strict=True, maximum=1.0
        )
        self.restarts = validation.check_steps(restarts, "restarts")
        self.loss = validation.check_choice("loss", loss, ("margin", "ce"))
        self.rescale_schedule = bool(rescale_schedule)
        self._search = SEARCHES[self.threat_model.name]

    def window_side(self, i, height, width):
        """The side of the square window at iteration `i` on `height x width` images."""
        p = p_selection(i, self.n_queries, self.p_init, self.rescale_schedule)
        return self._search.window_side(p, height, width)

    def _single_run(self, score, x, y, eps, key, active=None):
        """One search on the NHWC images `x`; returns `(x_best, margin, queries)` per example.

        Only the examples that `active` marks (all when `None`) search; the others keep their
        start and spend no query. An example stops searching once it is fooled (margin <= 0).
        """
        height, width = x.shape[1], x.shape[2]
        init_key, loop_key = _ops.split_key(key, 2)
        x_best = self._search.start(x, eps, init_key)
        margin, loss = score(x_best, y)
        if active is None:
            queries = ops.ones(ops.shape(x)[:1], "float32")
        else:
            queries = ops.cast(active, "float32")
        sides = self.window_side(ops.arange(self.n_queries, dtype="int32"), height, width)
        context = self._search.context(x, eps)

        def step(i, y, context, best, margin, loss, searching=None):
            """One query: propose, score, keep the improvements (of the searching examples)."""
            keys = _ops.split_key(fold_in(loop_key, i), 6)
            x_new = self._search.propose(context, best, eps, ops.take(sides, i), keys)
            margin_new, loss_new = score(x_new, y)
            improved = loss_new < loss
            fooled = margin_new <= 0.0
            if searching is not None:
                improved = ops.logical_and(improved, searching)
                fooled = ops.logical_and(fooled, searching)
            loss = ops.where(improved, loss_new, loss)
            improved = ops.logical_or(improved, fooled)
            margin = ops.where(improved, margin_new, margin)
            best = _ops.select(improved, x_new, best)
            return best, margin, loss

        state = (x_best, margin, loss, queries)
        if _compacts():
            return _search_compacted(step, self.n_queries, y, context, state)
        searching = margin > 0.0
        if active is not None:
            searching = ops.logical_and(searching, active)

        def cond(i, state, searching):
            return ops.logical_and(i < self.n_queries, ops.any(searching))

        def body(i, state, searching):
            best, margin, loss, queries = state
            best, margin, loss = step(i, y, context, best, margin, loss, searching)
            queries = queries + ops.cast(searching, "float32")
            return i + 1, (best, margin, loss, queries), ops.logical_and(searching, margin > 0.0)

        start = ops.convert_to_tensor(0, "int32")
        _, state, _ = backend.while_loop(cond, body, (start, state, searching))
        x_best, margin, _, queries = state
        return x_best, margin, queries

    def _restart(self, score, images, y, eps, key, state):
        """Searches again on the examples not yet fooled and keeps the better result of each."""
        best, margin, queries = state
        remaining = margin > 0.0
        if _compacts():
            return _restart_compacted(
                lambda *args: self._single_run(score, *args, eps, key), images, y, state
            )
        new_best, new_margin, new_queries = self._single_run(
            score, images, y, eps, key, active=remaining
        )
        better = ops.logical_and(remaining, new_margin < margin)
        return (
            _ops.select(better, new_best, best),
            ops.where(remaining, ops.minimum(new_margin, margin), margin),
            queries + new_queries,
        )

    def perturb(self, model, x, y, eps, clean_logits, step_scale):
        images = _as_images(x)
        if None in tuple(images.shape[1:]):
            raise ValueError(
                "Square needs static image dimensions (height, width, channels). "
                f"Received: x of shape {x.shape}"
            )
        input_shape = (-1, *x.shape[1:])

        def score(candidates, labels):
            logits = self.logits(model, ops.reshape(candidates, input_shape))
            margin = _ops.margin(logits, labels)
            if self.loss == "margin":
                return margin, margin
            return margin, -ops.sparse_categorical_crossentropy(labels, logits, from_logits=True)

        key = self.seed_key(x, 0)
        state = self._single_run(score, images, y, eps, key)
        for restart in range(1, self.restarts):
            restart_key = fold_in(key, restart)
            state = self._restart(score, images, y, eps, restart_key, state)
        best, _, queries = state
        zeros = ops.zeros(ops.shape(x)[:1], "float32")
        return ops.reshape(best, ops.shape(x)), {"grad_evals": zeros, "queries": queries}

    def get_config(self):
        config = super().get_config()
        config.update(
            n_queries=self.n_queries,
            p_init=self.p_init,
            restarts=self.restarts,
            loss=self.loss,
            rescale_schedule=self.rescale_schedule,
        )
        return config


# ------------------------------------------------------------------------------ the active examples
def _compacts():
    """Whether the search gathers the examples still searching into compact tensors (TensorFlow, a
    measured speed win: a query costs a forward pass on those examples only). Under `jax.jit`
    shapes are static, so the other backends query the whole batch and freeze, per example, the
    ones that have stopped."""
    return backend.name() == "tensorflow"


def _search_compacted(step, n_queries, y, context, full):
    """TensorFlow: the loop carries the examples still searching (margin > 0) gathered into
    compact tensors, and writes them back into the full ones only when one of them is fooled (and
    at the end): a query costs the proposal and one forward pass on the active examples, with no
    gather or scatter of the whole batch."""

    def gather(full):
        idx = tf.cast(tf.where(full[1] > 0.0)[:, 0], tf.int32)[:, None]
        per_example = (y, *context, *full)
        return (idx, *(tf.gather_nd(t, idx) for t in per_example))

    def flush(full, active):
        idx, values = active[0], active[-len(full) :]
        return tuple(tf.tensor_scatter_nd_update(t, idx, v) for t, v in zip(full, values))

    def cond(i, full, active):
        return tf.logical_and(i < n_queries, tf.size(active[0]) > 0)

    def body(i, full, active):
        idx, y_c, *context_c, best_c, margin_c, loss_c, queries_c = active
        best_c, margin_c, loss_c = step(i, y_c, context_c, best_c, margin_c, loss_c)
        active = (idx, y_c, *context_c, best_c, margin_c, loss_c, queries_c + 1.0)

        def regather():
            flushed = flush(full, active)
            return flushed, gather(flushed)

        full, active = tf.cond(tf.reduce_any(margin_c <= 0.0), regather, lambda: (full, active))
        return i + 1, full, active

    _, full, active = tf.while_loop(
        cond, body, [tf.constant(0), full, gather(full)], parallel_iterations=1
    )
    x_best, margin, _, queries = flush(full, active)
    return x_best, margin, queries


def _restart_compacted(single_run, images, y, state):
    """TensorFlow: `single_run` on the examples not yet fooled, gathered; the better result of
    each scattered back."""
    best, margin, queries = state
    remaining = tf.cast(tf.where(margin > 0.0)[:, 0], tf.int32)[:, None]

    def rerun():
        new_best, new_margin, new_queries = single_run(
            tf.gather_nd(images, remaining), tf.gather_nd(y, remaining)
        )
        old_margin = tf.gather_nd(margin, remaining)
        new_best = _ops.select(new_margin < old_margin, new_best, tf.gather_nd(best, remaining))
        return (
            tf.tensor_scatter_nd_update(best, remaining, new_best),
            tf.tensor_scatter_nd_update(margin, remaining, tf.minimum(new_margin, old_margin)),
            tf.tensor_scatter_nd_add(queries, remaining, new_queries),
        )

    return tf.cond(tf.size(remaining) > 0, rerun, lambda: state)
