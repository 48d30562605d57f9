"""Counting a model's multiply-adds from its TensorFlow graph."""

import numpy as np
import tensorflow as tf

_CONV_OPS = ("Conv2D", "DepthwiseConv2dNative")


def count_macs(model, input_shape=None):
    """Forward multiply-adds of one image through ``model``.

    Counts the multiply-accumulates of convolutions (grouped and depthwise included) and
    matrix multiplications, the convention of the papers and of torchvision's "GFLOPS";
    batch norm, activations, pooling and bias additions are not counted.

    Args:
        model: a Keras model.
        input_shape: (height, width, channels) to count at; defaults to the model's own
            input shape, which must then be static.

    Returns:
        int, multiply-adds for a batch of one.

    Examples:

    >>> import keras_cnns
    >>> round(count_macs(keras_cnns.create_model("resnet50")) / 1e9, 3)
    3.858
    """
    shape = tuple(input_shape or model.input_shape[1:])
    if None in shape:
        raise ValueError(f"count_macs needs a static input shape. Received: input_shape={shape}")
    graph = (
        tf.function(lambda x: model(x, training=False))
        .get_concrete_function(tf.TensorSpec((1, *shape), model.inputs[0].dtype))
        .graph
    )
    return _graph_macs(graph)


def _graph_macs(graph):
    total = 0
    for op in graph.get_operations():
        if op.type in ("PartitionedCall", "StatefulPartitionedCall"):
            # Keras runs grouped convolutions on the CPU as a nested, XLA-compiled function.
            total += _graph_macs(graph._get_function(op.get_attr("f").name).graph)
        elif op.type in _CONV_OPS:
            kernel = op.inputs[1].shape.as_list()
            out = op.outputs[0].shape.as_list()
            # Conv2D kernels are (kh, kw, in / groups, out): each output sees kh*kw*in/groups.
            # Depthwise kernels are (kh, kw, in, multiplier): each output sees kh*kw.
            per_output = kernel[0] * kernel[1] * (kernel[2] if op.type == "Conv2D" else 1)
            total += int(np.prod(out)) * per_output
        elif op.type in ("MatMul", "BatchMatMulV2"):
            a, out = op.inputs[0].shape.as_list(), op.outputs[0].shape.as_list()
            inner = a[-2] if op.get_attr("transpose_a" if op.type == "MatMul" else "adj_x") else a[-1]
            total += int(np.prod(out)) * inner
    return total
