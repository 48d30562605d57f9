"""Shared helpers for the block layers: registration, argument normalization, factories.

Every block in keras_cnns is a registered ``keras.layers.Layer`` written one way:

* children are created in ``__init__`` (or in ``build`` when they depend on the input
  shape) and built in call order in ``build``, threading shapes with
  ``child.compute_output_shape``;
* ``compute_output_shape`` is implemented, so symbolic and eager shapes agree;
* ``get_config`` keys are the ``__init__`` parameters, each kept as a public attribute;
* children receive ``dtype=self.dtype_policy`` so mixed precision works;
* every block takes ``data_format`` (None: ``keras.config.image_data_format()`` when it
  is built, as Keras' own layers) and hands it to its children: the channel axis
  (``self.channel_axis``) of batch norm, concatenation and padding follows it.

Activation and normalization are given as strings and resolved by the small factories
below, so block configs stay plain JSON.
"""

import inspect

import keras

register = keras.saving.register_keras_serializable(package="keras_cnns")

NORMALIZATIONS = (None, "batch", "sync_batch")
DATA_FORMATS = ("channels_last", "channels_first")


def data_format_arg(data_format):
    """``data_format``, or ``keras.config.image_data_format()`` for None; else raises."""
    if data_format is None:
        return keras.config.image_data_format()
    return check_choice(data_format, "data_format", DATA_FORMATS)


def channel_axis(data_format):
    """The channel axis of a 4-D tensor: -1 (channels_last) or 1 (channels_first)."""
    return -1 if data_format_arg(data_format) == "channels_last" else 1


def spatial(shape, data_format):
    """``(height, width)`` of a 4-D shape in ``data_format``."""
    shape = tuple(shape)
    return shape[1:3] if data_format_arg(data_format) == "channels_last" else shape[2:4]


def layout(batch, height, width, channels, data_format):
    """The four per-axis entries of a 4-D tensor (its shape, or its ``ops.pad`` widths)
    in the axis order of ``data_format``."""
    if data_format_arg(data_format) == "channels_last":
        return [batch, height, width, channels]
    return [batch, channels, height, width]


def with_channels(shape, channels, data_format):
    """``shape`` (4-D) with its channel dimension replaced by ``channels``."""
    shape = list(shape)
    shape[channel_axis(data_format)] = channels
    return tuple(shape)


def pad_channels(before, after, data_format):
    """``ops.pad`` widths of a 4-D tensor that pad its channels only."""
    return layout([0, 0], [0, 0], [0, 0], [before, after], data_format)


def pair(value, name):
    """Returns ``value`` as a tuple of two positive ints (an int is repeated)."""
    if isinstance(value, int):
        value = (value, value)
    value = tuple(value)
    if len(value) != 2 or not all(isinstance(v, int) and v > 0 for v in value):
        raise ValueError(
            f"Expected `{name}` to be a positive int or a pair of positive ints. "
            f"Received: {name}={value}"
        )
    return value


def positive_int(value, name, allow_zero=False):
    """Returns ``value`` if it is an int >= 1 (>= 0 with ``allow_zero``), else raises."""
    smallest = 0 if allow_zero else 1
    if isinstance(value, bool) or not isinstance(value, int) or value < smallest:
        kind = "non-negative" if allow_zero else "positive"
        raise ValueError(f"Expected `{name}` to be a {kind} int. Received: {name}={value!r}")
    return value


def dropout_rate(value, name="dropout"):
    """Returns ``value`` as a float if it is in [0, 1), else raises."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
        raise ValueError(f"Expected `{name}` to be in [0, 1). Received: {name}={value!r}")
    return float(value)


#: TF-slim's floor on a multiplied width (``min_depth`` of its Inception networks).
MIN_DEPTH = 16


def scaled_width(filters, multiplier, min_depth=MIN_DEPTH):
    """``filters`` times a width multiplier, as TF-slim's Inception ``depth_multiplier``:
    ``max(int(filters * multiplier), min_depth)``; 0 (a missing branch) stays 0 and a
    multiplier of 1 leaves every width as it is.

    >>> scaled_width(192, 0.5), scaled_width(32, 0.25), scaled_width(0, 0.5), scaled_width(24, 1.0)
    (96, 16, 0, 24)
    """
    if multiplier == 1 or filters == 0:
        return filters
    return max(int(filters * multiplier), min_depth)


def width_multiplier(value, name="width_multiplier"):
    """Returns ``value`` as a float if it is a positive number, else raises."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValueError(f"Expected `{name}` to be a positive number. Received: {name}={value!r}")
    return float(value)


def padding_arg(padding):
    """Normalizes a padding argument.

    Returns "same", "valid", or explicit zero padding ``((top, bottom), (left, right))``
    from an int (all sides), a pair ``(pad_h, pad_w)`` (symmetric) or the full form.
    """
    if padding in ("same", "valid"):
        return padding
    if isinstance(padding, int) and padding >= 0:
        padding = (padding, padding)
    if isinstance(padding, (list, tuple)) and len(padding) == 2:
        if all(isinstance(p, int) and p >= 0 for p in padding):
            return ((padding[0], padding[0]), (padding[1], padding[1]))
        if all(
            isinstance(p, (list, tuple)) and len(p) == 2 and all(isinstance(q, int) and q >= 0 for q in p)
            for p in padding
        ):
            return tuple(tuple(p) for p in padding)
    raise ValueError(
        "Expected `padding` to be 'same', 'valid', a non-negative int, a pair of them "
        "(symmetric zero padding) or ((top, bottom), (left, right)). "
        f"Received: padding={padding!r}"
    )


