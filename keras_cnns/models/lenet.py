"""LeNet-5 (LeCun, Bottou, Bengio and Haffner, 1998), in its modern form.

Two 5x5 convolutions, each followed by 2x2 average pooling, then fully connected layers
of 120 and 84 units and the classifier, with tanh activations, on 32x32 grayscale
digits. The layers keep the paper's names: ``c1``, ``s2``, ``c3``, ``s4``; the head
(``head``: flatten, ``fc1`` = C5, ``fc2`` = F6, ``predictions``) is dropped by
``include_top=False``, so the features are S4's 16 maps.

The paper feeds MNIST's 28x28 digits padded to 32x32 and scales pixels so that the mean
is about 0 and the variance about 1; the registered preprocessing uses the MNIST
training-set mean and standard deviation (0.1307 and 0.3081 of the pixel range).
"""

import keras

from keras_cnns.layers import ConvBNAct
from keras_cnns.models._builder import build_model
from keras_cnns.models._geometry import min_input_size
from keras_cnns.models.registry import register_model
from keras_cnns.models.spec import Choice, Recipe, Space
from keras_cnns.weights import Preprocessing

#: MNIST training-set mean and standard deviation, in 0-255 pixel units.
MNIST = Preprocessing(mean=(0.1307 * 255,), std=(0.3081 * 255,), crop_pct=1.0)

DEFAULT_SIZE = 32

__all__ = ["LeNet", "lenet5"]


def min_size(kernel_size=5, convs=2):
    """The smallest input for which the last pooled map is not empty."""
    return min_input_size([(kernel_size, 1, 0, False), (2, 2, 0, False)] * convs)


def LeNet(
    *,
    filters=(6, 16),
    kernel_size=5,
    fc_units=(120, 84),
    activation="tanh",
    default_size=DEFAULT_SIZE,
    num_classes=10,
    name="lenet5",
    **kwargs,
):
    """A LeNet: valid 5x5 convolutions, each followed by 2x2 average pooling, then dense layers.

    LeCun, Bottou, Bengio, Haffner. Gradient-Based Learning Applied to Document
    Recognition. Proc. IEEE 1998. Convolution ``i`` is named ``c{2i - 1}`` and its
    pooling ``s{2i}``, as in the paper's Fig. 2. Pooling has no weights; every
    convolution sees all the maps of the layer below.

    Args:
        filters: widths of the convolutions. Defaults to (6, 16).
        kernel_size: int, the convolution window. Defaults to 5.
        fc_units: widths of the hidden dense layers (C5, F6). Defaults to (120, 84).
        activation: activation of every hidden layer. Defaults to ``"tanh"``.
        default_size: default input size. Defaults to 32.
        num_classes: int, number of classes. Defaults to 10 (the digits).
        name: model name. Defaults to ``"lenet5"``.
        **kwargs: the other arguments every keras_cnns builder takes (include_top,
            weights, input_tensor, input_shape, pooling, classifier_activation),
            documented in ``keras_cnns.models._builder.build_model``. Without
            ``input_shape`` the input is ``(default_size, default_size, 1)``.

    The minimum input size is the smallest for which the last pooled map is not empty.

    Examples:

    >>> model = LeNet()
    >>> model.input_shape, model.get_layer("s4").output.shape, model.output_shape
    ((None, 32, 32, 1), (None, 5, 5, 16), (None, 10))
    """
    filters = tuple(filters)
    if not filters or not all(isinstance(f, int) and f > 0 for f in filters):
        raise ValueError(f"Expected `filters` to be a sequence of positive ints. Received: filters={filters!r}")
    if not isinstance(kernel_size, int) or kernel_size < 1:
        raise ValueError(f"Expected `kernel_size` to be a positive int. Received: kernel_size={kernel_size!r}")
    keras.activations.get(activation)  # raises early on an unknown name

    def features(x):
        for i, width in enumerate(filters):
            x = ConvBNAct(
                width,
                kernel_size,
                padding="valid",
                use_bias=True,
                norm=None,
                activation=activation,
                kernel_initializer="glorot_uniform",
                name=f"c{2 * i + 1}",
            )(x)
            x = keras.layers.AveragePooling2D(2, name=f"s{2 * i + 2}")(x)
        return x

    return build_model(
        features,
        name=name,
        default_size=default_size,
        min_size=min_size(kernel_size, len(filters)),
        head=dict(pooling="flatten", hidden_units=tuple(fc_units), activation=activation),
        default_channels=1,
        num_classes=num_classes,
        **kwargs,
    )


#: LeCun et al. 1998: 20 passes, a global learning rate per pass.
RECIPE = Recipe(
    optimizer="sgd", lr=5e-4, momentum=0.0, batch_size=1, epochs=20,
    schedule="step", schedule_args=dict(milestones=(2, 5, 8, 12), values=(5e-4, 2e-4, 1e-4, 5e-5, 1e-5)),
    augment="none", source="LeCun et al. 1998 (20 passes over the data; the global learning rate of each pass)",
    notes="The paper's optimizer is stochastic diagonal Levenberg-Marquardt; plain SGD here.",
)
SPACE = Space(
    "lenet",
    (
        Choice("activation", ("tanh", "relu"), "activation (1998: tanh)"),
        Choice("width", (1, 2, 4), "multiplier of the 6 and 16 feature maps"),
    ),
    lambda info, v: (info.name, dict(activation=v["activation"], filters=[6 * v["width"], 16 * v["width"]])),
    "LeNet activation and width",
)


@register_model(
    depth=5,
    channels=1,
    paper="LeCun, Bottou, Bengio, Haffner. Gradient-Based Learning Applied to Document Recognition. Proc. IEEE 1998",
    year=1998,
    url="https://doi.org/10.1109/5.726791",
    default_size=DEFAULT_SIZE,
    min_size=min_size(),
    params=61_706,
    macs=0.000417,
    preprocessing=MNIST,
    recipe=RECIPE,
    space=SPACE,
    family_builder=LeNet,
    deviations=(
        "The modern form, not the paper's exact network (60,000 parameters): C3 connects "
        "every S2 map to each of its 16 maps (2,416 parameters) where the paper's Table I "
        "connects 60 of the 96 pairs (1,516); S2 and S4 are plain 2x2 average pooling where "
        "the paper's sub-sampling layers have a trainable coefficient and bias per map (12 "
        "and 32 parameters) and a squashing function; the output layer is a dense softmax "
        "layer (850 parameters) where the paper has 84-to-10 Euclidean RBF units with fixed "
        "weights. C5 is a dense layer on the flattened 5x5x16 S4 maps, which equals the "
        "paper's 5x5 convolution at 32x32 (48,120 parameters either way). Activation tanh "
        "where the paper uses 1.7159 tanh(2a/3); Glorot-uniform initialization where the "
        "paper draws from U(-2.4/F_in, 2.4/F_in). Hence 61,706 trainable parameters. "
        "Defaults: 32x32x1 input, 10 classes."
    ),
    feature_layers=("c1", "s2", "c3", "s4"),
)
def lenet5(*, name="lenet5", **kwargs):
    """LeNet-5, modern form: 6@5x5, pool, 16@5x5, pool, dense 120-84-10, tanh."""
    return LeNet(name=name, **kwargs)
