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
    assert model.output_names == ["head", "aux1"]
    assert [tuple(o.shape) for o in model.outputs] == [(None, 1000), (None, 1000)]
    assert _trainable(model) == ref.AUX_PARAMS  # torchvision's inception_v3 with AuxLogits
    assert model.count_params() == ref.AUX_TOTAL
    assert f"{keras_cnns.count_macs(model) / 1e9:.3f}" == ref.AUX_MACS

    # The authors' TF training code weights the auxiliary loss 0.4 (GoogLeNet used 0.3):
    # the head is a regularizer, so it must not dominate the main loss.
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    model.compile(
        optimizer=keras.optimizers.SGD(0.01),
        loss={"head": loss, "aux1": loss},
        loss_weights={"head": 1.0, "aux1": 0.4},
        run_eagerly=True,  # tracing the 27 M-parameter graph costs more than one step
    )
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (2, 299, 299, 3)).astype("float32")
    y = rng.integers(0, 1000, 2)
    aux = model.get_layer("aux1")
    before = keras.ops.convert_to_numpy(aux.conv1.conv.kernel).copy()
    logs = model.train_on_batch(x, {"head": y, "aux1": y}, return_dict=True)
    assert np.isclose(logs["loss"], logs["head_loss"] + 0.4 * logs["aux1_loss"], rtol=1e-5)
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


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(aux_logits="yes"), r"Received: aux_logits='yes'"),
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
    ],
)
def test_bad_block_arguments(make, message):
    with pytest.raises(ValueError, match=message):
        make()