def check_choice(value, name, allowed):
    if value not in allowed:
        raise ValueError(
            f"Expected `{name}` to be one of {list(allowed)}. Received: {name}={value!r}"
        )
    return value


def make_norm(norm, epsilon, momentum, scale, dtype, name, data_format=None):
    """Builds the normalization layer named by ``norm`` (None, "batch", "sync_batch"):
    ``FusedBatchNormalization`` (Keras' batch norm, on TensorFlow's fused kernel), over
    the channel axis of ``data_format``."""
    from keras_cnns.layers.normalization import FusedBatchNormalization

    check_choice(norm, "norm", NORMALIZATIONS)
    if norm is None:
        return None
    return FusedBatchNormalization(
        axis=channel_axis(data_format),
        epsilon=epsilon,
        momentum=momentum,
        scale=scale,
        synchronized=norm == "sync_batch",
        dtype=dtype,
        name=name,
    )


def make_activation(activation, dtype, name):
    """Builds an Activation layer, or returns None for ``activation=None``."""
    if activation is None:
        return None
    keras.activations.get(activation)  # raises early on an unknown name
    return keras.layers.Activation(activation, dtype=dtype, name=name)


def build_chain(layers, input_shape):
    """Builds ``layers`` in call order, returning the final output shape."""
    shape = tuple(input_shape)
    for layer in layers:
        if layer is None:
            continue
        if not layer.built:
            layer.build(shape)
        shape = tuple(layer.compute_output_shape(shape))
    return shape


def call_chain(layers, x):
    """Calls ``layers`` in order (Keras passes ``training`` on to them by itself)."""
    for layer in layers:
        if layer is not None:
            x = layer(x)
    return x


def output_chain(layers, input_shape):
    """The output shape of ``layers`` applied in order to ``input_shape``."""
    shape = tuple(input_shape)
    for layer in layers:
        if layer is not None:
            shape = tuple(layer.compute_output_shape(shape))
    return shape


class Block(keras.layers.Layer):
    """Base of every keras_cnns layer: ``data_format``, and ``get_config`` from the
    ``__init__`` signature.

    Each ``__init__`` parameter (besides ``**kwargs``) is kept as a same-named public
    attribute, so the config is exactly the constructor's arguments, plus the resolved
    ``data_format`` (``"channels_last"`` or ``"channels_first"``; None takes
    ``keras.config.image_data_format()``). Configs saved without it (files of
    keras_cnns before 2026-12) load as channels_last, the only format they had.
    """

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = data_format_arg(data_format)

    @property
    def channel_axis(self):
        """-1 for channels_last, 1 for channels_first."""
        return channel_axis(self.data_format)

    def get_config(self):
        config = super().get_config()
        for name, parameter in inspect.signature(type(self).__init__).parameters.items():
            if name != "self" and parameter.kind is not parameter.VAR_KEYWORD:
                config[name] = getattr(self, name)
        config["data_format"] = self.data_format
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config.setdefault("data_format", "channels_last")  # saved before blocks had one
        return super().from_config(config)


class ChainBlock(Block):
    """A block whose children run one after the other, listed by ``_chain()``.

    ``None`` entries (an optional child that is absent) are skipped. Subclasses create
    the children in ``__init__`` and return them in call order from ``_chain``.
    """

    def _chain(self):
        raise NotImplementedError

    def build(self, input_shape):
        build_chain(self._chain(), input_shape)

    def call(self, inputs):
        return call_chain(self._chain(), inputs)

    def compute_output_shape(self, input_shape):
        return output_chain(self._chain(), input_shape)


class Parallel:
    """Branches applied to one input, their outputs concatenated on channels.

    Not a layer: it groups layers that are attributes of the block owning them (so their
    weights are saved under that block), and it has ``build``, ``built``, ``__call__``
    and ``compute_output_shape``, so ``build_chain`` / ``call_chain`` / ``output_chain``
    thread shapes through it. A branch is a list of layers, ``None`` entries and nested
    ``Parallel`` groups (Inception v3's 1x3 / 3x1 split).
    """

    def __init__(self, *branches, axis=-1):
        self.branches = branches
        self.axis = axis

    @property
    def built(self):
        return all(item is None or item.built for branch in self.branches for item in branch)

    def build(self, input_shape):
        for branch in self.branches:
            build_chain(branch, input_shape)

    def __call__(self, inputs):
        from keras import ops

        return ops.concatenate([call_chain(branch, inputs) for branch in self.branches], axis=self.axis)

    def compute_output_shape(self, input_shape):
        shapes = [list(output_chain(branch, input_shape)) for branch in self.branches]
        channels = [shape[self.axis] for shape in shapes]
        shapes[0][self.axis] = None if None in channels else sum(channels)
        return tuple(shapes[0])


class BranchBlock(Block):
    """A block of parallel branches concatenated on channels (the Inception modules).

    Subclasses create their children in ``__init__`` and return the branches, in output
    order, from ``_branches()``: each a list of layers applied in sequence.
    """

    def _branches(self):
        raise NotImplementedError

    def _parallel(self):
        return Parallel(*self._branches(), axis=self.channel_axis)

    def build(self, input_shape):
        self._parallel().build(input_shape)

    def call(self, inputs):
        return self._parallel()(inputs)

    def compute_output_shape(self, input_shape):
        return self._parallel().compute_output_shape(input_shape)
