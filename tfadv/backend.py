"""The one module that holds backend-specific code: what Keras 3 does not provide in `keras.ops`.

tfadv's attacks are written once in `keras.ops`. What differs between Keras' backends lives here:

- the value and the input gradient of a function (`tf.GradientTape`, `jax.value_and_grad`,
  `torch.autograd.grad`);
- stateless random numbers from an explicit key (Keras' own `keras.random` draws from a
  `SeedGenerator`, a variable, and takes no key tensor);
- compiling an attack once per shape (`tf.function`, `jax.jit`; eager on PyTorch) with the model's
  variables passed in, so that a compiled attack always sees the current weights.

Every function reads Keras' backend (`keras.backend.backend()`, set by `KERAS_BACKEND`) when it
is called. TensorFlow stays the default backend and the one that exports SavedModel / ONNX.
"""

import contextlib
import functools
import importlib

import keras
import numpy as np
from keras.src.backend.common.stateless_scope import get_stateless_scope

from tfadv.loss_result import LossResult

#: The backends tfadv knows, in Keras' spelling.
BACKENDS = ("tensorflow", "jax", "torch")

# A stateless key is two 32-bit integers on every backend (TensorFlow's `stateless_*` seeds and a
# raw `jax.random.PRNGKey`); `fresh_key` draws one from NumPy's generator, which
# `keras.utils.set_random_seed` seeds.
_KEY_MAX = 2**31 - 1


def name():
    """Keras' backend: `"tensorflow"`, `"jax"` or `"torch"`."""
    return keras.backend.backend()


def check_supported(owner, backends, argument="backend"):
    """Raises `ValueError` when Keras' backend is not in `backends` (what `owner` runs on).

    Args:
        owner: str, what refuses (e.g. `"Attack 'apgd' (APGD)"`).
        backends: tuple of backend names the owner runs on.
        argument: str, the name quoted in the error. Defaults to `"backend"`.
    """
    current = name()
    if current not in backends:
        raise ValueError(
            f"{owner} runs on the {' and '.join(backends)} backend"
            f"{'s' if len(backends) > 1 else ''} of Keras only; Keras' backend is {current!r} "
            f"(set by KERAS_BACKEND or ~/.keras/keras.json). Received: {argument}={current!r}"
        )


@functools.cache
def _module(module_name):
    return importlib.import_module(module_name)


def _tf():
    return _module("tensorflow")


def _jax():
    return _module("jax")


def _torch():
    return _module("torch")


# ------------------------------------------------------------------------------------ gradients
def value_and_grad(fn, x):
    """`fn(x)` and the gradient of its scalar part with respect to `x`.

    Args:
        fn: maps `x` to `(total, aux)`, a scalar to differentiate and any structure of tensors
            (`None` allowed).
        x: a float tensor, or a list (any `keras.tree` structure) of them.

    Returns:
        `((total, aux), grad)`; `grad` has the structure and shapes of `x` (zeros where `fn`
        ignores it), and `aux` carries no gradient.
    """
    backend = name()
    if backend == "jax":
        return _jax().value_and_grad(fn, has_aux=True)(x)
    leaves = keras.tree.flatten(x)
    if backend == "torch":
        torch = _torch()
        with torch.enable_grad():
            leaves = [leaf.detach().requires_grad_(True) for leaf in leaves]
            total, aux = fn(keras.tree.pack_sequence_as(x, leaves))
            grads = torch.autograd.grad(total, leaves, allow_unused=True)
        grads = [torch.zeros_like(v) if g is None else g for v, g in zip(leaves, grads)]
        aux = keras.tree.map_structure(lambda t: t if t is None else t.detach(), aux)
        return (total.detach(), aux), keras.tree.pack_sequence_as(x, grads)
    tf = _tf()
    with tf.GradientTape() as tape:
        tape.watch(leaves)
        total, aux = fn(x)
    grads = tape.gradient(total, leaves)
    # None: the function ignores that input (or stops its gradient).
    grads = [tf.zeros_like(v) if g is None else g for v, g in zip(leaves, grads)]
    return (total, aux), keras.tree.pack_sequence_as(x, grads)


