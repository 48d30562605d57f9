"""MobileNet v1 and v2: widths, stage sizes, residuals, and equality with keras.applications."""

import keras
import numpy as np
import pytest

import keras_cnns
from keras_cnns import layers as blocks
from tests.reference import mobilenet as ref

KERAS = {"mobilenet": keras.applications.MobileNet, "mobilenet_v2": keras.applications.MobileNetV2}


def _trainable(model):
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


def _same_at_published_precision(macs, published):
    decimals = len(published.partition(".")[2])
    return f"{macs:.{decimals}f}" == published


@pytest.mark.parametrize(
    "name, alpha", [(name, alpha) for name, table in ref.BY_ALPHA.items() for alpha in table]
)
def test_published_widths_match_keras_applications(name, alpha):
    trainable, total, macs = ref.BY_ALPHA[name][alpha]
    model = keras_cnns.create_model(name, alpha=alpha)
    theirs = KERAS[name](weights=None, alpha=alpha)
    assert _trainable(model) == _trainable(theirs) == trainable
    assert model.count_params() == theirs.count_params() == total
    assert _same_at_published_precision(keras_cnns.count_macs(model) / 1e9, macs)


@pytest.mark.parametrize(
    "name, alpha", [(name, alpha) for name, alphas in ref.KERAS_ONLY_ALPHAS.items() for alpha in alphas]
)
def test_other_widths_match_keras_applications(name, alpha):
    model = keras_cnns.create_model(name, alpha=alpha, include_top=False, input_shape=(32, 32, 3))
    theirs = KERAS[name](weights=None, alpha=alpha, include_top=False, input_shape=(32, 32, 3))
    assert model.count_params() == theirs.count_params()
    assert _trainable(model) == _trainable(theirs)


@pytest.mark.parametrize("name", sorted(ref.BY_ALPHA))
def test_stages_end_at_112_56_28_14_7(name):
    model = keras_cnns.create_model(name, include_top=False, input_shape=(224, 224, 3))
    sizes = [model.get_layer(layer).output.shape[1:3] for layer in keras_cnns.model_info(name).feature_layers]
    assert sizes == [(s, s) for s in (112, 56, 28, 14, 7)]


def _zero_projection(block, shape):
    block.build(shape)
    bn = block.project.bn
    bn.gamma.assign(np.zeros(bn.gamma.shape, "float32"))
    bn.beta.assign(np.zeros(bn.beta.shape, "float32"))
    return block


@pytest.mark.parametrize(
    "filters, strides, shape, adds",
    [
        (8, 1, (2, 5, 5, 8), True),  # stride 1, same channels: identity shortcut
        (8, 1, (2, 5, 5, 4), False),  # channels change
        (8, 2, (2, 6, 6, 8), False),  # stride 2
    ],
)
def test_inverted_residual_adds_its_input_only_when_shapes_match(filters, strides, shape, adds):
    block = _zero_projection(blocks.InvertedResidualBlock(filters, strides=strides), (None, *shape[1:]))
    x = np.random.default_rng(0).normal(size=shape).astype("float32")
    out = keras.ops.convert_to_numpy(block(x, training=False))
    # With the projection's batch norm zeroed the branch is exactly 0: what remains is the shortcut.
    np.testing.assert_array_equal(out, x if adds else np.zeros_like(out))


def test_inverted_residual_without_expansion_has_no_expand_convolution():
    block = blocks.InvertedResidualBlock(16, expansion=1)
    block.build((None, 8, 8, 32))
    assert block.expand is None
    assert tuple(block.depthwise.kernel.shape) == (3, 3, 32, 1)
    expanded = blocks.InvertedResidualBlock(16, expansion=6)
    expanded.build((None, 8, 8, 32))
    assert tuple(expanded.expand.conv.kernel.shape) == (1, 1, 32, 192)


@pytest.mark.parametrize(
    "size, expected",
    [
        (4, [[9, 6], [6, 4]]),  # windows start at 0 and 2; only the last ones reach the padding
        (5, [[9, 9], [9, 9]]),  # padded to 6: no window reaches it ("same" would give 3x3)
    ],
)
def test_depthwise_separable_strided_padding_is_bottom_right(size, expected):
    block = blocks.DepthwiseSeparableBlock(1, strides=2, norm=None, activation=None)
    block.build((None, size, size, 1))
    block.depthwise.kernel.assign(np.ones((3, 3, 1, 1), "float32"))
    block.pointwise.conv.kernel.assign(np.ones((1, 1, 1, 1), "float32"))
    out = keras.ops.convert_to_numpy(block(np.ones((1, size, size, 1), "float32")))[0, ..., 0]
    np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize("builder", [keras_cnns.mobilenet, keras_cnns.mobilenet_v2])
@pytest.mark.parametrize("alpha", [0, -0.5, 0.0])
def test_non_positive_alpha_raises(builder, alpha):
    with pytest.raises(ValueError, match=rf"`alpha`.*Received: alpha={alpha}"):
        builder(alpha=alpha)


def test_alpha_too_small_for_a_channel_raises():
    with pytest.raises(ValueError, match=r"at least 0.03125.*Received: alpha=0.03"):
        keras_cnns.mobilenet(alpha=0.03)
    # MobileNetV2 rounds every width up to at least 8 channels.
    model = keras_cnns.mobilenet_v2(alpha=0.03, include_top=False, input_shape=(32, 32, 3))
    assert model.get_layer("conv1").conv.filters == 8


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: blocks.DepthwiseSeparableBlock(8, strides=3), r"Received: strides=3"),
        (lambda: blocks.DepthwiseSeparableBlock(8, depth_multiplier=0), r"Received: depth_multiplier=0"),
        (lambda: blocks.InvertedResidualBlock(0), r"Received: filters=0"),
        (lambda: blocks.InvertedResidualBlock(8, expansion=0), r"Received: expansion=0"),
        (lambda: blocks.InvertedResidualBlock(8, norm="layer"), r"Received: norm='layer'"),
    ],
)
def test_bad_block_arguments(make, message):
    with pytest.raises(ValueError, match=message):
        make()
