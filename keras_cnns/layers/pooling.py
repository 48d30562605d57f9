"""Max pooling with PyTorch/Caffe padding semantics."""

import keras
from keras import ops

from keras_cnns.layers._base import Block, layout, pair, register, spatial

__all__ = ["PaddedMaxPool2D"]


@register
class PaddedMaxPool2D(Block):
    """Max pooling with symmetric padding and an optional ceil mode.

    Keras pools with ``"valid"`` or ``"same"`` padding; Caffe and PyTorch pad
    symmetrically and may round the output size up (``ceil_mode``), which is how the
    published layer tables of ZFNet, GoogLeNet and NIN get their sizes (e.g. ZFNet's
    110 -> 55 and 26 -> 13). Padding is with -inf, so it never wins the max. Output size:
    ``floor_or_ceil((H + 2 * padding - pool_size) / strides) + 1``.

    Args:
        pool_size: int or pair. Defaults to 3.
        strides: int or pair. Defaults to 2.
        padding: int, symmetric padding. Defaults to 0.
        ceil_mode: bool, round the output size up. Defaults to False.

    Examples:

    >>> PaddedMaxPool2D(3, 2, ceil_mode=True).compute_output_shape((None, 26, 26, 8))
    (None, 13, 13, 8)
    """

    def __init__(self, pool_size=3, strides=2, padding=0, ceil_mode=False, **kwargs):
        super().__init__(**kwargs)
        self.pool_size = pair(pool_size, "pool_size")
        self.strides = pair(strides, "strides")
        if not isinstance(padding, int) or padding < 0:
            raise ValueError(
                f"Expected `padding` to be a non-negative int. Received: padding={padding!r}"
            )
        if 2 * padding > min(self.pool_size):
            raise ValueError(
                "Expected `padding` to be at most half of `pool_size` "
                f"{self.pool_size}. Received: padding={padding}"
            )
        if ceil_mode and any(padding + s > k for s, k in zip(self.strides, self.pool_size)):
            # PyTorch then drops a last window that would start in the padding.
            raise ValueError(
                "ceil_mode=True needs padding + strides <= pool_size. Received: "
                f"pool_size={self.pool_size}, strides={self.strides}, padding={padding}"
            )
        self.padding = padding
        self.ceil_mode = bool(ceil_mode)
        self.pool = keras.layers.MaxPooling2D(
            self.pool_size, self.strides, padding="valid", data_format=self.data_format, dtype=self.dtype_policy,
            name="pool",
        )

    def _pads(self):
        # Ceil mode: stride - 1 extra rows/columns at the end make floor() round up.
        # With pool_size >= stride the last window still starts inside the input.
        return [
            (self.padding, self.padding + (s - 1 if self.ceil_mode else 0))
            for s in self.strides
        ]

    def build(self, input_shape):
        self.pool.build(self._padded_shape(input_shape))

    def _padded_shape(self, input_shape):
        h, w = spatial(input_shape, self.data_format)
        (t, b), (l, r) = self._pads()
        h, w = None if h is None else h + t + b, None if w is None else w + l + r
        return tuple(layout(input_shape[0], h, w, input_shape[self.channel_axis], self.data_format))

    def call(self, inputs):
        (t, b), (l, r) = self._pads()
        if t or b or l or r:
            widths = layout([0, 0], [t, b], [l, r], [0, 0], self.data_format)
            inputs = ops.pad(inputs, widths, constant_values=float("-inf"))
        return self.pool(inputs)

    def compute_output_shape(self, input_shape):
        return tuple(self.pool.compute_output_shape(self._padded_shape(input_shape)))
