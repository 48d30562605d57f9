"""Inception-v4 and Inception-ResNet: the paper's grids, keras.applications, residual scaling."""

import keras
import numpy as np
import pytest

import keras_cnns
from keras_cnns import layers as blocks
from keras_cnns.models.inception_resnet import SPECS
from tests import reference
from tests.reference import inception_v4 as ref


def _trainable(model):
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


@pytest.mark.parametrize("name", sorted(ref.GRIDS))
def test_grids_at_299_and_counts_without_batch_norm_scale(name):
    # One build per model: the grids are the paper's (35x35, 17x17, 8x8 and their
    # channels); with norm_scale=False the count is TF-slim's / keras.applications'.
    model = keras_cnns.create_model(name, norm_scale=False)
    for layer, (size, channels) in ref.GRIDS[name].items():
        assert model.get_layer(layer).output.shape == (None, size, size, channels), layer
    assert _trainable(model) == ref.PARAMS_NO_BN_SCALE[name]
    norms = [layer for layer in model._flatten_layers() if isinstance(layer, keras.layers.BatchNormalization)]
    assert norms and {layer.epsilon for layer in norms} == {1e-3}  # TF-slim, timm


def test_inception_resnet_v2_is_keras_applications_layout():
    theirs = keras.applications.InceptionResNetV2(weights=None)
    ours = keras_cnns.inception_resnet_v2()
    # Keras 3 names a residual block's parts block35_1_mixed / _conv / _ac.
    like_named = {
        "mixed_5b": "mixed_5b",
        "block35_10": "block35_10_ac",
        "mixed_6a": "mixed_6a",
        "block17_20": "block17_20_ac",
        "mixed_7a": "mixed_7a",
        "block8_10": "block8_10_conv",  # the last block8 has no activation
        "conv_7b": "conv_7b",
    }
    for name, keras_name in like_named.items():
        assert ours.get_layer(name).output.shape == theirs.get_layer(keras_name).output.shape, name
    # keras.applications drops the batch-norm scale: one gamma per batch-norm channel.
    bn_channels = sum(
        layer.beta.shape[0] for layer in theirs.layers if isinstance(layer, keras.layers.BatchNormalization)
    )
    assert bn_channels == 30_272  # shared/reference/architectures.md, note 2
    assert _trainable(ours) - _trainable(theirs) == bn_channels
    assert _trainable(theirs) == ref.PARAMS_NO_BN_SCALE["inception_resnet_v2"]
    # Same layout, same numbers: tests/test_applications.py transfers the weights and
    # compares the outputs.


def _residual(scale, output_activation="relu"):
    layer = blocks.InceptionResNetB(((6,), (4, 5, 7)), scale=scale, output_activation=output_activation)
    layer.build((None, 5, 5, 12))
    return layer


def test_residual_scale_scales_the_branch():
    x = np.random.default_rng(0).normal(size=(2, 5, 5, 12)).astype("float32")
    # scale 0: the block is activation(shortcut), whatever its branches compute.
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(_residual(0.0)(x)), np.maximum(x, 0))
    # without the final activation, output - input is linear in the scale
    unit, scaled = _residual(1.0, None), _residual(0.3, None)
    scaled.set_weights(unit.get_weights())
    branch = keras.ops.convert_to_numpy(unit(x)) - x
    assert np.abs(branch).max() > 1e-3
    np.testing.assert_allclose(keras.ops.convert_to_numpy(scaled(x)) - x, 0.3 * branch, rtol=1e-5, atol=1e-6)


def test_residual_up_projection_has_a_bias_and_no_batch_norm():
    layer = _residual(0.1)
    assert layer.up.use_bias and layer.up.bn is None and layer.up.act is None
    assert tuple(layer.up.conv.kernel.shape) == (1, 1, 6 + 7, 12)


def test_average_pool_branches_ignore_the_padding():
    # TF-slim's "SAME" average pooling and timm's count_include_pad=False: a corner of
    # a constant map averages 4 real pixels to the same constant, not 4/9 of it.
    pool = blocks.InceptionV4A().branch3[0]
    out = keras.ops.convert_to_numpy(pool(np.ones((1, 4, 4, 2), "float32")))
    np.testing.assert_array_equal(out, np.ones((1, 4, 4, 2)))


def test_reduction_a_follows_table_1():
    # Output channels n + m + input: Inception-v4 384 + 256 + 384 = 1024 (Fig. 7).
    assert blocks.ReductionA(192, 224, 256, 384).compute_output_shape((None, 35, 35, 384)) == (None, 17, 17, 1024)
    assert blocks.ReductionA(192, 192, 256, 384).compute_output_shape((None, 35, 35, 256)) == (None, 17, 17, 896)
    assert blocks.ReductionA(256, 256, 384, 384).compute_output_shape((None, 35, 35, 320)) == (None, 17, 17, 1088)


def test_minimum_size_matches_keras_applications():
    assert keras_cnns.model_info("inception_resnet_v2").min_size == reference.MIN_SIZE["inception_resnet_v2"]
    for name in ("inception_v4", "inception_resnet_v1"):
        assert keras_cnns.model_info(name).min_size == 75


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: blocks.ReductionA(192, 0, 256, 384), r"Received: l=0"),
        (lambda: blocks.InceptionResNetA(((32,), (32,), (32, 32, 32))), r"Received: filters="),
        (lambda: blocks.InceptionResNetB(scale="big"), r"Received: scale='big'"),
        (lambda: blocks.InceptionResNetReductionB(((256, 384), (256, 0), (256, 256, 256))), r"Received: filters="),
        (lambda: blocks.InceptionV4A(norm=None), r"Received: norm=None"),
        (lambda: keras_cnns.models.InceptionV4(blocks=(4, 7)), r"Received: blocks=\(4, 7\)"),
        (lambda: keras_cnns.models.InceptionResNet(**{**SPECS["v1"], "stem": "v4"}), r"Received: stem='v4'"),
    ],
)
def test_bad_arguments(make, message):
    with pytest.raises(ValueError, match=message):
        make()
