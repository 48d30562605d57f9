"""Batch normalization folded into the convolution before it, for inference and export.

In inference mode a batch norm is an affine map per channel, ``y = (x - mean) * s +
beta`` with ``s = gamma / sqrt(moving_variance + epsilon)``; when ``x`` is a
convolution's output the map moves into the convolution: its kernel is scaled by ``s``
on the output channels and its bias becomes ``(bias - mean) * s + beta`` (Jacob et al.
2018, section 3.2; PyTorch's ``fuse_conv_bn_eval``). The network computes the same
function with one layer fewer per pair.

``fold_batch_norm`` finds the pairs through the blocks' own declaration of their call
order, ``_chain()`` (and the branches of ``_branches()`` and ``Parallel`` groups), where
every child only feeds the next one: a ``keras.layers.Conv2D`` or
``keras.layers.DepthwiseConv2D`` without activation immediately followed (absent
children skipped) by a ``keras.layers.BatchNormalization`` on its channel axis. A batch
norm before a convolution (DenseNet's pre-activation) is not folded; nor is one the
block does not hold as an attribute of its own.

What it saves depends on who runs the model. A batch norm on TensorFlow's fused kernel
(``FusedBatchNormalization``) is one pass over a feature map, cheap beside the
convolution before it; tf2onnx and the LiteRT converter fold batch norms themselves
(their files hold the same operations either way). ResNet-50 at 224 in float32 on two CPU cores, best of alternating rounds
in one process: ``predict_on_batch`` on 16 images runs 1.06-1.10x faster folded, one
image called eagerly 1.03-1.06x; against Keras' own (unfused) batch norm, 1.16-1.20x
and 1.14-1.17x.

The folded model is for inference and export: trained further it would no longer
normalize, and its config still describes the batch norms it no longer has (a file
``Model.save`` writes fails to load, naming the batch norms' missing variables), so save
the original model, not the folded one.
"""

import contextlib

import numpy as np

#: The largest change of a block's outputs by folding, relative to their largest
#: magnitude, that ``fold_batch_norm``'s check accepts.
TOLERANCE = 1e-5
#: The seed of the check's random inputs.
SEED = 0
#: The input size the check gives a block whose input size is not fixed.
CHECK_SIZE = 32


def _chains(layer):
    """The chains of ``layer``: lists of its children in call order, each feeding the
    next (its ``_chain()``, each branch of ``_branches()``, each branch of a
    ``Parallel`` group in them), without absent (None) entries."""
    from keras_cnns.layers._base import Block, Parallel

    if not isinstance(layer, Block):
        return []
    pending = []
    for method in ("_chain", "_branches"):
        if callable(getattr(layer, method, None)):
            try:
                found = getattr(layer, method)()
            except NotImplementedError:
                continue
            pending.extend([found] if method == "_chain" else found)
    chains = []
    while pending:
        chain = [item for item in pending.pop(0) if item is not None]
        pending.extend(branch for item in chain if isinstance(item, Parallel) for branch in item.branches)
        chains.append(chain)
    return chains


def _kernel_variable(conv):
    """The kernel variable of ``conv`` (Conv2D keeps it as ``_kernel``), or None for a
    kernel that is not one plain variable (LoRA, quantized)."""
    import keras

    if getattr(conv, "lora_enabled", False) or getattr(conv.dtype_policy, "quantization_mode", None):
        return None
    kernel = getattr(conv, "_kernel", None)
    if kernel is None:
        kernel = getattr(conv, "kernel", None)
    return kernel if isinstance(kernel, keras.Variable) else None


def _foldable(conv, bn):
    """Whether ``bn`` (the next layer after ``conv`` in a chain) folds into ``conv``."""
    import keras

    if not isinstance(conv, (keras.layers.Conv2D, keras.layers.DepthwiseConv2D)):
        return False
    if not isinstance(bn, keras.layers.BatchNormalization) or not (conv.built and bn.built):
        return False
    channel_axis = (-1, 3) if conv.data_format == "channels_last" else (1, -3)
    return (
        bn.axis in channel_axis
        and conv.activation is keras.activations.linear
        and _kernel_variable(conv) is not None
        and not getattr(bn, "renorm", False)
    )


