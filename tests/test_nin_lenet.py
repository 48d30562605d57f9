"""Network in Network and LeNet-5: what the registry-driven tests do not check."""

import keras
import numpy as np
import pytest

import keras_cnns
from keras_cnns import layers as blocks
from tests.reference import nin as ref


def _count(layer):
    return sum(int(np.prod(w.shape)) for w in layer.trainable_weights)


def _all_layers(model):
    return [layer for top in model.layers for layer in top._flatten_layers(include_self=True)]


@pytest.fixture(scope="module")
def nin_224():
    keras.utils.set_random_seed(0)
    return keras_cnns.nin(include_top=False, input_shape=(224, 224, 3))


# --- Network in Network ---------------------------------------------------------------


def test_nin_sizes_follow_caffe_ceil_mode_pooling(nin_224):
    sizes = [nin_224.get_layer(name).output.shape[1] for name in ("mlpconv1", "pool1", "pool2", "pool3")]
    # Caffe: conv1 floor((224 - 11) / 4) + 1 = 54; pools ceil((n - 3) / 2) + 1. Floor-mode
    # pooling would give 26, 12, 5.
    assert sizes == [54, 27, 13, 6]
    assert nin_224.output_shape == (None, 6, 6, 1024)  # cccp7-1024, what pool4's 6x6 window covers


def test_nin_per_layer_parameters_match_the_caffe_model():
    model = keras_cnns.nin(input_shape=(39, 39, 3))  # parameters do not depend on the size
    for name, expected in ref.NIN_LAYERS.items():
        layer = model.get_layer(name)
        convs = [layer] if name == "cccp8" else [layer.conv, *layer.cccp]
        assert tuple(_count(conv) for conv in convs) == expected, name
    assert sum(map(sum, ref.NIN_LAYERS.values())) == ref.PARAMS["nin"]


def test_nin_has_no_fully_connected_layer():
    model = keras_cnns.nin(input_shape=(39, 39, 3), num_classes=10)
    everything = _all_layers(model)
    assert not any(isinstance(layer, keras.layers.Dense) for layer in everything)
    convs = [layer for layer in everything if isinstance(layer, keras.layers.Conv2D)]
    assert len(convs) == 12  # conv1-4 and cccp1-8: every weight is a convolution's
    assert sum(layer.count_params() for layer in convs) == model.count_params()
    assert model.get_layer("cccp8").conv.kernel.shape == (1, 1, 1024, 10)


def test_nin_head_is_relu_then_global_average():
    model = keras_cnns.nin(input_shape=(71, 71, 3), num_classes=5, classifier_activation=None)
    x = np.random.default_rng(0).normal(size=(2, 71, 71, 3)).astype("float32")
    logits = keras.ops.convert_to_numpy(model(x, training=False))
    cccp8 = keras.Model(model.input, model.get_layer("cccp8").output)
    maps = keras.ops.convert_to_numpy(cccp8(x, training=False))
    assert maps.shape[1:] == (2, 2, 5) and (maps >= 0).all()  # Caffe's relu12 before pool4
    np.testing.assert_allclose(logits, maps.mean(axis=(1, 2)), rtol=1e-5, atol=1e-7)


def test_nin_dropout_follows_the_third_pooling(nin_224):
    drop = nin_224.get_layer("drop3")
    assert isinstance(drop, keras.layers.Dropout) and drop.rate == 0.5
    assert drop.input is nin_224.get_layer("pool3").output
    assert nin_224.get_layer("mlpconv4").input is drop.output
    assert all(isinstance(nin_224.get_layer(f"pool{i}"), blocks.PaddedMaxPool2D) for i in (1, 2, 3))
    assert all(nin_224.get_layer(f"pool{i}").ceil_mode for i in (1, 2, 3))


def test_nin_rejects_bad_arguments():
    with pytest.raises(ValueError, match=r"Received: dropout=1.0"):
        keras_cnns.nin(dropout=1.0)
    with pytest.raises(ValueError, match=r"at least 39x39.*Received: input_shape=\(38, 38, 3\)"):
        keras_cnns.nin(include_top=False, input_shape=(38, 38, 3))


# --- MLPConvBlock -----------------------------------------------------------------------


def test_mlpconv_block_is_a_convolution_then_per_pixel_perceptron():
    layer = blocks.MLPConvBlock((4, 3, 2), 3, strides=2, padding=1)
    x = np.random.default_rng(1).normal(size=(1, 7, 7, 2)).astype("float32")
    y = keras.ops.convert_to_numpy(layer(x))
    first = [keras.ops.convert_to_numpy(w) for w in layer.conv.conv.weights]
    # The k x k convolution, computed by hand with PyTorch/Caffe symmetric padding 1.
    padded = np.pad(x[0], ((1, 1), (1, 1), (0, 0)))
    h = np.empty((4, 4, 4), "float32")
    for r in range(4):
        for c in range(4):
            h[r, c] = np.einsum("ijk,ijkl->l", padded[2 * r : 2 * r + 3, 2 * c : 2 * c + 3], first[0]) + first[1]
    h = np.maximum(h, 0)
    for cccp in layer.cccp:  # each 1x1 convolution is a dense layer on every pixel
        kernel, bias = (keras.ops.convert_to_numpy(w) for w in cccp.conv.weights)
        h = np.maximum(h @ kernel[0, 0] + bias, 0)
    np.testing.assert_allclose(y[0], h, rtol=1e-4, atol=1e-5)


