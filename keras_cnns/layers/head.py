"""The classifier head: pooling or flattening, optional hidden layers, the predictions;
and the output activation of heads whose last layer holds no weights."""

import keras

from keras_cnns.layers._base import (
    ChainBlock,
    call_chain,
    check_choice,
    dropout_rate,
    make_activation,
    pair,
    positive_int,
    register,
)

HEAD_POOLINGS = ("avg", "max", "flatten")

__all__ = ["ClassifierHead", "OutputActivation"]


@register
class ClassifierHead(ChainBlock):
    """Pools (or flattens) a feature map and classifies it.

    ``pooling="flatten"`` with ``hidden_units=(4096, 4096)`` and ``dropout=0.5`` is the
    AlexNet / VGG head (dropout on the outputs of the hidden layers, as in the papers);
    with ``flatten_size`` it first average-pools the map adaptively to that size, as
    torchvision's AlexNet (6x6) and VGG (7x7) do, so the head takes any input size;
    ``pooling="avg"`` with no hidden layers is the ResNet head (a dropout, if any, then
    acts on the pooled features). The final activation is computed in float32, so the
    outputs stay float32 under mixed precision.

    With ``num_classes=None`` the head stops before the predictions: it returns the
    pooled (and hidden) features, and the model adds its own ``predictions`` layer, as
    keras.applications does (``keras_cnns.models._builder.build_model``). The auxiliary
    classifiers of GoogLeNet and Inception v3 keep theirs inside.

    Args:
        num_classes: int, number of classes, or None for no predictions.
        pooling: ``"avg"``, ``"max"`` or ``"flatten"``. Defaults to ``"avg"``.
        flatten_size: None, or with ``pooling="flatten"`` a pair: adaptive average
            pooling to that size before flattening (torchvision's ``AdaptiveAvgPool2d``,
            the identity where the map already has that size). Defaults to None.
        hidden_units: tuple of ints, widths of hidden dense layers. Defaults to ().
        dropout: float in [0, 1). Defaults to 0.
        activation: activation of the hidden layers. Defaults to ``"relu"``.
        classifier_activation: activation of the predictions, or None for logits.
            Defaults to ``"softmax"``.

    Examples:

    >>> ClassifierHead(10).compute_output_shape((None, 7, 7, 512))
    (None, 10)
    """

    def __init__(
        self,
        num_classes,
        pooling="avg",
        flatten_size=None,
        hidden_units=(),
        dropout=0.0,
        activation="relu",
        classifier_activation="softmax",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.num_classes = None if num_classes is None else positive_int(num_classes, "num_classes")
        self.pooling = check_choice(pooling, "pooling", HEAD_POOLINGS)
        if flatten_size is not None:
            if pooling != "flatten":
                raise ValueError(
                    f"`flatten_size` sizes the map that pooling='flatten' flattens. Received: "
                    f"flatten_size={flatten_size!r} with pooling={pooling!r}"
                )
            flatten_size = tuple(pair(flatten_size, "flatten_size"))
        self.hidden_units = tuple(int(u) for u in hidden_units)
        self.dropout = dropout_rate(dropout)
        self.activation = activation
        self.classifier_activation = classifier_activation
        self.flatten_size = flatten_size
        dtype = self.dtype_policy
        self.adaptive_pool = (
            None
            if flatten_size is None
            else keras.layers.AdaptiveAveragePooling2D(
                flatten_size, data_format=self.data_format, dtype=dtype, name="adaptive_pool"
            )
        )
        self.pool = {
            "avg": keras.layers.GlobalAveragePooling2D,
            "max": keras.layers.GlobalMaxPooling2D,
            "flatten": keras.layers.Flatten,
        }[pooling](data_format=self.data_format, dtype=dtype, name="pool")
        self.hidden = [
            keras.layers.Dense(units, activation=activation, dtype=dtype, name=f"fc{i + 1}")
            for i, units in enumerate(self.hidden_units)
        ]
        count = max(len(self.hidden), 1) if dropout else 0
        self.dropouts = [
            keras.layers.Dropout(dropout, dtype=dtype, name=f"dropout{i + 1}") for i in range(count)
        ]
        self.predictions = self.output_activation = None
        if num_classes is not None:
            self.predictions = keras.layers.Dense(num_classes, dtype=dtype, name="predictions")
            self.output_activation = make_activation(classifier_activation, "float32", "output")
            if self.output_activation is None:
                self.output_activation = keras.layers.Activation("linear", dtype="float32", name="output")

    def _chain(self):
        chain = [self.adaptive_pool, self.pool]
        if self.hidden:
            for i, dense in enumerate(self.hidden):
                chain += [dense, self.dropouts[i] if self.dropouts else None]
        else:
            chain.append(self.dropouts[0] if self.dropouts else None)
        return chain + [self.predictions, self.output_activation]

    def logits(self, inputs):
        """The predictions before the output activation (float32): the class scores that
        Grad-CAM differentiates (``keras_cnns.visualize.gradcam``)."""
        return keras.ops.cast(call_chain(self._chain()[:-1], inputs), "float32")

    def compute_output_spec(self, inputs):
        # The outputs are float32 even under mixed precision; say so to symbolic tensors too.
        dtype = self.compute_dtype if self.predictions is None else "float32"
        return keras.KerasTensor(self.compute_output_shape(inputs.shape), dtype=dtype)

    def build(self, input_shape):
        if self.pooling == "flatten" and None in tuple(input_shape)[1:]:
            raise ValueError(
                "A flattening head needs a static feature-map shape. "
                f"Received: input_shape={tuple(input_shape)}"
            )
        super().build(input_shape)


@register
class OutputActivation(keras.layers.Activation):
    """The output activation of a head that ends without weights (NIN's global average
    pooling of its class maps), named ``predictions`` as keras.applications names its
    last layer: ``activation`` is the callable Keras activation, and setting it to None
    makes the layer return its inputs (the logits), as on a Dense. Computed in float32.

    Examples:

    >>> import numpy as np
    >>> layer = OutputActivation("softmax", name="predictions")
    >>> layer.activation.__name__, layer(np.zeros((1, 4), "float32")).shape
    ('softmax', TensorShape([1, 4]))
    """

    def __init__(self, activation=None, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(activation if activation is not None else "linear", **kwargs)

    def call(self, inputs):
        return inputs if self.activation is None else self.activation(inputs)
