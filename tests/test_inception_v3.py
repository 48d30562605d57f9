"""Inception v3: the paper's grid sizes, keras.applications parity, the auxiliary head."""

import keras
import numpy as np
import pytest

import keras_cnns
from keras_cnns import layers as blocks
from tests.reference import inception_v3 as ref


def _trainable(model):
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


def _bn_channels(model):
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights if w.path.endswith("/gamma"))


def test_grid_sizes_of_table_1_at_299():
    model = keras_cnns.inception_v3(include_top=False, input_shape=(299, 299, 3))
    shapes = {name: model.get_layer(name).output.shape[1:] for name in ("pool5a", "mixed2", "mixed3", "mixed7", "mixed8", "mixed10")}
    # Szegedy et al. Table 1; after the stem, the released network's 35x35x192 (mixed0's input).
    assert shapes == {
        "pool5a": (35, 35, 192),
        "mixed2": (35, 35, 288),
        "mixed3": (17, 17, 768),
        "mixed7": (17, 17, 768),
        "mixed8": (8, 8, 1280),
        "mixed10": (8, 8, 2048),
    }


def test_we_keep_the_batch_norm_scale_keras_applications_drops():
    ours = keras_cnns.inception_v3()
    theirs = keras.applications.InceptionV3(weights=None)
    assert _trainable(theirs) == ref.KERAS_PARAMS
    assert _trainable(ours) - _trainable(theirs) == _bn_channels(ours) == ref.BN_CHANNELS
    # Without the scale, the parameter count is keras.applications' exactly.
    assert _trainable(keras_cnns.inception_v3(norm_scale=False)) == ref.KERAS_PARAMS


def test_auxiliary_classifier_trains_and_is_dropped_for_inference():
    model = keras_cnns.inception_v3(aux_logits=True, classifier_activation=None)
    assert model.output_names == ["predictions", "aux1"]
    assert [tuple(o.shape) for o in model.outputs] == [(None, 1000), (None, 1000)]
    assert _trainable(model) == ref.AUX_PARAMS  # torchvision's inception_v3 with AuxLogits
    assert model.count_params() == ref.AUX_TOTAL
    assert f"{keras_cnns.count_macs(model) / 1e9:.3f}" == ref.AUX_MACS

    # The authors' TF training code weights the auxiliary loss 0.4 (GoogLeNet used 0.3):
    # the head is a regularizer, so it must not dominate the main loss.
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    model.compile(
        optimizer=keras.optimizers.SGD(0.01),
        loss={"predictions": loss, "aux1": loss},
        loss_weights={"predictions": 1.0, "aux1": 0.4},
        run_eagerly=True,  # tracing the 27 M-parameter graph costs more than one step
    )
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (2, 299, 299, 3)).astype("float32")
    y = rng.integers(0, 1000, 2)
    aux = model.get_layer("aux1")
    before = keras.ops.convert_to_numpy(aux.conv1.conv.kernel).copy()
    logs = model.train_on_batch(x, {"predictions": y, "aux1": y}, return_dict=True)
    assert np.isclose(logs["loss"], logs["predictions_loss"] + 0.4 * logs["aux1_loss"], rtol=1e-5)
    assert not np.allclose(before, keras.ops.convert_to_numpy(aux.conv1.conv.kernel))

    inference = keras_cnns.models.inference_model(model)
    assert len(inference.outputs) == 1
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(inference(x, training=False)),
        keras.ops.convert_to_numpy(model(x, training=False)[0]),
        rtol=1e-6,
        atol=1e-6,
    )


def test_auxiliary_classifier_needs_a_299_input():
    # Below 299, mixed7 is smaller than 17x17 and the 5x5/3 pooling + 5x5 conv vanish.
    with pytest.raises(ValueError, match=r"at least 299x299.*mixed7.*Received: input_shape=\(298, 298, 3\)"):
        keras_cnns.inception_v3(aux_logits=True, input_shape=(298, 298, 3))
    with pytest.raises(ValueError, match=r"Received: aux_logits=True with include_top=False"):
        keras_cnns.inception_v3(aux_logits=True, include_top=False)
    with pytest.raises(ValueError, match=r"at least 17x17. Received: input_shape=\(None, 16, 16, 768\)"):
        blocks.InceptionV3Aux(10).build((None, 16, 16, 768))


def _channels(model, names):
    return {name: model.get_layer(name).output.shape[-1] for name in names}


def test_width_multiplier_halves_every_module():
    # TF-slim's depth_multiplier 0.5: every width of the tables halves (none falls under
    # 16), so each module's output is half of the paper's: mixed0 (64 + 64 + 96 + 32) / 2,
    # mixed2 288 / 2, mixed3 768 / 2, mixed8 1280 / 2, mixed10 (320 + 768 + 768 + 192) / 2.
    model = keras_cnns.inception_v3(include_top=False, input_shape=(75, 75, 3), width_multiplier=0.5)
    assert _channels(model, ("conv1a", "pool5a", "mixed0", "mixed2", "mixed3", "mixed7", "mixed8", "mixed10")) == {
        "conv1a": 16,
        "pool5a": 96,
        "mixed0": 128,
        "mixed2": 144,
        "mixed3": 384,
        "mixed7": 384,
        "mixed8": 640,
        "mixed10": 1024,
    }
    mixed10 = model.get_layer("mixed10")
    assert tuple(mixed10.branch3x3dbl_1.conv.kernel.shape) == (1, 1, 1024, 224)  # 448 / 2
    assert tuple(mixed10.branch3x3dbl_3a.conv.kernel.shape) == (1, 3, 192, 192)  # 384 / 2


