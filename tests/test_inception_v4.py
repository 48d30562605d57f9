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


def _kernel(layer):
    return tuple(layer.conv.kernel.shape)


@pytest.mark.parametrize("name", sorted(ref.GRIDS))
def test_width_multiplier_halves_the_grids(name):
    # TF-slim's depth_multiplier 0.5: no width of the figures falls under 16 when halved,
    # so each grid has half the paper's channels (Inception-v4 192, 512, 768).
    model = keras_cnns.create_model(name, include_top=False, input_shape=(75, 75, 3), width_multiplier=0.5)
    for layer, (_, channels) in ref.GRIDS[name].items():
        assert model.get_layer(layer).output.shape[-1] == channels // 2, layer
    assert model.output_shape[-1] == ref.FEATURES[name] // 2


def test_width_multiplier_floors_inception_v4_stem_at_16():
    # At 0.25, int(d * 0.25) < 16 gives 16 (min_depth): the stem's 32 -> 8 -> 16 twice,
    # 64 -> 16; mixed_3a 16 (pool) + 96 / 4; mixed_5a 192 / 4 + (96 + 96) / 4. The rest
    # quarters: Reduction-A 96 + 64 + 96, Reduction-B 48 + 80 + 256.
    model = keras_cnns.inception_v4(include_top=False, input_shape=(75, 75, 3), width_multiplier=0.25)
    stem = model.get_layer("stem")
    assert [_kernel(conv) for conv in stem.convs] == [(3, 3, 3, 16), (3, 3, 16, 16), (3, 3, 16, 16)]
    assert _kernel(stem.mixed_3a_conv) == (3, 3, 16, 24)
    assert _kernel(stem.mixed_4a_branch1[0]) == (1, 1, 16 + 24, 16)
    assert _kernel(stem.mixed_5a_conv) == (3, 3, 48, 48)
    channels = {name: model.get_layer(name).output.shape[-1] for name in ("stem", "mixed_6a", "mixed_7a", "mixed_7d")}
    assert channels == {"stem": 96, "mixed_6a": 256, "mixed_7a": 384, "mixed_7d": 384}


def test_width_multiplier_on_inception_resnet_v2_keeps_the_residuals_matched():
    # At 0.25: conv2d_1a and conv2d_2a 32 -> 8 -> 16, conv_7b 1536 / 4; mixed_5b
    # 96/4 + 64/4 + 96/4 + 64/4 = 80; block35's branches 32 -> 16 (floored), 48 -> 16
    # (floored), 64 -> 16, 16 + 16 + 16 = 48 concatenated. The up-projection is not
    # scaled: it goes back to the 80 input channels so the residual sum still adds up.
    model = keras_cnns.inception_resnet_v2(include_top=False, input_shape=(75, 75, 3), width_multiplier=0.25)
    assert _kernel(model.get_layer("conv2d_1a")) == (3, 3, 3, 16)
    assert _kernel(model.get_layer("conv2d_2a")) == (3, 3, 16, 16)
    assert model.get_layer("mixed_5b").output.shape[-1] == 80
    block35 = model.get_layer("block35_1")
    assert block35.filters == ((32,), (32, 32), (32, 48, 64))  # the config keeps the paper's widths
    assert [_kernel(conv) for conv in block35.branches[2]] == [(1, 1, 80, 16), (3, 3, 16, 16), (3, 3, 16, 16)]
    assert _kernel(block35.up) == (1, 1, 48, 80)
    # mixed_6a: 384/4 + 384/4 + 80 = 272; block17: 192/4 + 192/4 concatenated
    assert _kernel(model.get_layer("block17_1").up) == (1, 1, 96, 272)
    # mixed_7a: 384/4 + 288/4 + 320/4 + 272 = 520 (2080 / 4)
    assert _kernel(model.get_layer("conv_7b")) == (1, 1, 520, 384)


@pytest.mark.parametrize("width_multiplier", [0.25, 0.5, 1.3])
def test_width_multiplier_symbolic_shape_is_eager_shape(width_multiplier):
    options = dict(width_multiplier=width_multiplier)
    cases = [
        (blocks.InceptionV4Stem(**options), (1, 75, 75, 3)),
        (blocks.InceptionResNetV1Stem(**options), (1, 75, 75, 3)),
        (blocks.InceptionV4A(**options), (1, 5, 5, 8)),
        (blocks.InceptionV4B(**options), (1, 5, 5, 8)),
        (blocks.InceptionV4C(**options), (1, 3, 3, 8)),
        (blocks.InceptionResNetV2Mixed5b(**options), (1, 5, 5, 8)),
        (blocks.ReductionA(192, 224, 256, 384, **options), (1, 9, 9, 5)),
        (blocks.InceptionV4ReductionB(**options), (1, 9, 9, 5)),
        (blocks.InceptionResNetReductionB(**options), (1, 9, 9, 5)),
        (blocks.InceptionResNetA(**options), (1, 5, 5, 12)),
        (blocks.InceptionResNetB(**options), (1, 5, 5, 12)),
        (blocks.InceptionResNetC(**options), (1, 5, 5, 12)),
    ]
    assert sorted(type(layer).__name__ for layer, _ in cases) == sorted(ref.BLOCKS)
    for layer, shape in cases:
        x = np.random.default_rng(0).normal(size=shape).astype("float32")
        assert tuple(layer.compute_output_shape(shape)) == tuple(layer(x).shape), type(layer).__name__


