"""Registry-driven model tests: every registered model gets each of them.

Tests that read only shapes and counts take the ``cheap_init`` fixture (zeros for the
He-normal draws, most of a large model's build time); those that compare outputs keep
the real initialization.
"""

import os

import keras
import numpy as np
import pytest

import keras_cnns
from tests import reference

MODELS = keras_cnns.list_models()
#: ResNet-1202 is ResNet-20's layers 200 times over (a minute to build): only its counts
#: are checked (at the default size), the rest on resnet20.
HUGE = {"resnet1202"}
SMALLER = [name for name in MODELS if name not in HUGE]


def _same_at_published_precision(macs, published):
    """Whether ``macs`` (in G) rounds to the published string, e.g. "3.858"."""
    decimals = len(published.partition(".")[2])
    return f"{macs:.{decimals}f}" == published


def _trainable(model):
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


def test_every_model_has_reference_numbers():
    assert sorted(reference.PARAMS) == sorted(MODELS)
    assert sorted(reference.MACS) == sorted(MODELS)
    assert sorted(reference.FEATURES) == sorted(MODELS)


@pytest.mark.parametrize("name", MODELS)
def test_parameters_multiply_adds_and_depth_at_default_size(name, cheap_init):
    info = keras_cnns.model_info(name)
    model = keras_cnns.create_model(name)
    channels = reference.CHANNELS.get(name, 3)
    assert info.channels == channels
    assert model.input_shape == (None, info.default_size, info.default_size, channels)
    assert model.output_shape == (None, reference.NUM_CLASSES.get(name, 1000))
    assert _trainable(model) == reference.PARAMS[name] == info.params
    assert model.count_params() == reference.TOTAL.get(name, reference.PARAMS[name])
    report = keras_cnns.model_report(model)  # python -m keras_cnns report's numbers
    assert report.trainable_params == reference.PARAMS[name]
    assert report.trainable_params + report.non_trainable_params == model.count_params()
    assert sum(row.params for row in report.rows) == model.count_params()
    assert sum(row.macs for row in report.rows) == report.macs
    assert _same_at_published_precision(report.macs / 1e9, reference.MACS[name]), report.macs
    assert info.macs == float(reference.MACS[name])
    assert abs(report.macs / 1e9 - info.macs) <= 0.01 * info.macs
    assert report.depth == info.depth == reference.DEPTH.get(name, info.depth)
    # The feature layers (the ends of the stages) exist and shrink the map in order.
    sizes = [model.get_layer(layer).output.shape[1] for layer in info.feature_layers]
    assert len(sizes) >= 3
    assert sizes == sorted(sizes, reverse=True)


@pytest.mark.parametrize("name", sorted(reference.resnet.MACS_V1_5))
def test_resnet_v1_5_multiply_adds_match_torchvision(name, cheap_init):
    model = keras_cnns.create_model(name, stride_in_3x3=True)
    assert _trainable(model) == reference.PARAMS[name]
    assert _same_at_published_precision(keras_cnns.count_macs(model) / 1e9, reference.resnet.MACS_V1_5[name])


@pytest.mark.parametrize("name", SMALLER)
def test_minimum_input_size(name, cheap_init):
    info = keras_cnns.model_info(name)
    assert info.min_size == reference.MIN_SIZE.get(name, info.min_size)
    size = info.min_size
    model = keras_cnns.create_model(name, include_top=False, input_shape=(size, size, 3))
    assert model.output_shape[1:3] == (1, 1)  # the last feature map shrinks to one pixel
    with pytest.raises(ValueError, match=rf"at least {size}x{size}.*Received: input_shape=\({size - 1}, {size - 1}, 3\)"):
        keras_cnns.create_model(name, input_shape=(size - 1, size - 1, 3))


#: Deeper variants repeat the blocks of a shallower one of their family (same classes,
#: same configs, more of them): saving and loading those, giving them other channel
#: counts or the max-pooling head (the avg one is checked) is the same check, only slower.
DEEPER = {"resnet101", "resnet152", "resnext101_32x4d", "resnext101_32x8d", "resnext101_64x4d", "densenet161",
          "densenet169", "densenet201", "densenet264", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn",
          "resnet32", "resnet44", "resnet56", "resnet110", "resnet1202", "plain32", "plain44", "plain56"}
#: Variants made of exactly the layer classes of a smaller one of their family, in other
#: numbers or settings (ResNet-34 is ResNet-18's blocks, ResNeXt-50 ResNet-50's grouped,
#: googlenet_bn GoogLeNet's modules with batch norm): the 4-channel input and the
#: max-pooling head, which the builders handle in one place, are checked on the others.
SAME_CLASSES = DEEPER | {"resnet34", "resnext50_32x4d", "vgg13", "vgg13_bn", "alexnet_owt", "zfnet", "googlenet_bn", "plain20"}


