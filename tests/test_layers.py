"""The block-layer harness: every exported block gets the same checks."""

import keras
import numpy as np
import pytest

from keras_cnns import layers as blocks
from tests import reference

EXAMPLES = reference.BLOCKS

CASES = [
    pytest.param(make, shape, out, params, id=f"{name}-{i}")
    for name, examples in EXAMPLES.items()
    for i, (make, shape, out, params) in enumerate(examples)
]


def _trainable(layer):
    return sum(int(np.prod(w.shape)) for w in layer.trainable_weights)


def test_every_exported_block_is_tested_and_registered():
    assert sorted(EXAMPLES) == sorted(blocks.__all__)
    for name in blocks.__all__:
        cls = getattr(blocks, name)
        assert keras.saving.get_registered_object(f"keras_cnns>{name}") is cls


@pytest.mark.parametrize("make, shape, out, params", CASES)
def test_config_round_trip(make, shape, out, params):
    layer = make()
    config = layer.get_config()
    clone = type(layer).from_config(config)
    assert clone.get_config() == config
    # The config survives JSON (tuples come back as lists).
    restored = keras.saving.deserialize_keras_object(
        keras.saving.serialize_keras_object(layer)
    )
    assert type(restored) is type(layer) and restored.get_config() == config


@pytest.mark.parametrize("make, shape, out, params", CASES)
def test_standalone_build_creates_every_weight(make, shape, out, params):
    layer = make()
    layer.build((None, *shape[1:]))
    assert layer.built
    assert _trainable(layer) == params
    count = len(layer.weights)
    layer(np.random.default_rng(0).normal(size=shape).astype("float32"))
    assert len(layer.weights) == count  # calling it created nothing new


@pytest.mark.parametrize("make, shape, out, params", CASES)
def test_symbolic_shape_equals_eager_shape(make, shape, out, params):
    layer = make()
    symbolic = layer.compute_output_shape((None, *shape[1:]))
    assert tuple(symbolic) == (None, *out[1:])
    assert tuple(layer(keras.Input(shape[1:])).shape) == (None, *out[1:])
    eager = layer(np.random.default_rng(0).normal(size=shape).astype("float32"))
    assert tuple(eager.shape) == out


@pytest.mark.parametrize("make, shape, out, params", CASES)
def test_one_training_step(make, shape, out, params):
    layer = make()
    inputs = keras.Input(shape[1:])
    x = layer(inputs)
    if len(out) == 4:
        x = keras.layers.GlobalAveragePooling2D()(x)
    model = keras.Model(inputs, keras.layers.Dense(3)(x))
    # One step: running it eagerly costs less than tracing it.
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  run_eagerly=True)
    before = [keras.ops.convert_to_numpy(w).copy() for w in layer.trainable_weights]
    rng = np.random.default_rng(0)
    history = model.fit(rng.normal(size=shape).astype("float32"), rng.integers(0, 3, shape[0]), epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    after = [keras.ops.convert_to_numpy(w) for w in layer.trainable_weights]
    assert all(not np.allclose(b, a) for b, a in zip(before, after))


def test_local_response_normalization_matches_the_paper_formula():
    x = np.random.default_rng(0).normal(size=(2, 3, 3, 7)).astype("float32") * 10
    got = keras.ops.convert_to_numpy(blocks.LocalResponseNormalization(size=5, alpha=1e-4, beta=0.75, k=2.0)(x))
    # Krizhevsky et al. 2012, section 3.3, summing over max(0, i - n/2) .. min(N - 1, i + n/2).
    expected = np.empty_like(x)
    for i in range(7):
        window = x[..., max(0, i - 2) : min(6, i + 2) + 1]
        expected[..., i] = x[..., i] / (2.0 + 1e-4 * (window**2).sum(-1)) ** 0.75
    np.testing.assert_allclose(got, expected, rtol=1e-5)
    import tensorflow as tf  # TensorFlow's own kernel uses the same convention

    tf_lrn = tf.nn.local_response_normalization(x, depth_radius=2, bias=2.0, alpha=1e-4, beta=0.75)
    np.testing.assert_allclose(got, tf_lrn.numpy(), rtol=1e-5)


def test_padded_max_pool_matches_ceil_mode_and_padding():
    x = np.random.default_rng(0).normal(size=(1, 6, 6, 1)).astype("float32")
    got = keras.ops.convert_to_numpy(blocks.PaddedMaxPool2D(3, 2, ceil_mode=True)(x))[0, ..., 0]
    # ceil((6 - 3) / 2) + 1 = 3 windows per side starting at 0, 2, 4; the last one overhangs.
    expected = np.array([[x[0, r : r + 3, c : c + 3, 0].max() for c in (0, 2, 4)] for r in (0, 2, 4)])
    np.testing.assert_array_equal(got, expected)
    # Symmetric padding by 1 with -inf: negative inputs are never replaced by a zero pad.
    neg = -np.ones((1, 4, 4, 1), "float32")
    assert (keras.ops.convert_to_numpy(blocks.PaddedMaxPool2D(3, 2, padding=1)(neg)) == -1).all()


def test_conv_explicit_padding_is_symmetric():
    layer = blocks.ConvBNAct(1, 3, strides=2, padding=1, norm=None, activation=None, use_bias=False)
    layer.build((None, 4, 4, 1))
    layer.conv.kernel.assign(np.ones((3, 3, 1, 1), "float32"))
    out = keras.ops.convert_to_numpy(layer(np.ones((1, 4, 4, 1), "float32")))[0, ..., 0]
    # PyTorch's padding=1: the top-left window covers 2x2 real pixels, not Keras "same"'s 3x3.
    np.testing.assert_array_equal(out, [[4, 6], [6, 9]])


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: blocks.ConvBNAct(8, 3, groups=3), r"divides `filters` \(8\). Received: groups=3"),
        (lambda: blocks.ConvBNAct(8, 3, padding="full"), r"Received: padding='full'"),
        (lambda: blocks.ConvBNAct(8, 3, norm="layer"), r"Received: norm='layer'"),
        (lambda: blocks.ClassifierHead(0), r"Received: num_classes=0"),
        (lambda: blocks.ClassifierHead(3, pooling="sum"), r"Received: pooling='sum'"),
        (lambda: blocks.BasicBlock(8, strides=3), r"Received: strides=3"),
        (lambda: blocks.PaddedMaxPool2D(2, 3, ceil_mode=True), r"ceil_mode=True needs"),
        (lambda: blocks.LocalResponseNormalization(size=0), r"Received: size=0"),
    ],
)
def test_bad_block_arguments(make, message):
    with pytest.raises(ValueError, match=message):
        make()