def gradients_at(fn, variables, values, *, state_variables=(), keep_state=True):
    """`fn()` computed with `variables` read as `values`, and its gradients with respect to them.

    The functional gradient with respect to weights that training needs where the variables
    cannot hold the point (adversarial weight perturbation evaluates the loss at perturbed
    weights; JAX's training step differentiates the loss as a function of the weights' values).
    `fn` runs in a `keras.StatelessScope` that maps `variables` to `values` on top of the active
    scope's mapping (on JAX, the training step's state), so it writes no variable.

    Args:
        fn: takes nothing and returns `(total, result)`: the scalar to differentiate and a
            `tfadv.LossResult` (or `None`).
        variables: the `keras.Variable`s to differentiate with respect to.
        values: one tensor per variable, the point to evaluate at.
        state_variables: variables whose updates by `fn` (batch-norm moving statistics, a
            randomised layer's seed) are kept. Defaults to `()`.
        keep_state: bool, whether those updates are assigned to their variables afterwards (into
            the active scope on JAX) or discarded. Defaults to `True`.

    Returns:
        `(result, grads)`: `fn`'s result (no gradient) and one gradient per value.
    """
    variables, state_variables = list(variables), list(state_variables)

    def wrapped(point):
        outer = get_stateless_scope()
        scope = keras.StatelessScope()
        if outer is not None:
            scope.state_mapping.update(outer.state_mapping)
        scope.state_mapping.update((id(v), p) for v, p in zip(variables, point, strict=True))
        with scope:
            total, result = fn()
        state = [scope.get_current_value(v) for v in state_variables] if keep_state else []
        return total, (None if result is None else _aux(result), state)

    (_, (aux, state)), grads = value_and_grad(wrapped, list(values))
    for variable, value in zip(state_variables, state):
        if value is not None:
            variable.assign(value)
    return (None if aux is None else LossResult(*aux[:3], extras=aux[3])), grads


def sum_over_replicas(tensors):
    """`tensors` summed over the replicas of a `tf.distribute` strategy (one list in, one out).

    Elsewhere they are returned as they are: under `keras.distribution` on JAX a function of the
    global batch is already computed over every device.
    """
    tensors = list(tensors)
    if name() != "tensorflow" or not tensors:
        return tensors
    tf = _tf()
    context = tf.distribute.get_replica_context()
    if context is None:
        return tensors
    return list(context.all_reduce(tf.distribute.ReduceOp.SUM, tensors))


# ---------------------------------------------------------------------------------- randomness
_KEY_STREAM = []  # the traced key of the compiled call in progress (JAX), see `compiled_call`


def fresh_key():
    """A new stateless key `[2]` (int32): from NumPy's generator, or inside a compiled JAX call
    from the key that call was given (a key drawn at trace time would be a constant)."""
    if _KEY_STREAM:
        key, count = _KEY_STREAM[-1]
        _KEY_STREAM[-1] = (key, count + 1)
        return keras.ops.stack([key[0] + count, key[1]])
    if name() == "tensorflow":
        tf = _tf()
        return tf.random.uniform([2], 0, _KEY_MAX, dtype=tf.int32)
    return keras.ops.convert_to_tensor(np.random.randint(0, _KEY_MAX, size=2), "int32")


def _jax_key(key):
    return keras.ops.cast(key, "uint32")


@functools.cache
def _torch_generator():
    return _torch().Generator(device="cpu")


def _torch_draw(key, draw):
    """Runs `draw(generator)` with a CPU generator seeded from `key` (PyTorch has no stateless RNG)."""
    key = np.asarray(keras.ops.convert_to_numpy(key)).astype(np.int64)
    generator = _torch_generator()
    generator.manual_seed(int(key[0]) * (2**31) + int(key[1]))
    return draw(generator)


def uniform(shape, key, minval=0.0, maxval=1.0):
    """Stateless float32 uniform noise in `[minval, maxval)` from the key `[2]`."""
    backend = name()
    if backend == "jax":
        jax = _jax()
        return jax.random.uniform(_jax_key(key), tuple(shape), "float32", minval, maxval)
    if backend == "torch":
        torch = _torch()
        sample = _torch_draw(key, lambda g: torch.rand(tuple(int(s) for s in shape), generator=g))
        return keras.ops.convert_to_tensor(sample * (maxval - minval) + minval, "float32")
    tf = _tf()
    return tf.random.stateless_uniform(shape, seed=key, minval=minval, maxval=maxval)


