"""FusedBatchNormalization: Keras' batch norm on TensorFlow's fused kernel.

The oracle is Keras' own ``keras.layers.BatchNormalization``: the same outputs in training
and inference, the same moving statistics after several steps and the same gradients, to
1e-5; the graph holds ``FusedBatchNormV3`` where the layer promises it and Keras' ops
where it falls back; a model saved before the change loads and computes what it did.
"""

import json
import os
import subprocess
import sys
import zipfile

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_cnns.layers import ConvBNAct, FusedBatchNormalization
from keras_cnns.layers._base import make_norm

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")
SHAPE = (4, 6, 5, 3)


def _pair(**options):
    """Keras' batch norm and ours, built with the same non-trivial weights."""
    rng = np.random.default_rng(1)
    theirs, ours = keras.layers.BatchNormalization(name="bn", **options), FusedBatchNormalization(name="bn", **options)
    for layer in (theirs, ours):
        layer.build(SHAPE)
    values = [rng.normal(size=w.shape).astype("float32") for w in theirs.weights]
    values[-1] = np.abs(values[-1]) + 0.5  # a moving variance
    theirs.set_weights(values)
    ours.set_weights(values)
    return theirs, ours


def _close(a, b, tol=1e-5):
    a, b = keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b)
    np.testing.assert_allclose(b, a, rtol=tol, atol=tol * max(1.0, float(np.abs(a).max())))


@pytest.mark.parametrize(
    "options",
    [dict(epsilon=1e-5, momentum=0.9), dict(scale=False, epsilon=1e-3, momentum=0.99), dict(center=False, momentum=0.5)],
    ids=["default", "no-scale", "no-center"],
)
def test_equals_keras_batch_norm_in_training_and_inference(options):
    theirs, ours = _pair(**options)
    rng = np.random.default_rng(2)
    for _ in range(5):  # moving statistics after several steps
        x = rng.normal(3.0, 2.0, SHAPE).astype("float32")
        _close(theirs(x, training=True), ours(x, training=True))
    for a, b in zip(theirs.weights, ours.weights):
        assert a.name == b.name
        _close(a, b)
    assert not np.allclose(ours.moving_mean.numpy(), 0)  # the statistics did move
    x = rng.normal(3.0, 2.0, SHAPE).astype("float32")
    _close(theirs(x, training=False), ours(x, training=False))


def test_gradients_equal_keras_batch_norm():
    theirs, ours = _pair(epsilon=1e-5)
    x = tf.constant(np.random.default_rng(3).normal(1.0, 2.0, SHAPE).astype("float32"))
    weights = tf.constant(np.random.default_rng(4).normal(size=SHAPE).astype("float32"))
    gradients = []
    for layer in (theirs, ours):
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.reduce_sum(layer(x, training=True) ** 3 * weights)
        gradients.append(tape.gradient(loss, [x, layer.gamma, layer.beta]))
    for a, b in zip(*gradients):
        assert float(tf.reduce_max(tf.abs(a))) > 1e-3
        _close(a, b)


def _ops(layer, training, dtype="float32"):
    function = tf.function(lambda x: layer(x, training=training))
    return function.get_concrete_function(tf.TensorSpec(SHAPE, dtype)).graph.get_operations()


def _op_types(layer, training, dtype="float32"):
    return {op.type for op in _ops(layer, training, dtype)}


def test_fused_kernel_where_promised_and_keras_ops_elsewhere():
    _, ours = _pair()
    assert "FusedBatchNormV3" in _op_types(ours, True)
    assert "FusedBatchNormV3" in _op_types(ours, False)
    synchronized = FusedBatchNormalization(synchronized=True)
    synchronized.build(SHAPE)
    assert "FusedBatchNormV3" not in _op_types(synchronized, True)  # several replicas: Keras' own
    other_axis = FusedBatchNormalization(axis=1)
    other_axis.build(SHAPE)
    assert "FusedBatchNormV3" not in _op_types(other_axis, True)
    double = FusedBatchNormalization(dtype="float64")
    double.build(SHAPE)
    assert "FusedBatchNormV3" not in _op_types(double, True, "float64")  # the kernel has no float64
    x = np.random.default_rng(7).normal(size=SHAPE)
    _close(keras.layers.BatchNormalization(dtype="float64")(x, training=True), double(x, training=True))


