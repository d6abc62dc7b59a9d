"""Export a classifier to ONNX through tf2onnx."""

import contextlib
import logging
import os

import onnx
import onnxruntime
import tensorflow as tf
import tf2onnx
from onnx import TensorProto, numpy_helper
from tensorflow.python.grappler import tf_optimizer
from tf2onnx import constants

from tfadv.export import _prepare

MIN_OPSET = 14  # the oldest opset tf2onnx >= 1.16 supports
DEFAULT_FILENAME = "model.onnx"
_KNOWN_DOMAINS = ("", "ai.onnx", "ai.onnx.ml")


def max_opset():
    """The newest ONNX opset the installed tf2onnx can target."""
    return max(constants.OPSET_TO_IR_VERSION)


def check_opset(opset):
    """An opset tf2onnx can target: an integer in `[MIN_OPSET, max_opset()]`."""
    highest = max_opset()
    if isinstance(opset, bool) or not isinstance(opset, int) or not MIN_OPSET <= opset <= highest:
        raise ValueError(
            f"`opset` must be an integer ONNX opset between {MIN_OPSET} and {highest} (the range "
            f"the installed tf2onnx converts to; 17 is a safe choice). Received: opset={opset!r}"
        )
    return opset


def to_onnx(model, path, *, opset=17, stochastic=False, input_shape=None):
    """Exports a classifier to an ONNX file, for ONNX Runtime and other ONNX servers.

    The ONNX graph has one input `images`, float32 of shape `(batch, *input_shape)` with pixels in
    [0, 1] (channels last, as in Keras), and two float32 outputs `logits` and `probabilities` (the
    softmax of the logits), whatever the model's dtype policy. It is converted with
    `tf2onnx.convert.from_function` from the same inference-mode function that
    `tfadv.export.to_saved_model` serves, so both formats hold the same computation: an `AdvModel`
    is replaced by its `.classifier` (no attack code), dual batch normalisation uses its main
    branch, dropout is off, and noise layers are off unless `stochastic=True`. The caller's model is
    left as it was. The converted graph is checked for operations ONNX cannot express and loaded
    once with ONNX Runtime before it is written, so a file on disk is a file that runs.

    Metadata (`tfadv.input_shape`, `tfadv.num_classes`, `tfadv.stochastic`, `tfadv.input_range`) is
    stored in the model's `metadata_props`.

    Args:
        model: a `keras.Model` returning logits, or a `tfadv.AdvModel` (its classifier is exported).
        path: str or path-like; a file name ending in `.onnx`, or a folder that receives
            `model.onnx`. Missing folders are created; an existing file is replaced.
        opset: int, the ONNX opset, between 14 and the newest the installed tf2onnx supports (18 for
            tf2onnx 1.17). Defaults to `17`.
        stochastic: bool, keep noise layers sampling fresh noise at inference (a randomised
            defence). Defaults to `False` (deterministic export).
        input_shape: optional tuple, the per-example image shape such as `(32, 32, 3)`; required
            when the model has no `Input` and was never built, or has unknown spatial dimensions.
            Defaults to `None` (read from the model).

    Returns:
        The path of the written `.onnx` file, as a string.

    Raises:
        ValueError: the input shape is unknown (pass `input_shape=`), `opset` is out of range, the
            file's folder cannot be created or written to, or a layer uses an operation tf2onnx
            cannot convert (the message names the layer and the op, and suggests
            `tfadv.export.to_saved_model` or another opset).

    Example:

    ```python
    model = tfadv.models.small_cnn()
    onnx_path = tfadv.export.to_onnx(model, "deploy/mnist.onnx", opset=17)

    import onnxruntime
    session = onnxruntime.InferenceSession(onnx_path)
    x_test, y_test = tfadv.data.load_numpy("embedded_mnist", split="test", limit=8)
    logits, probabilities = session.run(None, {"images": x_test})
    ```
    """
    opset = check_opset(opset)
    if not isinstance(path, (str, os.PathLike)):
        raise ValueError(f"`path` must be a file or folder path. Received: path={path!r}")
    path = os.fspath(path)
    if not path.lower().endswith(".onnx"):
        path = os.path.join(path, DEFAULT_FILENAME)
    _prepare.check_writable(os.path.dirname(path) or ".")
    with _prepare.prepared(model, stochastic=stochastic, input_shape=input_shape) as prepared:
        function = prepared.function
        sampling = _prepare.random_ops(function)
        try:
            with _quiet_tf2onnx(), _keep_random_ops_live(bool(sampling)):
                model_proto, _ = tf2onnx.convert.from_function(
                    function,
                    input_signature=function.input_signature,
                    opset=opset,
                    custom_op_handlers=_RANDOM_OP_HANDLERS,
                )
        except Exception as error:
            raise ValueError(
                f"tf2onnx could not convert model '{prepared.classifier.name}' to ONNX opset "
                f"{opset}: {type(error).__name__}: {error}. Try another `opset=` "
                f"({MIN_OPSET}-{max_opset()}), or export with `tfadv.export.to_saved_model`, "
                "which runs every TensorFlow operation."
            ) from error
        _embed_captured_constants(model_proto, function)
        _check_supported(model_proto, prepared.classifier, opset)
        _check_random_ops(model_proto, sampling, prepared.classifier)
        _finalize(model_proto, prepared)
    _check_runtime(model_proto, prepared.classifier.name, opset)
    folder = os.path.dirname(path)
    if folder:
        os.makedirs(folder, exist_ok=True)
    onnx.save(model_proto, path)
    return path


