"""Auto-PGD (Croce and Hein 2020): PGD with momentum, checkpoints and step-size halving."""

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from tfadv import backend
from tfadv.attacks import _ops
from tfadv.attacks.attack import Attack
from tfadv.attacks.losses import cross_entropy
from tfadv.utils import validation

# Kept importable from here (tests and evaluation read them by these names).
dlr_loss = _ops.dlr
targeted_dlr_loss = _ops.targeted_dlr


def checkpoint_schedule(steps):
    """APGD's checkpoints: `(is_checkpoint[i], window[i])` for iterations `i = 0 .. steps - 1`.

    The first checkpoint comes after `p_1 = max(int(0.22 N), 1)` iterations; each following window
    is shorter by `max(int(0.03 N), 1)` iterations, down to `max(int(0.06 N), 1)` (Croce and Hein
    2020).
    """
    first = max(int(0.22 * steps), 1)
    minimum = max(int(0.06 * steps), 1)
    decrease = max(int(0.03 * steps), 1)
    is_checkpoint = np.zeros(steps, dtype=bool)
    window = np.zeros(steps, dtype=np.float32)
    length, counter = first, 0
    for i in range(steps):
        counter += 1
        if counter == length:
            is_checkpoint[i] = True
            window[i] = length
            counter = 0
            length = max(length - decrease, minimum)
    return is_checkpoint, window


#: The values of APGD's `checkpoint_rule`: AutoAttack's code, or the paper's Algorithm 1.
CHECKPOINT_RULES = ("autoattack", "paper")


def checkpoint_decision(
    i,
    loss,
    loss_prev,
    loss_best,
    n_increase,
    loss_best_ck,
    reduced_ck,
    *,
    is_checkpoint,
    window,
    rho,
    rule="autoattack",
):
    """APGD's step-size control for iteration `i`: whether to halve each example's step size.

    The loop of `APGD` calls this once per iteration, after the loss `loss` of the iterate reached
    at iteration `i` (0-based) is known and `loss_best` includes it. It counts whether the loss rose
    (`loss > loss_prev`) and, at a checkpoint of `checkpoint_schedule`, halves the step where (a)
    the loss rose in at most `rho * window` of the window's steps, or (b) the step was not halved
    at the last checkpoint and the best loss has not improved since. Pure: tensors in, tensors out.

    The two rules differ only in what the first step's loss is compared with. `"paper"`
    (Algorithm 1 of Croce and Hein 2020) compares it with the loss at the starting point.
    `"autoattack"` does what fra31/auto-attack's code does: its buffer of per-step losses starts
    at the first step and is zero-initialised, and `check_oscillation` compares the first step's
    loss with the buffer's last entry, which is still 0 when `N >= 2` (so at the first checkpoint
    a positive loss, such as cross-entropy, counts one increase, and a negative one, such as DLR
    on a correctly classified example, none), and is the first step's loss itself when `N == 1`
    (no increase).

    Args:
        i: scalar int tensor, the iteration.
        loss: float tensor `(n,)`, the loss after iteration `i`.
        loss_prev: float tensor `(n,)`, the loss after iteration `i - 1`; at `i == 0` the loss at
            the starting point.
        loss_best: float tensor `(n,)`, the highest loss so far, iteration `i` included.
        n_increase: float tensor `(n,)`, the increases counted since the last checkpoint.
        loss_best_ck: float tensor `(n,)`, `loss_best` at the last checkpoint (the starting loss
            before the first).
        reduced_ck: bool tensor `(n,)`, whether the step was halved at the last checkpoint (True
            before the first).
        is_checkpoint: bool array `(N,)`, from `checkpoint_schedule(N)`.
        window: float array `(N,)`, from `checkpoint_schedule(N)`.
        rho: float, the share of increasing steps at or below which the step is halved.
        rule: `"autoattack"` or `"paper"`. Defaults to `"autoattack"`.

    Returns:
        `(reduce, n_increase, loss_best_ck, reduced_ck)`: `reduce` (bool `(n,)`) says where the
        step size is halved (and the example goes back to its best point) after iteration `i`;
        the other three are the updated counters.
    """
    if validation.check_choice("rule", rule, CHECKPOINT_RULES) == "autoattack":
        first_prev = ops.zeros_like(loss) if is_checkpoint.shape[0] > 1 else loss
        loss_prev = ops.where(ops.equal(i, 0), first_prev, loss_prev)
    n_increase = n_increase + ops.cast(loss > loss_prev, "float32")
    at_checkpoint = ops.take(is_checkpoint, i)
    oscillating = n_increase <= rho * ops.take(window, i)
    no_improvement = ops.logical_and(ops.logical_not(reduced_ck), loss_best_ck >= loss_best)
    reduce = ops.logical_and(at_checkpoint, ops.logical_or(oscillating, no_improvement))
    reduced_ck = ops.where(at_checkpoint, reduce, reduced_ck)
    loss_best_ck = ops.where(at_checkpoint, loss_best, loss_best_ck)
    n_increase = ops.where(at_checkpoint, ops.zeros_like(n_increase), n_increase)
    return reduce, n_increase, loss_best_ck, reduced_ck


