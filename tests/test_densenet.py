"""DenseNet: Table 1 and 2 of Huang et al. (2016), and keras.applications' DenseNet."""

import keras
import numpy as np
import pytest

import keras_cnns
from keras_cnns import layers as blocks
from keras_cnns.models import DenseNet
from tests.reference import densenet as reference

VARIANTS = sorted(reference.PARAMS)
#: Table 1: the 6-12-64-48 configuration, counted like the others, has 265 layers.
DEPTHS = {"densenet121": 121, "densenet161": 161, "densenet169": 169, "densenet201": 201, "densenet264": 265,
          "densenet_bc_100": 100}
#: Stem channels (2k), growth rate k and blocks: Table 1; DenseNet-161 from the authors'
#: released models (k=48).
GEOMETRY = {
    "densenet121": (64, 32, (6, 12, 24, 16)),
    "densenet161": (96, 48, (6, 12, 36, 24)),
    "densenet169": (64, 32, (6, 12, 32, 32)),
    "densenet201": (64, 32, (6, 12, 48, 32)),
    "densenet264": (64, 32, (6, 12, 64, 48)),
    "densenet_bc_100": (24, 12, (16, 16, 16)),  # Table 2: L=100, k=12, three blocks
}


def _trainable(model):
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


def test_table_1_output_sizes():
    # The sizes do not depend on the block sizes or the growth rate (densenet121 is
    # checked at full size by the registry's SPATIAL test).
    model = DenseNet(block_sizes=(1, 1, 1, 1), growth_rate=4, include_top=False, input_shape=(224, 224, 3))
    sizes = {layer: model.get_layer(layer).output.shape[1] for layer in reference.SPATIAL["densenet121"]}
    assert sizes == reference.SPATIAL["densenet121"]  # stem 112 -> 56, blocks 56 / 28 / 14 / 7


@pytest.mark.parametrize("name", VARIANTS)
def test_stage_widths_final_channels_and_depth(name):
    model = keras_cnns.create_model(name, include_top=False, pooling="avg", input_shape=(32, 32, 3))
    assert model(np.ones((1, 32, 32, 3), "float32")).shape == (1, reference.FEATURES[name])
    # Each block adds k channels per layer to the 2k stem channels; transitions halve.
    channels, growth, block_sizes = GEOMETRY[name]
    expected = {}
    last = len(block_sizes) + 1
    for i, count in enumerate(block_sizes, start=2):
        channels += growth * count
        expected[f"conv{i}"] = channels
        if i < last:
            channels //= 2
            expected[f"pool{i}"] = channels
    assert {layer: model.get_layer(layer).output.shape[-1] for layer in expected} == expected
    assert expected[f"conv{last}"] == reference.FEATURES[name]
    # The depth in the name counts the convolutions and the classifier (Table 1).
    convolutions = [w for w in model.weights if w.path.endswith("kernel")]
    assert len(convolutions) + 1 == DEPTHS[name]


def test_parameter_counts_equal_keras_applications():
    # DenseNet121 is compared weight by weight in the next test.
    theirs = keras.applications.DenseNet169(weights=None)
    ours = keras_cnns.densenet169()
    assert _trainable(ours) == _trainable(theirs) == reference.PARAMS["densenet169"]
    assert ours.count_params() == theirs.count_params() == reference.TOTAL["densenet169"]


@pytest.mark.parametrize("num_layers, channels, growth_rate", [(1, 3, 5), (4, 16, 12), (6, 64, 32)])
def test_dense_block_adds_growth_rate_channels_per_layer(num_layers, channels, growth_rate):
    block = blocks.DenseBlock(num_layers, growth_rate=growth_rate)
    out = channels + num_layers * growth_rate
    assert block.compute_output_shape((None, 9, 9, channels)) == (None, 9, 9, out)
    x = np.random.default_rng(0).normal(size=(1, 5, 5, channels)).astype("float32")
    y = keras.ops.convert_to_numpy(block(x))
    assert y.shape == (1, 5, 5, out)
    np.testing.assert_array_equal(y[..., :channels], x)  # concatenation keeps the input as is


@pytest.mark.parametrize("bottleneck_width", [4, None])
def test_dense_layer_is_pre_activated(bottleneck_width):
    # BN (fresh statistics) and ReLU come first: a negative input gives zero new features.
    # Conv -> BN -> ReLU order would give non-zero ones.
    layer = blocks.DenseLayer(8, bottleneck_width=bottleneck_width)
    x = -np.random.default_rng(0).uniform(0.1, 1.0, (1, 4, 4, 6)).astype("float32")
    y = keras.ops.convert_to_numpy(layer(x, training=False))
    np.testing.assert_array_equal(y[..., :6], x)
    np.testing.assert_array_equal(y[..., 6:], 0.0)


def test_transition_compresses_and_halves():
    layer = blocks.TransitionBlock(0.5)
    assert layer.compute_output_shape((None, 7, 7, 1025)) == (None, 3, 3, 512)  # floor, as Keras' int()
    layer.build((None, 8, 8, 6))
    assert tuple(layer.conv.kernel.shape) == (1, 1, 6, 3)


@pytest.mark.parametrize("key", sorted(reference.CIFAR_PARAMS))
def test_cifar_networks_of_table_2(key):
    depth, growth_rate, bc = key
    count, published = reference.CIFAR_PARAMS[key]
    n = (depth - 4) // (6 if bc else 3)  # three blocks; a BC layer has two convolutions
    model = DenseNet(
        block_sizes=(n, n, n),
        growth_rate=growth_rate,
        bottleneck_width=4 if bc else None,
        compression=0.5 if bc else 1.0,
        initial_features=2 * growth_rate if bc else 16,
        stem="cifar",
        num_classes=10,
    )
    assert model.input_shape == (None, 32, 32, 3)
    assert model.get_layer("conv4").output.shape[1:3] == (8, 8)
    assert _trainable(model) == count
    assert f"{count / 1e6:.1f}" == published


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(block_sizes=()), r"Received: block_sizes=\(\)"),
        (dict(block_sizes=(6, 0)), r"Received: block_sizes=\(6, 0\)"),
        (dict(block_sizes=(6,), growth_rate=0), r"Received: growth_rate=0"),
        (dict(block_sizes=(6,), bottleneck_width=2.5), r"Received: bottleneck_width=2.5"),
        (dict(block_sizes=(6,), compression=0.0), r"Received: compression=0.0"),
        (dict(block_sizes=(6,), dropout=1.0), r"Received: dropout=1.0"),
        (dict(block_sizes=(6,), stem="deep"), r"Received: stem='deep'"),
        (dict(block_sizes=(6,), norm=None), r"Received: norm=None"),
    ],
)
def test_bad_builder_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        DenseNet(**kwargs)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: blocks.DenseLayer(0), r"Received: growth_rate=0"),
        (lambda: blocks.DenseLayer(8, bottleneck_width=0), r"Received: bottleneck_width=0"),
        (lambda: blocks.DenseBlock(0), r"Received: num_layers=0"),
        (lambda: blocks.TransitionBlock(1.5), r"Received: compression=1.5"),
        (lambda: blocks.TransitionBlock(0.1).build((None, 8, 8, 5)), r"Received: input_shape=\(None, 8, 8, 5\)"),
    ],
)
def test_bad_block_arguments(make, message):
    with pytest.raises(ValueError, match=message):
        make()