@contextlib.contextmanager
def _quiet_tf2onnx():
    """tf2onnx logs every step at INFO and unsupported ops at ERROR; tfadv raises its own error."""
    logger = logging.getLogger("tf2onnx")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


def _random_like(ctx, node, name, args):
    """tf2onnx handler: a stateless TF sampler becomes `RandomNormalLike` / `RandomUniformLike`.

    TF's stateless samplers draw from a key derived from a seed variable that the conversion
    freezes; ONNX Runtime's `Random*Like` draw fresh numbers at every run instead, which is what a
    stochastic export (noise layers sampling at inference) means. tf2onnx has already renamed
    `node.type`.
    """
    dtype = ctx.get_dtype(node.output[0])
    shape = ctx.make_node("Cast", [node.input[0]], attr={"to": TensorProto.INT64})
    zeros = ctx.make_node("ConstantOfShape", shape.output)
    ctx.replace_inputs(node, [zeros.output[0]])
    for attribute in list(node.attr):
        del node.attr[attribute]
    node.set_attr("dtype", dtype)


_RANDOM_OP_HANDLERS = {
    "StatelessRandomNormalV2": (_random_like, ["RandomNormalLike"]),
    "StatelessRandomUniformV2": (_random_like, ["RandomUniformLike"]),
}
_ONNX_RANDOM_OPS = ("RandomNormal", "RandomNormalLike", "RandomUniform", "RandomUniformLike")


@contextlib.contextmanager
def _keep_random_ops_live(active):
    """Stops grappler's constant folding from freezing random draws while tf2onnx optimises.

    Variables (the noise seeds included) are frozen to constants before grappler runs, so a sampler
    with a static shape (weight noise) would be folded into one fixed sample. Only used when the
    traced graph samples random numbers, i.e. for stochastic exports.
    """
    if not active:
        yield
        return
    original = tf_optimizer.OptimizeGraph

    def optimize_graph(config, metagraph, *args, **kwargs):
        optimizers = config.graph_options.rewrite_options.optimizers
        kept = [name for name in optimizers if name != "constfold"] or ["function"]
        del optimizers[:]
        optimizers.extend(kept)
        return original(config, metagraph, *args, **kwargs)

    tf_optimizer.OptimizeGraph = optimize_graph
    try:
        yield
    finally:
        tf_optimizer.OptimizeGraph = original


def _check_random_ops(model_proto, sampling, classifier):
    """Raises when random draws of the TensorFlow graph were frozen into constants."""
    if not sampling:
        return
    converted = sum(
        node.op_type in _ONNX_RANDOM_OPS
        for graph in _graphs(model_proto.graph)
        for node in graph.node
    )
    if converted >= len(sampling):
        return
    layers = sorted({_prepare.describe_node(classifier, op) or f"op '{op}'" for op in sampling})
    raise ValueError(
        f"Model '{classifier.name}' samples random numbers at inference ({', '.join(layers)}) but "
        f"the ONNX conversion kept only {converted} of its {len(sampling)} random draws live (the "
        "others were frozen into one fixed sample). Export stochastic models with "
        "`tfadv.export.to_saved_model(..., stochastic=True)`, or export deterministically "
        "(`stochastic=False`)."
    )