def _misclassified(logits, y):
    return ops.not_equal(ops.cast(ops.argmax(logits, axis=-1), "int32"), y)


def _merge(best, best_loss, fooled, x_best, loss_best, fooled_run, x_best_adv):
    """Merges one run's result into the running best, per example: a first adversarial example
    replaces the point kept, a higher loss replaces it while neither is adversarial.

    Returns `(best, best_loss, fooled)`.
    """
    take_adv = ops.logical_and(fooled_run, ops.logical_not(fooled))
    take_loss = ops.logical_and(
        ops.logical_not(ops.logical_or(fooled_run, fooled)), loss_best > best_loss
    )
    candidate = _ops.select(take_adv, x_best_adv, x_best)
    keep = ops.logical_not(ops.logical_or(take_adv, take_loss))
    return (
        _ops.select(keep, best, candidate),
        ops.where(take_loss, loss_best, best_loss),
        ops.logical_or(fooled, fooled_run),
    )


@keras.saving.register_keras_serializable(package="tfadv")
class APGD(Attack):
    """Auto-PGD (APGD-CE / APGD-DLR), the first attack of AutoAttack; l-inf or l2.

    APGD needs no step size. It starts from a random point on the boundary of the epsilon ball
    (`x + eps * t / ||t||`), with step size `eta = 2 * eps`, and iterates

    `z = P(x_k + eta * d(grad))`, `x_{k+1} = P(x_k + a * (z - x_k) + (1 - a) * (x_k - x_{k-1}))`

    with momentum `a = 0.75` (no momentum at the first step), `d` the sign (l-inf) or the normalised
    gradient (l2) and `P` the projection onto the ball and [0, 1]. At checkpoints (after `0.22 N`
    iterations, then at shrinking intervals of at least `0.06 N`) the step size of an example is
    halved, and the example restarts from its best point, when (a) its loss rose in at most `rho` of
    the steps since the last checkpoint, or (b) its step size was not halved at the last checkpoint
    and its best loss has not improved since. Per example the attack keeps the first misclassified
    iterate (an adversarial example) and otherwise the point of highest loss. Later `restarts` run
    only on the examples not yet misclassified.

    On a deterministic model an example stops iterating once misclassified
    (`stop_when_fooled`): later iterations run the model only on the examples still correctly
    classified (the run of one example does not depend on the others), so the examples broken are
    those broken when every example runs all `steps` iterations, as the reference code runs them,
    at a fraction of the cost on a weak model. APGD is an evaluation attack: its adversarial
    examples lie just past the decision boundary, not at the highest loss. On a randomised model
    a misclassified iterate fooled one noise draw only, and the reference code goes on: with
    `eot_iter > 1` (or `stop_when_fooled=False`, which `tfadv.evaluation.evaluate` sets on a
    randomised model) every example runs its whole budget, and the attack returns, per example,
    its last misclassified iterate, as fra31/auto-attack's `attack_single_run` does.

    APGD runs on every Keras backend. On TensorFlow the examples that stopped leave the batch; on
    JAX, whose compiled loops keep fixed shapes, and on PyTorch they stay in it, frozen by a
    per-example mask, so each example's result and `grad_evals` are the same, but the model still
    runs on the whole batch until every example has stopped.

    Checkpoints follow AutoAttack's code by default (`checkpoint_rule="autoattack"`, used by the
    `"standard"`, `"plus"` and `"rand"` protocols): fra31/auto-attack's `check_oscillation` compares
    the first step's loss with a zero-initialised buffer entry, so at the first checkpoint a
    cross-entropy run always counts one increase and a DLR run (negative loss while correctly
    classified) none. `checkpoint_rule="paper"` follows the paper's Algorithm 1 and compares it
    with the loss at the starting point. The two counts differ by at most one, at the first
    checkpoint only (after iteration `0.22 N`, 22 of 100), so only a borderline decision there
    changes (and the run from there on); see `checkpoint_decision`.

    For randomised models, `eot_iter > 1` averages the loss gradient over that many forward passes
    (Expectation over Transformation, AutoAttack's `version="rand"` uses 20).

    Threat model: l-inf or l2 ball of radius `eps` intersected with [0, 1]. Input contract: images
    in [0, 1], integer labels, a model returning logits.

    Args:
        eps: float, the radius. Defaults to `0.3` (MNIST l-inf).
        norm: `"linf"` or `"l2"`. Defaults to `"linf"`.
        steps: int >= 1, iterations per restart. Defaults to `100` (AutoAttack).
        restarts: int >= 1, runs from new random starts on the examples still correctly classified.
            Defaults to `1`.
        loss: `"ce"` (cross-entropy) or `"dlr"` (the difference-of-logits-ratio loss). Defaults to
            `"ce"`.
        rho: float in (0, 1), the share of increasing steps below which the step size is halved.
            Defaults to `0.75`.
        momentum: float in (0, 1], the weight `a` of the new gradient step (`1 - a` on the previous
            move). Defaults to `0.75`.
        eot_iter: int >= 1, gradient samples averaged per step for randomised models. Defaults to
            `1`.
        checkpoint_rule: `"autoattack"` (the first step's loss is compared with 0, as in
            fra31/auto-attack's code) or `"paper"` (compared with the starting loss, Algorithm 1
            of the paper), how increases are counted for the first checkpoint. Defaults to
            `"autoattack"`.
        stop_when_fooled: `None`, `True` or `False`, whether an example stops iterating at its
            first misclassified iterate. `None` stops when `eot_iter == 1` and runs every example
            for all `steps` iterations when `eot_iter > 1` (a randomised model, where one noise
            draw decided that verdict). Defaults to `None`.
        seed: optional int for reproducible random starts. Defaults to `None`.

    Example:

    ```python
    attack = tfadv.attacks.APGD(eps=0.3, steps=100, loss="ce")
    x_adv = attack(model, x, y)
    ```

    Reference:
        Croce and Hein, "Reliable evaluation of adversarial robustness with an ensemble of diverse
        parameter-free attacks", ICML 2020.
    """

    registry_name = "apgd"
    backends = backend.BACKENDS
    small_budget = {"steps": 5, "restarts": 2}

    def __init__(
        self,
        *,
        eps=0.3,
        norm="linf",
        steps=100,
        restarts=1,
        loss="ce",
        rho=0.75,
        momentum=0.75,
        eot_iter=1,
        checkpoint_rule="autoattack",
        stop_when_fooled=None,
        seed=None,
    ):
        super().__init__(eps=eps, norm=norm, seed=seed)
        self.steps = validation.check_steps(steps)
        self.restarts = validation.check_steps(restarts, "restarts")
        self.loss = self._check_loss(loss)
        self.rho = validation.check_number("rho", rho, minimum=0.0, strict=True, maximum=1.0)
        self.momentum = validation.check_number(
            "momentum", momentum, minimum=0.0, strict=True, maximum=1.0
        )
        self.eot_iter = validation.check_steps(eot_iter, "eot_iter")
        self.checkpoint_rule = validation.check_choice(
            "checkpoint_rule", checkpoint_rule, CHECKPOINT_RULES
        )
        if stop_when_fooled is not None and not isinstance(stop_when_fooled, bool):
            raise TypeError(
                "`stop_when_fooled` must be None or a bool. "
                f"Received: stop_when_fooled={stop_when_fooled!r}"
            )
        self.stop_when_fooled = stop_when_fooled

    @property
    def compacts(self):
        """Whether an example stops at its first misclassified iterate (`stop_when_fooled`,
        resolved: `None` means `eot_iter == 1`)."""
        if self.stop_when_fooled is None:
            return self.eot_iter == 1
        return self.stop_when_fooled

    @staticmethod
    def _check_loss(loss):
        return validation.check_choice("loss", loss, ("ce", "dlr"))

    # ------------------------------------------------------------------------------------ objective
    def apgd_objective(self, logits, y, target):
        """Per-example loss that the attack ascends (`target` is unused by the untargeted
        attack)."""
        if self.loss == "dlr":
            return _ops.dlr(logits, y)
        return cross_entropy(logits, y)

    def _loss_grad(self, model, x_adv, y, target):
        """Loss, logits and input gradient, averaged over `eot_iter` forward passes (EOT)."""
        return _ops.value_and_grad(
            model, x_adv, lambda logits: self.apgd_objective(logits, y, target), self.eot_iter
        )

    # --------------------------------------------------------------------------------- one run
    @staticmethod
    def _gathers():
        """Whether stopped examples leave the batch (TensorFlow) or stay in it, frozen (others).

        A TensorFlow graph takes a batch of any size, and running the model on the examples still
        running only is a measured speed win. `jax.jit` traces fixed shapes, so on JAX (and on
        PyTorch, which shares that path) every run keeps the whole batch and a per-example mask
        freezes the examples that stopped: their loss, gradient, best points and cost no longer
        change, so each example's result is that of the gathered run.
        """
        return backend.name() == "tensorflow"

    def _loss_grad_gathered(self, model, x_adv, y, target, active, loss, grad):
        """TensorFlow: `_loss_grad` on the examples still `active` only (gathered by index,
        scattered back).

        The other examples keep their loss and gradient and cost nothing: an APGD run of one
        example does not depend on the others, so the active trajectories are those of a run
        without compaction. Returns `(loss, grad, wrong)`, `wrong` False where not active.
        """
        index = tf.where(active)
        y_act = tf.gather_nd(y, index)
        target_act = None if target is None else tf.gather_nd(target, index)
        loss_act, logits, grad_act = self._loss_grad(
            model, tf.gather_nd(x_adv, index), y_act, target_act
        )
        wrong_act = tf.not_equal(tf.argmax(logits, axis=-1, output_type=tf.int32), y_act)
        loss = tf.tensor_scatter_nd_update(loss, index, loss_act)
        grad = tf.tensor_scatter_nd_update(grad, index, grad_act)
        wrong = tf.scatter_nd(index, wrong_act, tf.shape(active, out_type=tf.int64))
        return loss, grad, wrong

    def _loss_grad_masked(self, model, x_adv, y, target, active, loss, grad):
        """`_loss_grad` on the whole batch, kept where `active` (`None`: every example).

        Elsewhere the loss and the gradient stay `loss` and `grad`, as in `_loss_grad_gathered`.
        Returns `(loss, grad, wrong)`, `wrong` False where not active.
        """
        loss_new, logits, grad_new = self._loss_grad(model, x_adv, y, target)
        wrong = _misclassified(logits, y)
        if active is None:
            return loss_new, grad_new, wrong
        return (
            ops.where(active, loss_new, loss),
            _ops.select(active, grad_new, grad),
            ops.logical_and(active, wrong),
        )

    def _single_run(self, model, x, y, eps, target, key, live=None):
        """One APGD run. Returns `(x_best, loss_best, fooled, x_best_adv, evals)` per example.

        Compaction (`compacts`): an example stops at its first misclassified iterate (its
        adversarial example); later iterations run the model only on the examples not yet
        misclassified (TensorFlow; elsewhere the stopped examples stay in the batch, frozen, see
        `_gathers`), and the loop ends when there are none. Without it every example runs every
        iteration and `x_best_adv` is its last misclassified iterate. `evals` counts each
        example's gradient evaluations.

        `live` (bool `(n,)`, optional) says which examples the run is for: the others stay in the
        batch, frozen from the start, cost nothing and come back not fooled (the fixed-shape
        stand-in for a run on a subset of the batch).
        """
        is_checkpoint, window = checkpoint_schedule(self.steps)
        is_checkpoint = ops.convert_to_tensor(is_checkpoint)
        window = ops.convert_to_tensor(window)
        compact = self.compacts
        loss_grad = (
            self._loss_grad_gathered if compact and self._gathers() else self._loss_grad_masked
        )
        eot = float(self.eot_iter)

        x_adv = self.threat_model.random_boundary_start(x, eps, key)
        loss, logits, grad = self._loss_grad(model, x_adv, y, target)
        fooled = _misclassified(logits, y)
        step = ops.full_like(loss, 2.0 * eps)
        evals = ops.full_like(loss, eot)
        if live is not None:
            fooled = ops.logical_and(fooled, live)
            evals = evals * ops.cast(live, "float32")

        def running(fooled):
            """The examples that iterate (`None`: every one)."""
            active = ops.logical_not(fooled) if compact else None
            if live is None:
                return active
            return live if active is None else ops.logical_and(live, active)

        def body(i, x_adv, x_old, grad, x_best, grad_best, loss_best, x_best_adv, fooled, step,
                 loss_prev, n_increase, loss_best_ck, reduced_ck, evals):  # fmt: skip
            active = running(fooled)
            a = ops.where(i > 0, self.momentum, 1.0)
            previous_move = x_adv - x_old
            x_old = x_adv
            z = self.project(self.threat_model.step(x_adv, grad, _ops.per_example(step, x)), x, eps)
            x_adv = self.project(x_adv + a * (z - x_adv) + (1.0 - a) * previous_move, x, eps)
            loss, grad, wrong = loss_grad(model, x_adv, y, target, active, loss_prev, grad)
            if active is None:
                evals = evals + eot
                improved = loss > loss_best
            else:
                evals = evals + ops.cast(active, "float32") * eot
                improved = ops.logical_and(active, loss > loss_best)

            fooled = ops.logical_or(fooled, wrong)
            x_best_adv = _ops.select(wrong, x_adv, x_best_adv)
            x_best = _ops.select(improved, x_adv, x_best)
            grad_best = _ops.select(improved, grad, grad_best)
            loss_best = ops.where(improved, loss, loss_best)
            # Checkpoint: halve the step size where progress stalled and go back to the best point.
            reduce, n_increase, loss_best_ck, reduced_ck = checkpoint_decision(
                i, loss, loss_prev, loss_best, n_increase, loss_best_ck, reduced_ck,
                is_checkpoint=is_checkpoint, window=window, rho=self.rho,
                rule=self.checkpoint_rule,
            )  # fmt: skip
            loss_prev = loss
            step = ops.where(reduce, 0.5 * step, step)
            x_adv = _ops.select(reduce, x_best, x_adv)
            grad = _ops.select(reduce, grad_best, grad)
            return (i + 1, x_adv, x_old, grad, x_best, grad_best, loss_best, x_best_adv, fooled,
                    step, loss_prev, n_increase, loss_best_ck, reduced_ck, evals)  # fmt: skip

        def cond(i, *state):
            if not compact:
                return i < self.steps
            return ops.logical_and(i < self.steps, ops.any(running(state[7])))

        state = (0, x_adv, x_adv, grad, x_adv, grad, loss, x_adv, fooled, step, loss,
                 ops.zeros_like(loss), loss, ops.ones_like(fooled), evals)  # fmt: skip
        state = backend.while_loop(cond, body, state)
        x_best, loss_best, x_best_adv, fooled, evals = (state[k] for k in (4, 6, 7, 8, 14))
        return x_best, loss_best, fooled, x_best_adv, evals

    # ---------------------------------------------------------------------------------- the runs
    def _run_gathered(self, model, x, y, eps, target, key, best, best_loss, fooled, evals):
        """TensorFlow: one run on the examples not yet misclassified, gathered into a smaller
        batch and merged back into the running best; skipped when there are none."""
        remaining = tf.cast(tf.where(tf.logical_not(fooled))[:, 0], tf.int32)
        state = (best, best_loss, fooled, evals)

        def run():
            def gather(tensor):
                return None if tensor is None else tf.gather(tensor, remaining)

            x_best, loss_best, fooled_run, x_best_adv, cost = self._single_run(
                model, gather(x), gather(y), eps, gather(target), key
            )
            merged = _merge(*map(gather, state[:3]), x_best, loss_best, fooled_run, x_best_adv)
            updates = (*merged, gather(evals) + cost)
            return tuple(
                tf.tensor_scatter_nd_update(old, remaining[:, None], new)
                for old, new in zip(state, updates)
            )

        return tf.cond(tf.size(remaining) > 0, run, lambda: state)

    def _run_masked(self, model, x, y, eps, target, key, best, best_loss, fooled, evals):
        """JAX and PyTorch: `_run_gathered` on the whole batch (fixed shapes).

        The examples not yet misclassified go first, in order, as TensorFlow's gather puts them
        (so each one's random start is drawn from the same rows of the noise); the others follow
        and ride along frozen (`_single_run`'s `live`), keeping what they have.
        """
        live = ops.logical_not(fooled)
        count = ops.cast(live, "int32")
        position = ops.where(
            live, ops.cumsum(count) - 1, ops.sum(count) + ops.cumsum(1 - count) - 1
        )
        order = ops.argsort(position)

        def gather(tensor, indices=order):
            return None if tensor is None else ops.take(tensor, indices, axis=0)

        def run():
            outputs = self._single_run(
                model, gather(x), gather(y), eps, gather(target), key, live=gather(live)
            )
            x_best, loss_best, fooled_run, x_best_adv, cost = (gather(t, position) for t in outputs)
            merged = _merge(best, best_loss, fooled, x_best, loss_best, fooled_run, x_best_adv)
            return (*merged, evals + cost)

        return backend.cond(ops.any(live), run, lambda: (best, best_loss, fooled, evals))

    def runs(self, clean_logits):
        """`(number of runs, run -> targets or None)`: one untargeted run per restart."""
        return self.restarts, lambda run: None

    def perturb(self, model, x, y, eps, clean_logits, step_scale):
        n_runs, target_of = self.runs(clean_logits)
        run_once = self._run_gathered if self._gathers() else self._run_masked
        # Seeded: a key per run. Unseeded: one fresh key, offset by the run (JAX would trace a
        # key drawn inside the loop once, and every run would get the same start).
        fresh = self.seed_key(x) if self.seed is None else None

        # Every run (the first included: nothing is fooled yet) works on the examples not yet fooled.
        def body(run, best, best_loss, fooled, evals):
            if fresh is None:
                key = self.seed_key(x, run)
            else:
                offset = ops.cast(run, "int32")
                key = fresh + ops.stack([offset, ops.zeros_like(offset)])
            state = run_once(model, x, y, eps, target_of(run), key, best, best_loss, fooled, evals)
            return run + 1, *state

        initial = (
            x,
            ops.full_like(y, -np.inf, dtype="float32"),
            ops.zeros_like(y, dtype="bool"),
            ops.zeros_like(y, dtype="float32"),
        )
        _, best, _, _, evals = backend.while_loop(lambda run, *_: run < n_runs, body, (0, *initial))
        return best, {"grad_evals": evals}

    def get_config(self):
        config = super().get_config()
        config.update(
            steps=self.steps,
            restarts=self.restarts,
            loss=self.loss,
            rho=self.rho,
            momentum=self.momentum,
            eot_iter=self.eot_iter,
            checkpoint_rule=self.checkpoint_rule,
            stop_when_fooled=self.stop_when_fooled,
        )
        return config