def test_mlpconv_block_last_activation():
    x = np.random.default_rng(2).normal(size=(4, 5, 5, 3)).astype("float32")
    with_relu = keras.ops.convert_to_numpy(blocks.MLPConvBlock(6, 3)(x))
    linear = keras.ops.convert_to_numpy(blocks.MLPConvBlock(6, 3, last_activation=False)(x))
    assert with_relu.min() >= 0 and linear.min() < 0
    assert blocks.MLPConvBlock(6, 3).get_config()["filters"] == 6  # an int stays an int


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(filters=0, kernel_size=3), r"Received: filters=0"),
        (dict(filters=(8, -1), kernel_size=3), r"Received: filters=\(8, -1\)"),
        (dict(filters=(), kernel_size=3), r"Received: filters=\(\)"),
        (dict(filters=8, kernel_size=0), r"Received: kernel_size=\(0, 0\)"),
        (dict(filters=8, kernel_size=3, padding="full"), r"Received: padding='full'"),
        (dict(filters=8, kernel_size=3, last_activation="yes"), r"Received: last_activation='yes'"),
        (dict(filters=8, kernel_size=3, activation="nope"), r"nope"),
    ],
)
def test_mlpconv_block_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        blocks.MLPConvBlock(**kwargs)


# --- LeNet-5 ----------------------------------------------------------------------------


def test_lenet5_defaults_are_32x32_grayscale_and_ten_digits():
    model = keras_cnns.lenet5()
    assert model.input_shape == (None, 32, 32, 1)
    assert model.output_shape == (None, 10)
    assert model.count_params() == ref.PARAMS["lenet5"]
    assert keras_cnns.model_info("lenet5").preprocessing.mean == (pytest.approx(33.3285),)


def test_lenet5_classic_shapes_and_parameters():
    model = keras_cnns.lenet5()
    sizes = [model.get_layer(name).output.shape[1:] for name in ("c1", "s2", "c3", "s4")]
    assert sizes == [(28, 28, 6), (14, 14, 6), (10, 10, 16), (5, 5, 16)]
    head, predictions = model.get_layer("head"), model.get_layer("predictions")
    widths = [dense.kernel.shape for dense in (*head.hidden, predictions)]
    assert widths == [(400, 120), (120, 84), (84, 10)]  # C5, F6, output
    counts = {name: _count(model.get_layer(name)) for name in ("c1", "c3")}
    counts |= {dense.name: _count(dense) for dense in (*head.hidden, predictions)}
    assert counts == ref.LENET5_LAYERS


def test_lenet5_pooling_is_weightless_averaging_and_activation_tanh():
    model = keras_cnns.lenet5()
    assert not model.get_layer("s2").weights and not model.get_layer("s4").weights
    x = np.random.default_rng(3).normal(size=(1, 32, 32, 1)).astype("float32") * 5
    c1, s2 = keras.Model(model.input, [model.get_layer("c1").output, model.get_layer("s2").output])(x)
    c1, s2 = keras.ops.convert_to_numpy(c1), keras.ops.convert_to_numpy(s2)
    pre = keras.ops.convert_to_numpy(model.get_layer("c1").conv(x))  # C1 before its activation
    np.testing.assert_allclose(c1, np.tanh(pre), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(s2[0], c1[0].reshape(14, 2, 14, 2, 6).mean(axis=(1, 3)), rtol=1e-5, atol=1e-6)
    assert model.get_layer("head").activation == "tanh"


def test_lenet5_minimum_size_and_other_inputs():
    model = keras_cnns.lenet5(include_top=False, input_shape=(16, 16, 1))
    assert model.output_shape == (None, 1, 1, 16)  # 16 -> 12 -> 6 -> 2 -> 1
    with pytest.raises(ValueError, match=r"at least 16x16.*Received: input_shape=\(15, 15, 1\)"):
        keras_cnns.lenet5(input_shape=(15, 15, 1))
    rgb = keras_cnns.lenet5(input_shape=(32, 32, 3), num_classes=26, activation="relu")
    assert rgb.output_shape == (None, 26)
    # C1 sees two more maps (5*5*2*6), the output has 16 more units ((84 + 1) * 16).
    assert _count(rgb) == ref.PARAMS["lenet5"] + 300 + 1_360
    assert rgb.get_layer("c1").activation == "relu" and rgb.get_layer("head").activation == "relu"