def test_width_multiplier_survives_a_keras_round_trip(tmp_path):
    inputs = keras.Input((5, 5, 24))
    block = blocks.InceptionResNetB(width_multiplier=0.5, name="block17_1")
    model = keras.Model(inputs, block(inputs))
    # branches 192/2 | 128/2, 160/2, 192/2: 96 + 96 concatenated, back to 24 channels
    assert _kernel(block.up) == (1, 1, 192, 24)
    path = tmp_path / "block.keras"
    model.save(path)
    restored = keras.saving.load_model(path)  # safe_mode=True
    assert restored.get_layer("block17_1").get_config() == block.get_config()
    assert restored.get_layer("block17_1").width_multiplier == 0.5
    x = np.random.default_rng(0).normal(size=(2, 5, 5, 24)).astype("float32")
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(restored(x)), keras.ops.convert_to_numpy(model(x)), rtol=1e-6, atol=1e-6
    )


_OPTIONS = ["norm", "norm_epsilon", "norm_momentum", "norm_scale", "activation", "width_multiplier"]
_RESIDUAL = ["filters", "scale", "output_activation", *_OPTIONS]


@pytest.mark.parametrize(
    "make, shape, keys",
    [
        (lambda: blocks.InceptionV4Stem(), (1, 75, 75, 3), _OPTIONS),
        (lambda: blocks.InceptionV4A(), (1, 5, 5, 8), _OPTIONS),
        (lambda: blocks.InceptionV4B(), (1, 5, 5, 8), _OPTIONS),
        (lambda: blocks.InceptionV4C(), (1, 3, 3, 8), _OPTIONS),
        (lambda: blocks.ReductionA(4, 6, 8, 10), (1, 9, 9, 5), ["k", "l", "m", "n", *_OPTIONS]),
        (lambda: blocks.InceptionV4ReductionB(width_multiplier=0.25), (1, 9, 9, 5), _OPTIONS),
        (lambda: blocks.InceptionResNetV1Stem(), (1, 75, 75, 3), _OPTIONS),
        (lambda: blocks.InceptionResNetV2Mixed5b(), (1, 5, 5, 8), _OPTIONS),
        (lambda: blocks.InceptionResNetReductionB(((4, 6), (4, 5), (4, 5, 7))), (1, 9, 9, 5), ["filters", *_OPTIONS]),
        (lambda: blocks.InceptionResNetA(), (1, 5, 5, 12), _RESIDUAL),
        (lambda: blocks.InceptionResNetB(((6,), (4, 5, 7)), scale=0.5), (1, 5, 5, 12), _RESIDUAL),
        (lambda: blocks.InceptionResNetC(output_activation=None, norm_scale=False), (1, 3, 3, 12), _RESIDUAL),
    ],
)
def test_config_keys_and_from_config(make, shape, keys):
    # The blocks share their options through one base class: each config still lists
    # every constructor argument (saved files depend on it) and rebuilds the same block.
    layer = make()
    config = layer.get_config()
    assert [key for key in config if key != "data_format"] == ["name", "trainable", "dtype", *keys]
    assert config["data_format"] == "channels_last"
    layer.build((None, *shape[1:]))
    clone = type(layer).from_config(config)
    clone.build((None, *shape[1:]))
    assert clone.get_config() == config
    assert [w.path for w in clone.weights] == [w.path for w in layer.weights]
    assert [tuple(w.shape) for w in clone.weights] == [tuple(w.shape) for w in layer.weights]


def test_residual_defaults_are_the_class_data():
    # filters=None and scale=None take the block's FILTERS and SCALE (Inception-ResNet-v2's),
    # and the config keeps the resolved values, so it rebuilds the same block.
    for block, filters, scale in [
        (blocks.InceptionResNetA, ((32,), (32, 32), (32, 48, 64)), 0.17),
        (blocks.InceptionResNetB, ((192,), (128, 160, 192)), 0.1),
        (blocks.InceptionResNetC, ((192,), (192, 224, 256)), 0.2),
    ]:
        config = block().get_config()
        assert (config["filters"], config["scale"]) == (filters, scale) == (block.FILTERS, block.SCALE)
        assert [len(branch) for branch in block.LAYOUT] == [len(branch) for branch in filters]
    v1 = blocks.InceptionResNetA(((32,), (32, 32), (32, 32, 32)), scale=0.1).get_config()
    assert (v1["filters"], v1["scale"]) == (((32,), (32, 32), (32, 32, 32)), 0.1)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: blocks.ReductionA(192, 0, 256, 384), r"Received: l=0"),
        (lambda: blocks.InceptionResNetA(width_multiplier=0.0), r"Received: width_multiplier=0.0"),
        (lambda: blocks.InceptionV4Stem(width_multiplier="2"), r"Received: width_multiplier='2'"),
        (lambda: keras_cnns.models.InceptionV4(width_multiplier=-0.5), r"Received: width_multiplier=-0.5"),
        (
            lambda: keras_cnns.models.InceptionResNet(**SPECS["v2"], width_multiplier=0),
            r"Received: width_multiplier=0",
        ),
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
