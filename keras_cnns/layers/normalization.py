"""Local response normalization, as AlexNet defines it."""

from keras import ops

from keras_cnns.layers._base import Block, positive_int, register

__all__ = ["LocalResponseNormalization"]


@register
class LocalResponseNormalization(Block):
    """Local response normalization across channels (Krizhevsky et al., 2012, §3.3).

    ``b[c] = a[c] / (k + alpha * sum(a[j] ** 2 for j in the n channels around c)) ** beta``

    The sum runs over ``size`` adjacent channels centred on ``c`` (clipped at the first
    and last channel), and ``alpha`` multiplies the plain sum, as in the paper and in
    ``tf.nn.local_response_normalization``. Caffe and ``torch.nn.LocalResponseNorm``
    divide alpha by ``size``: to reproduce them pass ``alpha=their_alpha / size``.
    The layer has no weights. Under mixed precision the sum is taken in float32.

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
        padded = ops.pad(squares, [[0, 0], [0, 0], [0, 0], [before, self.size - 1 - before]])
        channels = ops.shape(inputs)[-1]
        total = padded[..., 0:channels]
        for offset in range(1, self.size):
            total = total + padded[..., offset : offset + channels]
        out = x / ops.power(self.k + self.alpha * total, self.beta)
        return ops.cast(out, self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)
