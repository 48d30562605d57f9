"""Normalizations: batch norm on TensorFlow's fused kernel, and AlexNet's local response
normalization."""

import keras
from keras import ops

from keras_cnns.layers._base import Block, pad_channels, positive_int, register

__all__ = ["FusedBatchNormalization", "LocalResponseNormalization"]


#: The input dtypes of TensorFlow's fused kernel (its statistics are float32).
_FUSED_INPUTS = ("float32", "bfloat16", "float16")


@register
class FusedBatchNormalization(keras.layers.BatchNormalization):
    """``keras.layers.BatchNormalization`` that runs TensorFlow's fused kernel.

    Keras 3's batch norm computes the moments, the normalization and the scale and shift
    as separate ops, in float32 even under mixed precision; Keras 2 called TensorFlow's
    ``FusedBatchNormV3``, one kernel for all of it (and one for its gradient), which
    Grappler also merges into the preceding convolution at inference. On the TensorFlow
    backend this layer calls that kernel for 4-D inputs normalized over the last axis,
    in training and in inference; bfloat16 and float16 inputs go in as they are, with
    float32 statistics. Everything else (other backends, other axes or ranks, masks,
    ``synchronized=True``, ``renorm=True``, float64) is Keras' own computation.

    The layer is Keras' in every other respect: the same arguments, variables
    (``gamma``, ``beta``, ``moving_mean``, ``moving_variance``), config and saved
    weights; ``isinstance(layer, keras.layers.BatchNormalization)`` holds. The moving
    statistics follow Keras' rule, ``moving = moving * momentum + batch * (1 -
    momentum)``, with the batch variance over ``n`` values divided by ``n`` (the fused
    kernel returns it divided by ``n - 1``, which is undone).

    Examples:

    >>> import numpy as np
    >>> bn = FusedBatchNormalization(epsilon=1e-5)
    >>> x = np.random.default_rng(0).normal(3.0, 2.0, (8, 4, 4, 2)).astype("float32")
    >>> y = keras.ops.convert_to_numpy(bn(x, training=True))
    >>> np.round(y.mean(axis=(0, 1, 2)), 4) + 0.0, np.round(y.std(axis=(0, 1, 2)), 3)
    (array([0., 0.], dtype=float32), array([1., 1.], dtype=float32))
    """

    def _fused(self, inputs, mask):
        return (
            keras.backend.backend() == "tensorflow"
            and mask is None
            and not self.synchronized
            and not self.renorm
            and len(inputs.shape) == 4
            and self.axis in (-1, 3)
            and keras.backend.standardize_dtype(inputs.dtype) in _FUSED_INPUTS
            and self.moving_mean.dtype == "float32"
        )

    def call(self, inputs, training=None, mask=None):
        if not self._fused(inputs, mask):
            return super().call(inputs, training=training, mask=mask)
        import tensorflow as tf

        x = tf.convert_to_tensor(inputs)
        channels = self.moving_mean.shape[0]
        scale = self.gamma.value if self.scale else tf.ones((channels,), "float32")
        offset = self.beta.value if self.center else tf.zeros((channels,), "float32")
        if training and self.trainable:
            empty = tf.constant([], "float32")
            y, mean, variance, _, _, _ = tf.raw_ops.FusedBatchNormV3(
                x=x, scale=scale, offset=offset, mean=empty, variance=empty,
                epsilon=self.epsilon, exponential_avg_factor=1.0, data_format="NHWC", is_training=True,
            )
            # The kernel's batch variance is divided by n - 1; Keras' (and the
            # normalization's) by n.
            n = tf.cast(tf.reduce_prod(tf.shape(x)[:-1]), "float32")
            variance = variance * ((n - 1.0) / n)
            momentum = self.momentum
            self.moving_mean.assign(self.moving_mean * momentum + mean * (1.0 - momentum))
            self.moving_variance.assign(self.moving_variance * momentum + variance * (1.0 - momentum))
        else:
            y, _, _, _, _, _ = tf.raw_ops.FusedBatchNormV3(
                x=x, scale=scale, offset=offset, mean=self.moving_mean.value, variance=self.moving_variance.value,
                epsilon=self.epsilon, exponential_avg_factor=1.0, data_format="NHWC", is_training=False,
            )
        return tf.cast(y, self.compute_dtype)


def _window(x, start, length, axis):
    """``length`` channels of ``x`` from ``start`` on the channel axis (-1 or 1)."""
    return x[..., start : start + length] if axis == -1 else x[:, start : start + length]


@register
class LocalResponseNormalization(Block):
    """Local response normalization across channels (Krizhevsky et al., 2012, §3.3).

    ``b[c] = a[c] / (k + alpha * sum(a[j] ** 2 for j in the n channels around c)) ** beta``

    The sum runs over ``size`` adjacent channels centred on ``c`` (clipped at the first
    and last channel), and ``alpha`` multiplies the plain sum, as in the paper and in
    ``tf.nn.local_response_normalization``. Caffe and ``torch.nn.LocalResponseNorm``
    divide alpha by ``size``: to reproduce them pass ``alpha=their_alpha / size``.
    The layer has no weights. Under mixed precision the sum is taken in float32. The
    channels are on the axis of ``data_format``.

    Args:
        size: int, the number of adjacent channels ``n``. Defaults to 5.
        alpha: float. Defaults to 1e-4.
        beta: float. Defaults to 0.75.
        k: float, the additive constant. Defaults to 2.0.

    Examples:

    >>> import numpy as np
    >>> lrn = LocalResponseNormalization()
    >>> lrn(np.ones((1, 1, 1, 8), "float32")).shape
    TensorShape([1, 1, 1, 8])
    """

    def __init__(self, size=5, alpha=1e-4, beta=0.75, k=2.0, **kwargs):
        super().__init__(**kwargs)
        self.size = positive_int(size, "size")
        self.alpha = float(alpha)
        self.beta = float(beta)
        self.k = float(k)

    def call(self, inputs):
        x = ops.cast(inputs, "float32")
        squares = ops.square(x)
        before = self.size // 2
        padded = ops.pad(squares, pad_channels(before, self.size - 1 - before, self.data_format))
        axis = self.channel_axis
        channels = ops.shape(inputs)[axis]
        total = _window(padded, 0, channels, axis)
        for offset in range(1, self.size):
            total = total + _window(padded, offset, channels, axis)
        out = x / ops.power(self.k + self.alpha * total, self.beta)
        return ops.cast(out, self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)