def normal(shape, key, stddev=1.0):
    """Stateless float32 Gaussian noise from the key `[2]`."""
    backend = name()
    if backend == "jax":
        return _jax().random.normal(_jax_key(key), tuple(shape), "float32") * stddev
    if backend == "torch":
        torch = _torch()
        sample = _torch_draw(key, lambda g: torch.randn(tuple(int(s) for s in shape), generator=g))
        return keras.ops.convert_to_tensor(sample * stddev, "float32")
    tf = _tf()
    return tf.random.stateless_normal(shape, seed=key, stddev=stddev)


def split_key(key, n):
    """`n` independent keys derived from `key`."""
    backend = name()
    if backend == "jax":
        keys = keras.ops.cast(_jax().random.split(_jax_key(key), n), "int32")
        return [keys[i] for i in range(n)]
    if backend == "torch":
        draw = _torch_draw(key, lambda g: _torch().randint(0, _KEY_MAX, (n, 2), generator=g))
        return [keras.ops.convert_to_tensor(row, "int32") for row in draw]
    tf = _tf()
    return tf.unstack(tf.random.experimental.stateless_split(key, n))


# ----------------------------------------------------------------------------------------- loops
#: JAX unrolls fixed-length loops of at most this many steps (see `fori_loop`).
UNROLL_LIMIT = 64


def _threaded(run, *functions):
    """Runs `run(*wrapped)` with the active `keras.StatelessScope`'s values threaded through.

    On JAX a randomised layer writes its seed state at every call; inside a `lax` loop or `cond`
    body that write would escape the body's trace (`UnexpectedTracerError`). Each wrapped function
    takes and returns the scope's values beside its own, runs in an inner scope over them, and the
    results are written back into the outer scope. Keras offers no public accessor of the active
    scope, so this reads `keras.src`'s (the one private Keras name tfadv uses, kept here).
    """
    scope = get_stateless_scope()
    if scope is None:
        return None
    keys = list(scope.state_mapping)

    def wrap(fn, returns_state=True):
        def wrapped(*args):
            *args, states = args
            inner = keras.StatelessScope()
            inner.state_mapping = dict(zip(keys, states))
            with inner:
                out = fn(*args)
            return (out, [inner.state_mapping[k] for k in keys]) if returns_state else out

        return wrapped

    states = [scope.state_mapping[k] for k in keys]
    out, states = run(wrap, states)
    scope.state_mapping.update(zip(keys, states))
    return (out,)


def fori_loop(lower, upper, body, init):
    """`keras.ops.fori_loop`, unrolled on JAX for loops of up to `UNROLL_LIMIT` steps.

    Unrolling lets XLA optimise across steps: on 2026-12-05 on this project's 2-core CPU (small
    CNN, 100 digits, idle machine) PGD-10 took 0.53 s as a `lax.fori_loop`, 0.59 s with
    `unroll=5` and 0.47 s fully unrolled (`python benchmarks/backends.py --loop-study`). Loops
    with static bounds up to the limit are therefore unrolled on JAX (the price is compile time);
    longer ones are `lax` loops that carry the model's state (`_threaded`). Elsewhere (TensorFlow,
    PyTorch) this is `keras.ops.fori_loop`.
    """
    if name() != "jax":
        return keras.ops.fori_loop(lower, upper, body, init)
    if isinstance(lower, int) and isinstance(upper, int) and upper - lower <= UNROLL_LIMIT:
        value = init
        for i in range(lower, upper):
            value = body(i, value)
        return value

    def run(wrap, states):
        step = wrap(lambda i, value: body(i, value))
        return keras.ops.fori_loop(
            lower, upper, lambda i, carry: step(i, carry[0], carry[1]), (init, states)
        )

    threaded = _threaded(run)
    return keras.ops.fori_loop(lower, upper, body, init) if threaded is None else threaded[0]


def while_loop(cond, body, loop_vars):
    """`keras.ops.while_loop` over a tuple of loop variables; on JAX the model's state (a
    randomised layer's seed) is carried through the loop (`_threaded`)."""
    loop_vars = tuple(loop_vars)
    if name() != "jax":
        return keras.ops.while_loop(cond, body, loop_vars)

    def run(wrap, states):
        test = wrap(lambda *values: cond(*values), returns_state=False)
        step = wrap(lambda *values: tuple(body(*values)))
        out = keras.ops.while_loop(
            lambda values, st: test(*values, st),
            lambda values, st: step(*values, st),
            (loop_vars, states),
        )
        return out[0], out[1]

    threaded = _threaded(run)
    return keras.ops.while_loop(cond, body, loop_vars) if threaded is None else threaded[0]