def test_same_config_and_class_contract_as_keras():
    theirs, ours = _pair(epsilon=1e-5, momentum=0.9)
    assert ours.get_config() == theirs.get_config()
    assert isinstance(ours, keras.layers.BatchNormalization)
    restored = FusedBatchNormalization.from_config(ours.get_config())
    assert restored.get_config() == ours.get_config()
    assert isinstance(make_norm("batch", 1e-5, 0.9, True, None, "bn"), FusedBatchNormalization)
    assert make_norm("sync_batch", 1e-5, 0.9, True, None, "bn").synchronized


def test_mixed_bfloat16_takes_bfloat16_in_with_float32_statistics():
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        theirs, ours = _pair(epsilon=1e-5)
        fused = [op for op in _ops(ours, True, "bfloat16") if op.type == "FusedBatchNormV3"]
        assert [op.inputs[0].dtype for op in fused] == [tf.bfloat16]  # no upcast to float32
        x = tf.cast(np.random.default_rng(5).normal(2.0, 1.5, SHAPE), "bfloat16")
        a, b = theirs(x, training=True), ours(x, training=True)
    finally:
        keras.config.set_dtype_policy(previous)
    assert b.dtype == "bfloat16" and ours.moving_mean.dtype == "float32"
    # bfloat16 outputs: 8 bits of mantissa.
    np.testing.assert_allclose(keras.ops.convert_to_numpy(tf.cast(b, "float32")),
                               keras.ops.convert_to_numpy(tf.cast(a, "float32")), atol=0.05)
    _close(theirs.moving_mean, ours.moving_mean, tol=1e-3)


def test_a_model_saved_with_keras_batch_norm_loads():
    """tests/fixtures/densenet_keras3_bn.keras was saved by commit 25985e0, before this
    layer (make_densenet_keras3_bn.py): its blocks' batch norms come back fused, its
    top-level one as the Keras layer the file names, and it computes what it did."""
    path = os.path.join(FIXTURES, "densenet_keras3_bn.keras")
    with zipfile.ZipFile(path) as archive:
        config = json.loads(archive.read("config.json"))
    assert "BatchNormalization" in [layer["class_name"] for layer in config["config"]["layers"]]
    model = keras.saving.load_model(path)
    saved = np.load(os.path.join(FIXTURES, "densenet_keras3_bn.npz"))
    _close(saved["output"], model(saved["probe"], training=False))
    norms = [layer for layer in model._flatten_layers() if isinstance(layer, keras.layers.BatchNormalization)]
    assert len(norms) == 7
    assert sum(isinstance(layer, FusedBatchNormalization) for layer in norms) == 6
    assert type(model.get_layer("bn")) is keras.layers.BatchNormalization


def test_blocks_train_with_it_and_keras_computes_the_same():
    block = ConvBNAct(8, 3)
    twin = ConvBNAct(8, 3)
    x = np.random.default_rng(6).normal(size=(2, 8, 8, 4)).astype("float32")
    block(x), twin(x)
    twin.bn.__class__ = keras.layers.BatchNormalization  # Keras' own computation
    twin.set_weights(block.get_weights())
    assert isinstance(block.bn, FusedBatchNormalization)
    _close(twin(x, training=True), block(x, training=True))
    _close(twin.bn.moving_variance, block.bn.moving_variance)


PROGRAM = """
import numpy as np, keras
from keras_cnns.layers import FusedBatchNormalization
x = np.random.default_rng(0).normal(2.0, 3.0, (4, 6, 5, 3)).astype("float32")
theirs, ours = keras.layers.BatchNormalization(), FusedBatchNormalization()
for _ in range(3):
    a, b = theirs(x, training=True), ours(x, training=True)
print(keras.backend.backend(), float(np.abs(keras.ops.convert_to_numpy(a) - keras.ops.convert_to_numpy(b)).max()),
      float(np.abs(keras.ops.convert_to_numpy(theirs.moving_mean) - keras.ops.convert_to_numpy(ours.moving_mean)).max()))
"""


def test_other_backends_run_keras_batch_norm():
    pytest.importorskip("torch")
    env = {**os.environ, "KERAS_BACKEND": "torch", "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run([sys.executable, "-c", PROGRAM], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    backend, output_diff, mean_diff = done.stdout.split()[-3:]
    assert backend == "torch" and float(output_diff) < 1e-5 and float(mean_diff) < 1e-6