def foldable_pairs(model):
    """``[(block, conv, bn), ...]``: each convolution of ``model`` whose output goes only
    to a batch norm that folds into it, with the block that holds both, in the order of
    ``model``'s layers.

    Examples:

    >>> import keras_cnns
    >>> pairs = foldable_pairs(keras_cnns.resnet20())
    >>> len(pairs), [layer.name for layer in pairs[0]]
    (19, ['conv1', 'conv', 'bn'])
    """
    pairs, seen = [], set()
    for layer in model._flatten_layers(include_self=False, recursive=True):
        for chain in _chains(layer):
            for conv, bn in zip(chain, chain[1:]):
                if id(bn) not in seen and _foldable(conv, bn) and _attribute_of(layer, bn) is not None:
                    seen.add(id(bn))
                    pairs.append((layer, conv, bn))
    return pairs


def _attribute_of(block, layer):
    """The name of the attribute of ``block`` that holds ``layer``, or None."""
    return next((name for name, value in vars(block).items() if value is layer), None)


def _numpy(variable):
    import keras

    return np.asarray(keras.ops.convert_to_numpy(variable), "float32")


def folded_weights(conv, bn):
    """``(kernel, bias)`` of ``conv`` with ``bn`` folded in, float32 NumPy arrays.

    ``s = gamma / sqrt(moving_variance + epsilon)`` (gamma 1 without ``scale``) scales
    the kernel's output channels: a Conv2D kernel's last axis, and for a DepthwiseConv2D
    output channel ``c * depth_multiplier + j``, kernel entry ``[..., c, j]``. The bias
    is ``(bias - moving_mean) * s + beta`` (bias 0 where the convolution has none, beta
    0 without ``center``).

    Examples:

    >>> import keras
    >>> conv = keras.layers.Conv2D(2, 1, use_bias=False)
    >>> bn = keras.layers.BatchNormalization(epsilon=0.0)
    >>> _ = bn(conv(np.ones((1, 1, 1, 1), "float32")))
    >>> _ = conv.kernel.assign(np.full((1, 1, 1, 2), 2.0))
    >>> bn.set_weights([np.array([1.0, 3.0]), np.array([0.5, 0.0]), np.array([1.0, 2.0]), np.array([4.0, 9.0])])
    >>> kernel, bias = folded_weights(conv, bn)
    >>> kernel.ravel().tolist(), bias.tolist()
    ([1.0, 2.0], [0.0, -2.0])
    """
    import keras

    mean, variance = _numpy(bn.moving_mean), _numpy(bn.moving_variance)
    gamma = _numpy(bn.gamma) if bn.scale else np.ones_like(mean)
    beta = _numpy(bn.beta) if bn.center else np.zeros_like(mean)
    scale = gamma / np.sqrt(variance + np.float32(bn.epsilon))
    kernel = _numpy(_kernel_variable(conv))
    if isinstance(conv, keras.layers.DepthwiseConv2D):
        kernel = kernel * scale.reshape(kernel.shape[-2:])
    else:
        kernel = kernel * scale
    bias = _numpy(conv.bias) if conv.use_bias and conv.bias is not None else np.zeros_like(mean)
    return kernel.astype("float32"), ((bias - mean) * scale + beta).astype("float32")


def _fold_pair(block, conv, bn):
    """Folds ``bn`` into ``conv`` in place and takes ``bn`` out of ``block``."""
    kernel, bias = folded_weights(conv, bn)
    _kernel_variable(conv).assign(kernel)
    if not (conv.use_bias and conv.bias is not None):
        # As Keras' Conv.enable_lora and quantize add variables to a built layer.
        locked = conv._tracker.locked
        conv._tracker.unlock()
        conv.bias = conv.add_weight(
            name="bias", shape=bias.shape, initializer="zeros", regularizer=conv.bias_regularizer,
            constraint=conv.bias_constraint, trainable=True, dtype=conv.dtype,
        )
        if locked:
            conv._tracker.lock()
        conv.use_bias = True
    conv.bias.assign(bias)
    locked = block._tracker.locked
    block._tracker.unlock()
    setattr(block, _attribute_of(block, bn), None)
    block._tracker.untrack(bn)  # its variables leave block.weights and the model's
    if locked:
        block._tracker.lock()