def test_width_multiplier_floors_widths_at_16():
    # At 0.25, int(d * 0.25) < 16 gives 16 (TF-slim's min_depth): conv1a 32 -> 16, the
    # 5x5 branch's 48 -> 16, mixed0's pool branch 32 -> 16; the others quarter. mixed0:
    # 16 + 16 + 24 + 16 = 72, not 256 / 4 = 64; mixed1 and mixed2 (pool 64 -> 16) give
    # 72 as well. mixed3: 96 + 24 + 72; from mixed4 on nothing is floored: 768 / 4,
    # 80 + 48 + 192, (320 + 768 + 768 + 192) / 4.
    model = keras_cnns.inception_v3(include_top=False, input_shape=(75, 75, 3), width_multiplier=0.25)
    assert _channels(model, ("conv1a", "conv4a", "mixed0", "mixed2", "mixed3", "mixed7", "mixed8", "mixed10")) == {
        "conv1a": 16,
        "conv4a": 48,
        "mixed0": 72,
        "mixed2": 72,
        "mixed3": 192,
        "mixed7": 192,
        "mixed8": 320,
        "mixed10": 512,
    }
    mixed0 = model.get_layer("mixed0")
    assert tuple(model.get_layer("conv1a").conv.kernel.shape) == (3, 3, 3, 16)
    assert tuple(mixed0.branch5x5_1.conv.kernel.shape) == (1, 1, 48, 16)  # 48 -> 12 -> 16
    assert tuple(mixed0.branch5x5_2.conv.kernel.shape) == (5, 5, 16, 16)  # 64 -> 16
    assert tuple(mixed0.branch_pool.conv.kernel.shape) == (1, 1, 48, 16)  # 32 -> 8 -> 16
    assert mixed0.pool_features == 32  # the config keeps the paper's width


def test_width_multiplier_scales_the_auxiliary_classifier():
    # TF-slim's aux logits: depth(128), depth(768); the classifier keeps its classes.
    model = keras_cnns.inception_v3(aux_logits=True, width_multiplier=0.5, num_classes=10)
    aux = model.get_layer("aux1")
    assert aux.width_multiplier == 0.5
    assert tuple(aux.conv0.conv.kernel.shape) == (1, 1, 384, 64)  # mixed7: 768 / 2
    assert tuple(aux.conv1.conv.kernel.shape) == (5, 5, 64, 384)
    assert [tuple(o.shape) for o in model.outputs] == [(None, 10), (None, 10)]


@pytest.mark.parametrize("width_multiplier", [0.25, 0.5, 1.3])
def test_width_multiplier_symbolic_shape_is_eager_shape(width_multiplier):
    x = np.random.default_rng(0).normal(size=(1, 9, 9, 40)).astype("float32")
    for layer in (
        blocks.InceptionV3A(32, width_multiplier=width_multiplier),
        blocks.InceptionV3B(width_multiplier=width_multiplier),
        blocks.InceptionV3C(160, width_multiplier=width_multiplier),
        blocks.InceptionV3D(width_multiplier=width_multiplier),
        blocks.InceptionV3E(width_multiplier=width_multiplier),
    ):
        assert tuple(layer.compute_output_shape(x.shape)) == tuple(layer(x).shape), layer.name


def test_width_multiplier_survives_a_keras_round_trip(tmp_path):
    inputs = keras.Input((5, 5, 16))
    block = blocks.InceptionV3E(width_multiplier=0.25, name="mixed9")
    model = keras.Model(inputs, block(inputs))
    # (320 + 768 + 768 + 192) / 4
    assert model.output_shape == (None, 5, 5, 512)
    path = tmp_path / "block.keras"
    model.save(path)
    restored = keras.saving.load_model(path)  # safe_mode=True
    assert restored.get_layer("mixed9").get_config() == block.get_config()
    assert restored.get_layer("mixed9").width_multiplier == 0.25
    x = np.random.default_rng(0).normal(size=(2, 5, 5, 16)).astype("float32")
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(restored(x)), keras.ops.convert_to_numpy(model(x)), rtol=1e-6, atol=1e-6
    )


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(aux_logits="yes"), r"Received: aux_logits='yes'"),
        (dict(width_multiplier=0), r"Received: width_multiplier=0"),
        (dict(width_multiplier="half"), r"Received: width_multiplier='half'"),
        (dict(dropout=1.0), r"Received: dropout=1.0"),
        (dict(norm="group"), r"Received: norm='group'"),
    ],
)
def test_bad_builder_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        keras_cnns.inception_v3(input_shape=(75, 75, 3), **kwargs)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: blocks.InceptionV3A(0), r"Received: pool_features=0"),
        (lambda: blocks.InceptionV3C(7.5), r"Received: channels_7x7=7.5"),
        (lambda: blocks.InceptionV3Aux(0), r"Received: num_classes=0"),
        (lambda: blocks.InceptionV3Aux(10, width_multiplier=-1), r"Received: width_multiplier=-1"),
        (lambda: blocks.InceptionV3B(width_multiplier=True), r"Received: width_multiplier=True"),
    ],
)
def test_bad_block_arguments(make, message):
    with pytest.raises(ValueError, match=message):
        make()