def _embed_captured_constants(model_proto, function):
    """Turns constants captured by the traced function back into initializers.

    tf2onnx's `from_function` lists every non-variable capture of the concrete function (constant
    tensors a layer holds, such as `keras.layers.Normalization(mean=..., variance=...)`) as a graph
    input with no value; they are constants of the model, so they become initializers here.
    """
    concrete = function.get_concrete_function()
    num_args = len(concrete.inputs) - len(concrete.captured_inputs)
    values = {}
    for placeholder, captured in zip(
        concrete.inputs[num_args:], concrete.captured_inputs, strict=True
    ):
        if placeholder.dtype != tf.resource and hasattr(captured, "numpy"):
            values[placeholder.name] = captured.numpy()
    graph = model_proto.graph
    existing = {initializer.name for initializer in graph.initializer}
    for value_info in list(graph.input):
        if value_info.name in values:
            graph.input.remove(value_info)
            if value_info.name not in existing:
                graph.initializer.append(
                    numpy_helper.from_array(values[value_info.name], name=value_info.name)
                )


def _graphs(graph):
    yield graph
    for node in graph.node:
        for attribute in node.attribute:
            if attribute.HasField("g"):
                yield from _graphs(attribute.g)
            for subgraph in attribute.graphs:
                yield from _graphs(subgraph)


def _unsupported_nodes(model_proto, opset):
    found = []
    for graph in _graphs(model_proto.graph):
        for node in graph.node:
            domain = node.domain or ""
            if domain == "com.microsoft":  # ONNX Runtime contrib ops: checked by loading
                continue
            if domain not in _KNOWN_DOMAINS:
                found.append(node)
                continue
            domain = "" if domain == "ai.onnx" else domain
            version = opset if domain == "" else None
            if version is None:
                supported = onnx.defs.has(node.op_type, domain)
            else:
                supported = onnx.defs.has(node.op_type, version, domain)
            if not supported:
                found.append(node)
    return found


def _check_supported(model_proto, classifier, opset):
    nodes = _unsupported_nodes(model_proto, opset)
    if not nodes:
        return
    details = []
    for node in nodes:
        where = _prepare.describe_node(classifier, node.name)
        details.append(
            f"TensorFlow op '{node.op_type}' in {where}"
            if where
            else f"TensorFlow op '{node.op_type}'"
        )
        details[-1] += f" (graph node '{node.name}')"
    raise ValueError(
        f"Model '{classifier.name}' cannot be exported to ONNX opset {opset}: tf2onnx has no "
        f"conversion for {'; '.join(details)}. Export it with `tfadv.export.to_saved_model` "
        "instead (SavedModel runs every TensorFlow op), rewrite that layer with standard ops, or "
        f"try another `opset=` ({MIN_OPSET}-{max_opset()})."
    )


def _finalize(model_proto, prepared):
    """Names the batch dimension and stores the export's metadata."""
    for value in list(model_proto.graph.input) + list(model_proto.graph.output):
        dims = value.type.tensor_type.shape.dim
        if dims and not dims[0].HasField("dim_value"):
            dims[0].dim_param = "batch"
    model_proto.doc_string = (
        f"tfadv export of '{prepared.classifier.name}': input 'images' float32 "
        f"[batch, {', '.join(str(d) for d in prepared.input_shape)}] in [0, 1]; "
        "outputs 'logits' and 'probabilities' float32 [batch, num_classes]."
    )
    onnx.helper.set_model_props(
        model_proto,
        {
            "tfadv.input_shape": ",".join(str(d) for d in prepared.input_shape),
            "tfadv.input_range": "0,1",
            "tfadv.num_classes": str(int(prepared.num_classes)),
            "tfadv.stochastic": str(prepared.stochastic).lower(),
            "tfadv.classifier": prepared.classifier.name,
        },
    )


def _check_runtime(model_proto, name, opset):
    try:
        onnxruntime.InferenceSession(
            model_proto.SerializeToString(), providers=["CPUExecutionProvider"]
        )
    except Exception as error:
        raise ValueError(
            f"ONNX Runtime cannot load the ONNX conversion of model '{name}' (opset {opset}): "
            f"{error}. Try another `opset=` ({MIN_OPSET}-{max_opset()}) or export with "
            "`tfadv.export.to_saved_model`."
        ) from error
