"""The attack base class: the calling convention, the invariants and the attack registry."""

import abc
import functools
import threading

import numpy as np
import tensorflow as tf
from keras import ops

from tfadv import backend
from tfadv.attacks import _ops
from tfadv.attacks._ops import model_logits
from tfadv.attacks.losses import attack_objective
from tfadv.attacks.threat_model import get_threat_model
from tfadv.utils import validation
from tfadv.utils.registry import Registry

#: Guards the lazy creation of each attack's `tf.function` against concurrent replicas.
_COMPILE_LOCK = threading.Lock()

#: Every attack, by registry name (`"pgd"`, `"apgd"`, ...); filled by `Attack` subclasses that declare
#: `registry_name` (each module of `tfadv.attacks` is imported on first look-up).
ATTACKS = Registry("attack", "tfadv.attacks")

__all__ = ["ATTACKS", "Attack", "AttackResult", "model_logits"]


class AttackResult:
    """What an attack returns from `run`: the adversarial batch and what it learned on the way.

    Attributes:
        x_adv: float32 tensor, the adversarial images (in the epsilon ball and in [0, 1]).
        clean_logits: float32 tensor, the model's logits on the clean images (inference mode).
        info: dict of per-example float32 tensors. Always has `"grad_evals"` (input-gradient evaluations
            spent on each example); `EarlyStoppedPGD` adds `"kappa"`, `Square` adds `"queries"`.
    """

    def __init__(self, x_adv, clean_logits, info):
        self.x_adv = x_adv
        self.clean_logits = clean_logits
        self.info = info

    def __iter__(self):
        return iter((self.x_adv, self.clean_logits, self.info))