def is_float32(model):
    """Whether every layer of ``model`` computes and keeps its variables in float32."""
    return all(layer.dtype_policy.name == "float32" for layer in [model, *model.layers])


def _policies_to_float32(config):
    if isinstance(config, dict):
        if config.get("class_name") in ("DTypePolicy", "FloatDTypePolicy") and isinstance(config.get("config"), dict):
            return {**config, "config": {**config["config"], "name": "float32"}}
        return {key: _policies_to_float32(value) for key, value in config.items()}
    if isinstance(config, list):
        return [_policies_to_float32(value) for value in config]
    return config


def copy_model(model, float32=False):
    """A new model built from ``model``'s config, with its weights; with ``float32``,
    every dtype policy of the config is float32 (a mixed-precision model keeps its
    variables in float32, so its weights carry over exactly)."""
    import keras

    config = model.get_config()
    if not float32:
        copy = model.__class__.from_config(config)
    else:
        previous = keras.config.dtype_policy()
        keras.config.set_dtype_policy("float32")
        try:
            copy = model.__class__.from_config(_policies_to_float32(config))
        finally:
            keras.config.set_dtype_policy(previous)
    copy.set_weights(model.get_weights())
    return copy


def _block_input(block, rng):
    """A random input for ``block`` alone: batch 1, the input shape it was built for
    (``CHECK_SIZE`` where a size is not fixed), standard normal values."""
    shapes = list((block._build_shapes_dict or {}).values())
    if len(shapes) != 1 or not isinstance(shapes[0], (tuple, list)) or not shapes[0]:
        raise ValueError(f"Expected block {block.path!r} to be built for one input shape, to check its fold. "
                         f"Received: build shapes {block._build_shapes_dict!r}")
    size = [CHECK_SIZE if d is None else d for d in shapes[0][1:]]
    return rng.standard_normal([1, *size]).astype("float32")


def _outputs(layer, inputs):
    import keras

    outputs = layer(inputs, training=False)
    return [np.asarray(keras.ops.convert_to_numpy(y), "float64") for y in keras.tree.flatten(outputs)]


def relative_difference(folded, original):
    """The largest ``|folded - original|`` over lists of arrays, relative to the largest
    ``|original|``; infinite where a shape differs or a value is not finite.

    >>> round(relative_difference([np.array([2.0, -4.0004])], [np.array([2.0, -4.0])]), 12)
    0.0001
    """
    if [np.shape(a) for a in folded] != [np.shape(b) for b in original]:
        return float("inf")
    folded = [np.asarray(a, "float64") for a in folded]
    original = [np.asarray(b, "float64") for b in original]
    if not all(np.all(np.isfinite(a)) for a in [*folded, *original]):
        return float("inf")
    largest = max((float(np.max(np.abs(b))) for b in original if b.size), default=0.0)
    difference = max((float(np.max(np.abs(a - b))) for a, b in zip(folded, original) if a.size), default=0.0)
    return difference / largest if largest else (0.0 if difference == 0 else float("inf"))


@contextlib.contextmanager
def _full_float32():
    """Float32 convolutions computed in float32 on the TensorFlow backend: TensorFlow
    runs them in TensorFloat-32 on Ampere and later GPUs by default, whose 10-bit
    mantissa moves a block by ~1e-3 by itself."""
    import keras

    if keras.backend.backend() != "tensorflow":
        yield
        return
    import tensorflow as tf

    enabled = tf.config.experimental.tensor_float_32_execution_enabled()
    tf.config.experimental.enable_tensor_float_32_execution(False)
    try:
        yield
    finally:
        tf.config.experimental.enable_tensor_float_32_execution(enabled)