def cond(pred, true_fn, false_fn):
    """`keras.ops.cond`; on JAX the model's state is carried through the branches (`_threaded`)."""
    if name() != "jax":
        return keras.ops.cond(pred, true_fn, false_fn)

    def run(wrap, states):
        yes, no = wrap(lambda: true_fn()), wrap(lambda: false_fn())
        return keras.ops.cond(pred, lambda: yes(states), lambda: no(states))

    threaded = _threaded(run)
    return keras.ops.cond(pred, true_fn, false_fn) if threaded is None else threaded[0]


# ----------------------------------------------------------------------------------- compiling
# Keeps a traced gradient a function of its own (`separate_function`).
_NO_INLINE = {"_noinline": True}


@functools.cache
def cpu_only():
    """Whether this machine has no accelerator that TensorFlow sees (Keras then compiles without
    XLA, and TensorFlow's oneDNN graph pass picks the CPU kernels)."""
    return all(device.device_type == "CPU" for device in _tf().config.list_physical_devices())


def separate_function(fn, x):
    """`fn(x)` traced as a TensorFlow function of its own, not inlined into the caller's graph.

    TensorFlow's oneDNN layout pass gives `MaxPoolGrad` its fast kernel only when it meets the
    forward `MaxPool` first in a topological order of the graph, which a graph with nested loops
    does not always give: FAB-T's gradient, inside three nested loops and a `cond`, ran the slow
    Eigen kernel. A separate function's graph has no loop. Each call costs a function launch.
    """
    tf = _tf()
    try:
        return tf.function(fn, autograph=False, experimental_attributes=_NO_INLINE)(x)
    except tf.errors.OperatorNotAllowedInGraphError:  # the model's `call` needs AutoGraph
        return tf.function(fn, experimental_attributes=_NO_INLINE)(x)


def inside_compiled(x):
    """Whether `x` is a symbolic tensor of a function being compiled (`tf.function`, `jax.jit`)."""
    backend = name()
    if backend == "jax":
        return isinstance(x, _jax().core.Tracer)
    if backend == "tensorflow":
        return _tf().inside_function()
    return False


def _state_mapping(variables, values):
    return list(zip(variables, values))


@contextlib.contextmanager
def _key_stream(key):
    _KEY_STREAM.append((key, 0))
    try:
        yield
    finally:
        _KEY_STREAM.pop()


def compiled_call(fn, model):
    """`fn(*args)` compiled once per shape, with `model`'s variables passed in (JAX, PyTorch).

    On JAX the function is `jax.jit`-compiled over the model's variables, the arguments and a
    fresh random key (`fresh_key` inside it derives from that key); the model's non-trainable
    variables that `fn` updates (a randomised layer's seed state, say) are written back after the
    call. On PyTorch it runs eagerly. TensorFlow's attacks compile with `tf.function` themselves
    (`tfadv.attacks.Attack.run`).

    Returns:
        a callable with the signature of `fn`.
    """
    if name() != "jax":
        return fn
    jax = _jax()

    def pure(trainable, non_trainable, key, *args, **kwargs):
        mapping = _state_mapping(model.trainable_variables, trainable)
        mapping += _state_mapping(model.non_trainable_variables, non_trainable)
        with keras.StatelessScope(state_mapping=mapping) as scope, _key_stream(key):
            outputs = fn(*args, **kwargs)
        updated = [scope.get_current_value(v) for v in model.non_trainable_variables]
        updated = [u if u is not None else v for u, v in zip(updated, non_trainable)]
        return outputs, updated

    jitted = jax.jit(pure)

    def call(*args, **kwargs):
        trainable = [v.value for v in model.trainable_variables]
        non_trainable = [v.value for v in model.non_trainable_variables]
        args = [_split_batch(a) for a in args]
        outputs, updated = jitted(trainable, non_trainable, fresh_key(), *args, **kwargs)
        for variable, value in zip(model.non_trainable_variables, updated):
            variable.assign(value)
        return outputs

    return call