class Attack(abc.ABC):
    """Base class of every tfadv attack: `x_adv = attack(model, x, y)`.

    The base class owns the calling convention and the guarantees; a subclass overrides only `perturb`,
    which computes the perturbation. Whatever `perturb` returns, the base class

    - runs the model with `training=False` (batch norm uses its moving statistics; dropout is off);
    - projects the result onto the epsilon ball around `x` and onto [0, 1];
    - stops gradients, so no gradient flows out of the attack;
    - takes input gradients in float32, even under a mixed-precision policy;
    - compiles the attack with `tf.function` when called eagerly, once per model and image shape
      (neither the batch size nor the call's `eps` retraces), and runs inline (no retracing per
      batch, no host round trips) when called inside a `tf.function` such as `train_step`;
    - validates inputs with `tfadv.utils.validation.check_inputs` (the contract below) and the model's
      outputs (logits, not probabilities): `ValueError`/`TypeError` quoting the received value.

    A subclass enrols in `tfadv.attacks.ATTACKS` by declaring `registry_name`, lists the norms it
    supports in `norms` and the Keras backends it runs on in `backends` (an attack written in
    `keras.ops` runs on all three; on another backend construction raises `ValueError`), and gives the constructor arguments of a small-budget instance in
    `small_budget` (read by `default_instance` and the registry-parametrised tests).

    Input contract: images float in [0, 1] of the model's input shape `(N, *input_shape)` (a missing
    channel axis is refused); labels integer class ids of shape `(N,)` (targets for targeted attacks;
    float labels holding whole numbers are accepted, one-hot rows are refused); the model maps images
    to logits.

    Args:
        eps: float, radius of the threat model. Defaults to `0.3`.
        norm: `"linf"` or `"l2"`, the threat model (`tfadv.attacks.LinfBall` / `L2Ball`).
            Defaults to `"linf"`.
        seed: optional int; when set, all random draws are stateless and the attack is deterministic for
            a given batch. Defaults to `None`.
    """

    #: The registry name; a subclass that declares one enrols in `ATTACKS`.
    registry_name = None
    #: The norms the attack supports.
    norms = ("linf", "l2")
    #: The Keras backends the attack runs on (`tfadv.backend.BACKENDS` for attacks written in
    #: `keras.ops`).
    backends = ("tensorflow",)
    #: Constructor arguments of a small-budget instance (a few steps or queries).
    small_budget = {}
    #: True for minimum-norm attacks (FAB): an example is left as it is unless the attack found an
    #: adversarial example for it inside the ball (already misclassified ones need none).
    minimum_norm = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("registry_name") is not None:
            ATTACKS.register(cls)

    @classmethod
    def default_instance(cls, eps, norm="linf", seed=None):
        """An instance with the small budget `cls.small_budget`, for tests and smoke runs.

        Args:
            eps: float, the radius.
            norm: one of `cls.norms`. Defaults to `"linf"`.
            seed: optional int. Defaults to `None`.
        """
        return cls(eps=eps, norm=norm, seed=seed, **cls.small_budget)

    def __init__(self, *, eps=0.3, norm="linf", seed=None):
        backend.check_supported(
            f"Attack {self.registry_name!r} ({type(self).__name__})", self.backends
        )
        self.eps = validation.check_eps(eps)
        self.norm = validation.check_choice("norm", norm, self.norms)
        self.threat_model = get_threat_model(norm)
        if seed is not None:
            seed = validation.check_number("seed", seed, minimum=0, integer=True)
        self.seed = seed
        self._compiled = None

    # ----------------------------------------------------------------------------------------- public API
    def __call__(self, model, x, y, *, eps=None, **options):
        """Returns adversarial images for `(x, y)`; see the class docstring for the guarantees."""
        return self.run(model, x, y, eps=eps, **options).x_adv

    def run(self, model, x, y, *, eps=None, **options):
        """Like `__call__`, but returns an `AttackResult` with the clean logits and per-example info.

        Args:
            model: a callable mapping images to logits (a `keras.Model`).
            x: images in [0, 1], shape `(N, *input_shape)`.
            y: integer class ids of shape `(N,)` (targets when `targeted`).
            eps: optional radius overriding `self.eps` for this call (a float or scalar tensor; used by
                epsilon schedules). Step sizes scale with `eps / self.eps`. Defaults to `None`.
            **options: per-call options of the attack (e.g. `EarlyStoppedPGD`'s scheduled `tau`),
                validated by `check_call_options` and passed to `perturb` as tensors.
        """
        if eps is None:
            eps = self.eps
        elif not ops.is_tensor(eps):
            eps = validation.check_eps(eps)
        options = self.check_call_options(dict(options))
        # The input contract: arrays by value here, graph tensors by dtype and shape (their values
        # are asserted in `_run_graph`).
        x, y = validation.check_inputs(x, y, model=model)
        if backend.name() != "tensorflow":
            return self._run_other_backend(model, x, y, eps, options)
        if tf.inside_function():
            return AttackResult(*self._run_graph(model, x, y, eps, self.eps, **options))
        x = tf.convert_to_tensor(x, tf.float32)
        y = tf.convert_to_tensor(y, tf.int32)
        args = (x, y, tf.convert_to_tensor(eps, tf.float32), tf.constant(self.eps, tf.float32))
        compiled = self._compiled_function()
        # Trace for any batch size up front, so that the second batch size does not retrace.
        specs = [tf.TensorSpec([None, *x.shape[1:]], x.dtype), tf.TensorSpec([None], tf.int32)]
        specs += [tf.TensorSpec([], tf.float32)] * 2
        option_specs = {key: tf.TensorSpec.from_tensor(value) for key, value in options.items()}
        try:
            compiled.get_concrete_function(model, *specs, **option_specs)
        except tf.errors.OperatorNotAllowedInGraphError:  # the model's own Python control flow
            compiled = self._compiled = tf.function(self._run_graph)
            compiled.get_concrete_function(model, *specs, **option_specs)
        try:
            result = compiled(model, *args, **options)
        except tf.errors.InvalidArgumentError as error:
            converted = validation.reraise_graph_error(error)
            if converted is None:
                raise
            raise converted from None
        return AttackResult(*result)

    def check_call_options(self, options):
        """Validates per-call options and returns them as tensors; the base attack takes none."""
        if options:
            raise TypeError(
                f"{type(self).__name__} takes no per-call options. Received: {sorted(options)}"
            )
        return options

    # -------------------------------------------------------------------------------------------- the hook
    @abc.abstractmethod
    def perturb(self, model, x, y, eps, clean_logits, step_scale):
        """Computes adversarial images; the one method a subclass overrides.

        Args:
            model: the model (call it through `self.logits` / `self.value_and_grad`).
            x: float32 clean images.
            y: int32 labels (targets when targeted).
            eps: float32 scalar tensor, the radius for this call.
            clean_logits: float32 logits of `x` in inference mode.
            step_scale: float32 scalar, `eps / self.eps`, to scale step sizes with a scheduled radius.

        Returns:
            `(x_adv, info)` with `info` a dict of per-example tensors (may be empty).
        """

    # ------------------------------------------------------------------------------- helpers for subclasses
    def logits(self, model, x):
        return model_logits(model, x)

    def objective(self, logits, y, clean_logits):
        """The per-example objective ascended: `self.loss` (towards `y` when `self.targeted`)."""
        return attack_objective(
            self.loss, logits, y, clean_logits, getattr(self, "targeted", False)
        )

    def value_and_grad(self, model, x_adv, y, clean_logits):
        """`objective`, logits and the float32 input gradient (`tfadv.attacks._ops.value_and_grad`)."""
        return _ops.value_and_grad(model, x_adv, lambda z: self.objective(z, y, clean_logits))

    def project(self, x_adv, x, eps):
        return self.threat_model.project(x_adv, x, eps)

    def seed_key(self, x, salt=0):
        """A stateless-RNG key from `self.seed`, the batch and `salt` (`_ops.seed_key`)."""
        return _ops.seed_key(self.seed, x, salt)

    # ------------------------------------------------------------------------------------------ internals
    def _compiled_function(self):
        """This attack's `tf.function` (one per attack object: a model's Python-level switches,
        such as `tfadv.layers.use_auxiliary_bn`, are read when it traces)."""
        with _COMPILE_LOCK:  # replicas' threads (evaluation under a strategy) make it once
            if self._compiled is None:
                # The attacks' loops are `tf.while_loop`s, so they need no AutoGraph, and
                # converting their code took most of the tracing time (4.8 s of the "standard"
                # protocol's four attacks against 0.95 s without). A model whose `call` needs
                # AutoGraph (a Python `if` on a tensor) is traced again with it: see `run`.
                self._compiled = tf.function(self._run_graph, autograph=False)
        return self._compiled

    def _run_graph(self, model, x, y, eps, base_eps, **options):
        """TensorFlow: the inputs' values asserted in the graph, then `_run_core`."""
        x = tf.cast(x, tf.float32)
        y = tf.reshape(tf.cast(y, tf.int32), [-1])
        checks = validation.graph_assert_images(x, "x")
        with tf.control_dependencies(checks):
            clean_logits = model_logits(model, x)
        num_classes = tf.shape(clean_logits)[-1]
        checks = validation.graph_assert_labels(y, num_classes, "y")
        checks += validation.graph_assert_logits(clean_logits, "model")
        with tf.control_dependencies(checks):
            x = tf.identity(x)
        return self._run_core(model, x, y, eps, base_eps, clean_logits, **options)

    def _run_core(self, model, x, y, eps, base_eps, clean_logits=None, **options):
        """The attack on any backend: `perturb`, then the invariants, whatever `perturb` did."""
        x = ops.cast(x, "float32")
        y = ops.reshape(ops.cast(y, "int32"), (-1,))
        eps = ops.cast(eps, "float32")
        base_eps = ops.cast(base_eps, "float32")
        if clean_logits is None:
            clean_logits = model_logits(model, x)
        step_scale = ops.where(base_eps > 0, eps / ops.maximum(base_eps, _ops.TINY), 1.0)
        x_adv, info = self.perturb(model, x, y, eps, clean_logits, step_scale, **options)
        x_adv = ops.stop_gradient(self.project(ops.cast(x_adv, "float32"), x, eps))
        info = {key: ops.stop_gradient(ops.cast(value, "float32")) for key, value in info.items()}
        return x_adv, ops.stop_gradient(clean_logits), info

    def _run_other_backend(self, model, x, y, eps, options):
        """JAX and PyTorch: compiled once per model and shape (`tfadv.backend.compiled_call`);
        values checked on the host (no graph assertions there)."""
        if backend.inside_compiled(x):
            return AttackResult(*self._run_core(model, x, y, eps, self.eps, **options))
        x = ops.convert_to_tensor(np.asarray(x, np.float32) if isinstance(x, np.ndarray) else x)
        y = ops.convert_to_tensor(
            np.asarray(y).astype(np.int32) if isinstance(y, np.ndarray) else y
        )
        key = id(model)
        with _COMPILE_LOCK:
            if not isinstance(self._compiled, dict) or key not in self._compiled:
                self._compiled = self._compiled if isinstance(self._compiled, dict) else {}
                self._compiled[key] = backend.compiled_call(
                    functools.partial(self._run_core, model), model
                )
            compiled = self._compiled[key]
        x_adv, clean_logits, info = compiled(
            x,
            y,
            ops.convert_to_tensor(eps, "float32"),
            ops.convert_to_tensor(self.eps, "float32"),
            **options,
        )
        validation.check_logits(ops.convert_to_numpy(clean_logits), "model")
        return AttackResult(x_adv, clean_logits, info)

    # ------------------------------------------------------------------------------------- serialisation
    def get_config(self):
        return {"eps": self.eps, "norm": self.norm, "seed": self.seed}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"