@pytest.mark.parametrize("name", SMALLER)
def test_forward_pass_at_small_input(name):
    size = keras_cnns.model_info(name).min_size
    model = keras_cnns.create_model(name, input_shape=(size, size, 3), num_classes=7)
    x = np.random.default_rng(0).uniform(0, 1, (2, size, size, 3)).astype("float32")
    y = keras.ops.convert_to_numpy(model(x, training=False))
    assert y.shape == (2, 7)
    assert np.isfinite(y).all()
    np.testing.assert_allclose(y.sum(axis=1), 1.0, rtol=1e-5)  # softmax by default


@pytest.mark.parametrize("name, pooling", [(name, "avg") for name in SMALLER] +
                         [(name, "max") for name in MODELS if name not in SAME_CLASSES])  # one head for all
def test_pooled_features(name, pooling, cheap_init):
    model = keras_cnns.create_model(name, include_top=False, pooling=pooling, input_shape=(None, None, 3))
    assert model.output_shape == (None, reference.FEATURES[name])
    size = keras_cnns.model_info(name).min_size
    assert model(np.zeros((1, size + 5, size + 9, 3), "float32")).shape == (1, reference.FEATURES[name])


@pytest.mark.parametrize("name", [name for name in MODELS if name not in DEEPER])
def test_save_and_load_under_safe_mode(name, tmp_path):
    size = keras_cnns.model_info(name).min_size
    model = keras_cnns.create_model(name, input_shape=(size, size, 3), num_classes=5)
    path = os.fspath(tmp_path / f"{name}.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)  # safe_mode=True by default
    x = np.random.default_rng(1).uniform(0, 1, (2, size, size, 3)).astype("float32")
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(loaded(x, training=False)),
        keras.ops.convert_to_numpy(model(x, training=False)),
        rtol=1e-5,
        atol=1e-6,
    )
    assert [layer.name for layer in loaded.layers] == [layer.name for layer in model.layers]


@pytest.mark.parametrize("name", sorted(reference.SPATIAL))
def test_spatial_sizes_of_the_papers_tables(name, cheap_init):
    model = keras_cnns.create_model(name)
    for layer, size in reference.SPATIAL[name].items():
        assert model.get_layer(layer).output.shape[1:3] == (size, size), layer


@pytest.mark.parametrize("name, channels", [(name, 1) for name in MODELS if name not in DEEPER] +
                         [(name, 4) for name in MODELS if name not in SAME_CLASSES])
def test_other_channel_counts(name, channels, cheap_init):
    size = keras_cnns.model_info(name).min_size
    model = keras_cnns.create_model(name, input_shape=(size, size, channels), num_classes=3)
    assert model(np.ones((1, size, size, channels), "float32")).shape == (1, 3)


def test_alexnet_towers_are_grouped_convolutions():
    model = keras_cnns.create_model("alexnet")
    kernels = {f"conv{i}": tuple(model.get_layer(f"conv{i}").conv.kernel.shape) for i in range(1, 6)}
    # Krizhevsky et al. Fig. 2: conv2, conv4, conv5 see only their own tower's half.
    assert kernels == {
        "conv1": (11, 11, 3, 96),
        "conv2": (5, 5, 48, 256),
        "conv3": (3, 3, 256, 384),
        "conv4": (3, 3, 192, 384),
        "conv5": (3, 3, 192, 256),
    }


def test_input_tensor_and_weights_file(tmp_path):
    inputs = keras.Input((40, 40, 3))
    model = keras_cnns.resnet18(input_tensor=inputs, num_classes=4)
    assert model.inputs[0] is inputs
    path = os.fspath(tmp_path / "r18.weights.h5")
    model.save_weights(path)
    again = keras_cnns.resnet18(input_shape=(40, 40, 3), num_classes=4, weights=path)
    x = np.random.default_rng(2).uniform(size=(1, 40, 40, 3)).astype("float32")
    np.testing.assert_allclose(again.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)


def test_mixed_precision_outputs_float32():
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        model = keras_cnns.resnet18(input_shape=(32, 32, 3), num_classes=3)
        assert model.get_layer("conv2_block1").compute_dtype == "bfloat16"
        assert model.output.dtype == "float32"  # symbolic, as the eager outputs
        y = model(np.ones((1, 32, 32, 3), "float32"))
        assert keras.backend.standardize_dtype(y.dtype) == "float32"
    finally:
        keras.config.set_dtype_policy("float32")


def test_classifier_activation_none_gives_logits():
    model = keras_cnns.vgg11(input_shape=(32, 32, 3), num_classes=3, classifier_activation=None)
    y = keras.ops.convert_to_numpy(model(np.ones((2, 32, 32, 3), "float32") * 50))
    assert not np.allclose(y.sum(axis=1), 1.0)