def _split_batch(value):
    """`value` laid out along its first axis over the devices of Keras' distribution (JAX's
    `keras.distribution.DataParallel`) when one is set and the axis divides evenly; else as it
    is. A layout changes where a compiled function computes, never what: the results are the
    one device's."""
    spread = keras.distribution.distribution()
    shape = getattr(value, "shape", None)
    if spread is None or not shape or not isinstance(spread, keras.distribution.DataParallel):
        return value
    devices = int(spread.device_mesh.devices.size)
    if devices < 2 or shape[0] is None or shape[0] % devices:
        return value
    return keras.distribution.distribute_tensor(value, spread.get_data_layout(shape))


def join_hosts():
    """Joins this process to the JAX cluster of several hosts: `keras.distribution.initialize()`
    (`jax.distributed`), which reads `KERAS_DISTRIBUTION_JOB_ADDRESSES`,
    `KERAS_DISTRIBUTION_NUM_PROCESSES` and `KERAS_DISTRIBUTION_PROCESS_ID` (or a TPU pod's or a
    cluster manager's environment). Nothing when `jax.distributed` is already running. Call it at
    program start, before any JAX computation; on CPU hosts the processes' collectives go through
    gloo (JAX's CPU default has none across processes)."""
    jax = _jax()
    if jax.distributed.is_initialized():
        return
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    keras.distribution.initialize()


def no_grad():
    """A context that records no gradient (PyTorch's `torch.no_grad`; nothing elsewhere)."""
    if name() == "torch":
        return _torch().no_grad()
    return contextlib.nullcontext()


# ------------------------------------------------------------------------ training on JAX
def _scope_values(scope, variables, old):
    """The values `variables` hold in `scope` after it ran (their old values where unchanged)."""
    values = [scope.get_current_value(v) for v in variables]
    return [o if v is None else v for v, o in zip(values, old)]


def _aux(result):
    return (result.loss, result.adv_logits, result.adv_weight, dict(result.extras))


def stateless_train_step(model, state, data):
    """`tfadv.AdvModel.train_step` on JAX: Keras' stateless `(state, data) -> (logs, state)`.

    The same pieces as on TensorFlow, in Keras' JAX trainer's order, inside one
    `keras.StatelessScope` over the training state: the batch's adversarial examples are crafted
    with the current weights (`model.craft`; its random draws come from the model's
    `seed_generator`, a variable of the training state), `model.compute_gradients` returns the
    loss and its gradients with respect to the trainable weights (`gradients_at`:
    `jax.value_and_grad` of the loss as a function of their values; no gradient flows through the
    attack), the optimizer applies the gradients statelessly, and the metrics are updated.
    """
    trainable, non_trainable, optimizer_values, metrics_values = state
    x, y, sample_weight = model._prepare(data)
    mapping = _state_mapping(model.trainable_variables, trainable)
    mapping += _state_mapping(model.non_trainable_variables, non_trainable)
    mapping += _state_mapping(model.optimizer.variables, optimizer_values)
    with keras.StatelessScope(state_mapping=mapping) as scope:
        with _key_stream(model.seed_generator.next()):  # the attack's random draws, per step
            adv = model.craft(x, y)
        result, grads = model.compute_gradients(x, y, adv, sample_weight)
    non_trainable = _scope_values(scope, model.non_trainable_variables, non_trainable)
    model._check_result(result)
    trainable, optimizer_values = model.optimizer.stateless_apply(
        optimizer_values, grads, trainable
    )
    with keras.StatelessScope(
        state_mapping=list(zip(model.metrics_variables, metrics_values))
    ) as scope:
        logs = model.update_trackers(x, y, sample_weight, adv, result)
    metrics_values = _scope_values(scope, model.metrics_variables, metrics_values)
    return logs, (trainable, non_trainable, optimizer_values, metrics_values)


def stateless_test_step(model, state, data):
    """`tfadv.AdvModel.test_step` on JAX: `(state, data) -> (logs, state)`."""
    trainable, non_trainable, metrics_values = state
    x, y, sample_weight = model._prepare(data)
    mapping = list(zip(model.trainable_variables, trainable))
    mapping += list(zip(model.non_trainable_variables, non_trainable))
    mapping += list(zip(model.metrics_variables, metrics_values))
    with keras.StatelessScope(state_mapping=mapping) as scope:
        logits = model.classifier(x, training=False)
        logs = model.evaluation_logs(x, y, sample_weight, keras.ops.cast(logits, "float32"))
    non_trainable = _scope_values(scope, model.non_trainable_variables, non_trainable)
    metrics_values = _scope_values(scope, model.metrics_variables, metrics_values)
    return logs, (trainable, non_trainable, metrics_values)