def _fold_all(model, check):
    """Folds every pair of ``model`` in place; with ``check``, each block holding pairs
    is run on one random input before and after its pairs are folded (ValueError when
    its outputs move by more than ``TOLERANCE``). Returns the number of pairs."""
    pairs = foldable_pairs(model)
    blocks = {}
    for block, conv, bn in pairs:
        blocks.setdefault(id(block), (block, []))[1].append((conv, bn))
    rng = np.random.default_rng(SEED)
    with _full_float32() if check else contextlib.nullcontext():
        for block, block_pairs in blocks.values():
            if check:
                inputs = _block_input(block, rng)
                before = _outputs(block, inputs)
            for conv, bn in block_pairs:
                _fold_pair(block, conv, bn)
            if check:
                difference = relative_difference(_outputs(block, inputs), before)
                if not difference <= TOLERANCE:
                    raise ValueError(
                        f"Expected block {block.path!r} to compute the same outputs with its batch norms folded, "
                        f"within {TOLERANCE:.0e} relative; they differ by {difference:.1e}. Received: model={model.name!r}"
                    )
    return len(pairs)


def fold_batch_norm(model, check=True):
    """A new model computing what ``model`` computes in inference, with each batch norm
    that follows a convolution folded into that convolution's kernel and bias.

    ``model`` is rebuilt from its config and given its weights, then each pair of
    ``foldable_pairs`` is folded in the copy (``folded_weights``, in float32 NumPy from
    the float32 variables, also under a mixed-precision policy): the convolution gets
    the folded kernel and a bias (a ``bias`` variable is added to one without), and the
    batch norm leaves its block and the model's weights. ``model`` is left as it was; a
    model without such pairs comes back as an equal copy. The number of batch norms
    folded is the new model's ``folded_batch_norms`` attribute.

    The folded model is for inference and export. Trained further it would no longer
    normalize; its config still describes the batch norms, so a file that
    ``Model.save`` writes does not load: save ``model``, and fold after loading.

    Args:
        model: a built Keras model (a ``Functional`` or ``Sequential`` model that
            ``from_config`` rebuilds), such as those of ``keras_cnns.create_model``.
        check: bool. Each block holding a pair is run in inference mode on one random
            input (batch 1, the input shape it was built for, ``CHECK_SIZE`` where a
            size is not fixed; seed ``SEED``) before and after its pairs are folded, and
            a ValueError names the first block whose outputs move by more than
            ``TOLERANCE`` (1e-5) of their largest magnitude (``relative_difference``).
            Blocks, not the model's outputs: a softmax scales the logits' rounding
            errors by their magnitude, and saturates (a fresh ResNet-152 at 224 gives
            an exact one-hot, which would hide any fold). A model computing in another
            dtype than float32 is checked on a float32 copy, folded the same way
            (bfloat16's rounding alone moves a block by ~1e-2), and TensorFlow's
            TensorFloat-32 convolutions (Ampere and later GPUs) are turned off while
            the check runs. On a CPU (TensorFlow 2.21, oneDNN) a correctly folded block
            moves by up to ~4e-6: float32 convolutions are that far from float64
            themselves. A trained block whose batch norm has a near-zero variance
            before a clipping activation (ReLU6) can exceed the tolerance though the
            fold is right: the rounding of its large pre-activations is measured against
            clipped outputs (a MobileNetV2 block after training: 4.4e-5). ``predict``
            and ``export`` fold with ``check=False`` (export checks each file against
            the unfolded model instead). Defaults to True.

    Returns:
        The folded model, a new ``keras.Model`` with a ``folded_batch_norms`` int.

    Raises:
        ValueError: ``model`` is not a built Keras model, ``check`` not a bool, or,
            with ``check``, a block's outputs moved by more than ``TOLERANCE``.

    Examples:

    >>> import keras_cnns
    >>> model = keras_cnns.resnet20()
    >>> folded = fold_batch_norm(model)
    >>> folded.folded_batch_norms, len(foldable_pairs(folded))
    (19, 0)
    >>> len(model.weights), len(folded.weights)  # per pair: a batch norm's 4 variables out, a bias in
    (97, 40)
    """
    import keras

    if not isinstance(model, keras.Model) or not model.built:
        raise ValueError(f"Expected `model` to be a built keras.Model. Received: model={model!r}")
    if not isinstance(check, bool):
        raise ValueError(f"Expected `check` to be a bool. Received: check={check!r}")
    float32 = is_float32(model)
    if check and not float32:
        _fold_all(copy_model(model, float32=True), check=True)
    folded = copy_model(model)
    folded.folded_batch_norms = _fold_all(folded, check=check and float32)
    return folded
