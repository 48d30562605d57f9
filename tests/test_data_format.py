"""keras.applications' layout: the ``predictions`` layer and ``image_data_format``.

The references are Keras' own: its applications test suite, run on our twins from the
installed wheel; the channels_last models' outputs, which the channels_first ones must
give on transposed inputs (on JAX, whose CPU convolutions take both formats); and files
saved by keras_cnns before either change.
"""

import ast
import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

import keras_cnns
from keras_cnns.layers import ClassifierHead, OutputActivation

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")

#: Keras' MODEL_LIST rows for our keras.applications twins: (builder, output channels).
TWINS = [
    ("vgg16", 512), ("vgg19", 512), ("resnet50", 2048), ("resnet101", 2048), ("resnet152", 2048),
    ("inception_v3", 2048), ("inception_resnet_v2", 1536), ("mobilenet", 1024), ("mobilenet_v2", 1280),
    ("densenet121", 1024), ("densenet169", 1664), ("densenet201", 1920),
]


def _keras_applications_suite():
    """Keras' ``ApplicationsTest`` class, compiled from the installed wheel's
    applications_test.py with its ``MODEL_LIST`` replaced by our twins, and without
    ``test_application_base`` (it downloads ImageNet weights and a test image); None if
    the file or its class is not where Keras 3.15 keeps them."""
    try:
        from keras.src import applications
    except ImportError:
        return None
    path = os.path.join(os.path.dirname(applications.__file__), "applications_test.py")
    if not os.path.isfile(path):
        return None
    with open(path) as f:
        tree = ast.parse(f.read(), path)
    replaced = False
    for node in tree.body:
        if isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == ["MODEL_LIST"]:
            node.value = ast.parse("__twins__", mode="eval").body
            replaced = True
    if not replaced:
        return None
    namespace = {"__name__": "keras_applications_suite", "__file__": path,
                 "__twins__": [(getattr(keras_cnns, name), channels, None) for name, channels in TWINS]}
    exec(compile(tree, path, "exec"), namespace)
    suite = namespace.get("ApplicationsTest")
    if suite is None:
        return None
    for name in [n for n in vars(suite) if n.startswith("test_application_base")]:
        delattr(suite, name)
    return suite


KerasApplicationsSuite = _keras_applications_suite()
if KerasApplicationsSuite is not None:
    # Our twins at full size: He-normal draws are most of the build time, and the suite
    # reads only shapes and the last activation.
    KerasApplicationsSuite = pytest.mark.usefixtures("cheap_init")(KerasApplicationsSuite)


def test_the_suite_runs_our_twins():
    if KerasApplicationsSuite is None:
        pytest.skip("keras/src/applications/applications_test.py (with MODEL_LIST) is not in this Keras wheel")
    names = [n for n in vars(KerasApplicationsSuite) if n.startswith("test_")]
    # Five tests (base left out) for each twin in each format.
    assert len(names) == 5 * 2 * len(TWINS)
    assert "test_application_classifier_activation_vgg16_channels_last" in names
    assert not [n for n in names if n.startswith("test_application_base")]


# --- The predictions layer ------------------------------------------------------------


@pytest.mark.parametrize("name, shape", [("lenet5", (32, 32, 1)), ("resnet20", (16, 16, 3)), ("nin", (39, 39, 3))])
def test_the_last_layer_is_predictions_whose_activation_can_be_removed(name, shape):
    model = keras_cnns.create_model(name, input_shape=shape, num_classes=6)
    last = model.get_layer("predictions")
    assert last is model.layers[-1] and model.output_names == ["predictions"]
    assert last.activation is keras.activations.softmax and last.activation.__name__ == "softmax"
    x = np.random.default_rng(0).normal(size=(2, *shape)).astype("float32")
    probabilities = keras.ops.convert_to_numpy(model(x))
    last.activation = None  # the keras.io Grad-CAM example's way to the logits
    logits = keras.ops.convert_to_numpy(model(x))
    assert not np.allclose(logits.sum(-1), 1.0)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(keras.ops.softmax(logits)), probabilities, atol=1e-6)
    assert logits.dtype == np.float32


def test_predictions_is_a_dense_computed_in_float32():
    model = keras_cnns.create_model("resnet20", input_shape=(16, 16, 3), classifier_activation=None)
    predictions = model.get_layer("predictions")
    assert isinstance(predictions, keras.layers.Dense) and predictions.activation.__name__ == "linear"
    assert isinstance(model.get_layer("head"), ClassifierHead) and model.get_layer("head").predictions is None
    assert predictions.get_weights()[0].shape == (64, 10)  # the kernel, as keras.applications'
    keras.mixed_precision.set_dtype_policy("mixed_float16")
    try:
        mixed = keras_cnns.create_model("resnet20", input_shape=(16, 16, 3))
    finally:
        keras.mixed_precision.set_dtype_policy("float32")
    assert mixed.get_layer("head").compute_dtype == "float16" and mixed.output.dtype == "float32"
    nin = keras_cnns.create_model("nin", input_shape=(39, 39, 3), classifier_activation=None)
    assert isinstance(nin.layers[-1], OutputActivation) and nin.layers[-1].activation.__name__ == "linear"


def test_a_file_saved_before_the_predictions_layer_loads(monkeypatch):
    """tests/fixtures/alexnet_head.keras was saved by commit bf8b7e1, whose models ended
    in a ClassifierHead holding the predictions and whose blocks had no data_format
    (make_alexnet_head.py): it loads as it was saved, channels_last even where the
    global format says otherwise, with the same outputs."""
    reference = np.load(os.path.join(FIXTURES, "alexnet_head.npz"))
    monkeypatch.setattr(keras.config, "image_data_format", lambda: "channels_first")
    model = keras.saving.load_model(os.path.join(FIXTURES, "alexnet_head.keras"), compile=False)
    monkeypatch.undo()
    assert model.layers[-1].name == "head" and model.get_layer("head").num_classes == 4
    assert {layer.data_format for layer in model.layers if hasattr(layer, "data_format")} == {"channels_last"}
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(model(reference["probe"], training=False)), reference["output"], atol=1e-6
    )


def test_its_weights_load_into_the_new_layout(tmp_path):
    """The old file's weights, as a .keras model (``copy_weights``) and as the
    .weights.h5 inside it (``load_weights_file``), fill a model of the new layout, whose
    predictions are a top-level Dense: the outputs are the old model's."""
    import zipfile

    from keras_cnns.models.alexnet import AlexNet
    from keras_cnns.weights import copy_weights
    from keras_cnns.weights.saved import load_weights_file

    reference = np.load(os.path.join(FIXTURES, "alexnet_head.npz"))
    old = keras.saving.load_model(os.path.join(FIXTURES, "alexnet_head.keras"), compile=False)
    convs = ((8, 5, 2, 2, 1, ("lrn", "pool")), (16, 3, 1, 1, 2, ("pool",)))
    for how in ("keras", "h5"):
        model = AlexNet(convs=convs, fc_units=(16,), input_shape=(32, 32, 3), num_classes=4, name="alexnet_fixture")
        assert model.layers[-1].name == "predictions"
        if how == "keras":
            assert copy_weights(old, model) == []
        else:
            with zipfile.ZipFile(os.path.join(FIXTURES, "alexnet_head.keras")) as archive:
                archive.extract("model.weights.h5", tmp_path)
            assert load_weights_file(model, tmp_path / "model.weights.h5", 4) == ([], None)
        np.testing.assert_allclose(
            keras.ops.convert_to_numpy(model(reference["probe"], training=False)), reference["output"], atol=1e-6
        )


def test_a_saved_model_keeps_its_layout(tmp_path):
    model = keras_cnns.create_model("googlenet", input_shape=(96, 96, 3), num_classes=3, aux_logits=True)
    model.save(tmp_path / "g.keras")
    loaded = keras.saving.load_model(tmp_path / "g.keras", compile=False)
    assert loaded.output_names == ["predictions", "aux1", "aux2"]
    x = np.random.default_rng(1).normal(size=(1, 96, 96, 3)).astype("float32")
    for ours, theirs in zip(model(x), loaded(x)):
        np.testing.assert_allclose(keras.ops.convert_to_numpy(ours), keras.ops.convert_to_numpy(theirs), atol=1e-6)


# --- data_format ------------------------------------------------------------------------


def test_keras_applications_weights_serve_both_formats(tmp_path, cheap_init):
    """A keras.applications weights file (the ``weights="imagenet"`` path) and a
    keras.applications model built in channels_first both convert into channels_first
    models holding exactly the channels_last conversion's weights."""
    rng = np.random.default_rng(0)
    ka = keras.applications.MobileNet(weights=None, alpha=0.25, input_shape=(64, 64, 3))
    ka.set_weights([rng.normal(0, 0.1, w.shape).astype("float32") for w in ka.get_weights()])
    path = str(tmp_path / "mobilenet_2_5_128_tf.weights.h5")
    ka.save_weights(path)
    descriptor = keras_cnns.model_info("mobilenet").get_weights("imagenet")
    models = {}
    for data_format, shape in (("channels_last", (64, 64, 3)), ("channels_first", (3, 64, 64))):
        options = dict(alpha=0.25, input_shape=shape, data_format=data_format)
        models[data_format] = model = keras_cnns.create_model("mobilenet", **options)
        descriptor.transfer(path, model, options)
    keras.config.set_image_data_format("channels_first")
    try:
        ka_first = keras.applications.MobileNet(weights=None, alpha=0.25, input_shape=(3, 64, 64))
    finally:
        keras.config.set_image_data_format("channels_last")
    ka_first.set_weights(ka.get_weights())
    models["converted"] = keras_cnns.from_keras_applications(ka_first)
    assert models["converted"].input_shape == (None, 3, 64, 64)
    expected = [keras.ops.convert_to_numpy(w) for w in models["channels_last"].weights]
    for model in (models["channels_first"], models["converted"]):
        for ours, theirs in zip(model.weights, expected):
            np.testing.assert_array_equal(keras.ops.convert_to_numpy(ours), theirs)


def test_channels_first_follows_the_global_format_and_the_argument(tmp_path):
    keras.config.set_image_data_format("channels_first")
    try:
        model = keras_cnns.create_model("resnet20")
        explicit = keras_cnns.create_model("resnet20", data_format="channels_last")
    finally:
        keras.config.set_image_data_format("channels_last")
    assert model.input_shape == (None, 3, 32, 32) and explicit.input_shape == (None, 32, 32, 3)
    assert keras.config.image_data_format() == "channels_last"
    assert model.get_layer("conv2_block1").data_format == "channels_first"
    assert model.get_layer("conv2_block1").conv1.bn.axis in (1, [1])
    model.save(tmp_path / "first.keras")  # saved and loaded under the channels_last default
    loaded = keras.saving.load_model(tmp_path / "first.keras", compile=False)
    assert loaded.input_shape == (None, 3, 32, 32) and loaded.get_layer("conv2_block1").data_format == "channels_first"
    features = keras_cnns.create_model("vgg11", include_top=False, data_format="channels_first", input_shape=(1, 64, 48))
    assert features.output_shape == (None, 512, 2, 1)


@pytest.mark.parametrize("kwargs, message", [
    (dict(data_format="NCHW"), r"Expected `data_format` to be one of \['channels_last', 'channels_first'\]\. "
                               r"Received: data_format='NCHW'"),
    (dict(data_format="channels_first", input_shape=(None, 32, 32)),
     r"The number of input channels must be known\. Received: input_shape=\(None, 32, 32\)"),
    (dict(data_format="channels_first", input_shape=(3, 31, 64)),
     r"at least 32x32 for resnet18\. Received: input_shape=\(3, 31, 64\)"),
])
def test_bad_data_formats_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        keras_cnns.create_model("resnet18", **kwargs)


#: One model of each family, small enough for JAX to compile in seconds: (registered
#: name or family builder, its arguments, channels_last input shape). Aux heads, GoogLeNet's
#: transform_input, grouped convolutions, LRN, zero-padded shortcuts and the flattening
#: heads (whose maps are larger than 1x1 here, so the flatten order matters) all run.
FAMILIES = [
    ("alexnet", dict(fc_units=(16, 16)), (99, 99, 3)),
    ("googlenet", dict(aux_logits=True, transform_input=True), (96, 96, 3)),
    ("bn_inception", {}, (64, 64, 3)),
    ("densenet121", {}, (32, 32, 3)),
    ("inception_resnet_v2", {}, (75, 75, 3)),
    ("inception_v3", dict(width_multiplier=0.25), (75, 75, 3)),
    ("inception_v4", dict(width_multiplier=0.25), (75, 75, 3)),
    ("lenet5", {}, (32, 32, 1)),
    ("mobilenet", dict(alpha=0.25), (32, 32, 3)),
    ("mobilenet_v2", dict(alpha=0.35), (32, 32, 3)),
    ("nin", {}, (39, 39, 3)),
    ("resnet20", {}, (16, 16, 3)),
    ("resnext50_32x4d", {}, (32, 32, 3)),
    ("vgg11_bn", dict(fc_units=(16, 16)), (64, 64, 3)),
]

_COMPARE = r"""
import json, math, sys
import numpy as np
import keras
from keras.src.backend.jax import random

import keras_cnns


def zeros(shape, *args, dtype=None, **kwargs):  # the initial draws: every weight is set below
    return np.zeros(shape, dtype or "float32")


random.normal = random.uniform = random.truncated_normal = zeros
rng = np.random.default_rng(0)
for name, kwargs, shape in json.loads(sys.argv[1]):
    last = keras_cnns.create_model(name, input_shape=shape, classifier_activation=None, **kwargs)
    first = keras_cnns.create_model(name, input_shape=(shape[2], shape[0], shape[1]), classifier_activation=None,
                                    data_format="channels_first", **kwargs)
    for weight in last.weights:  # biases and statistics away from 0 and 1, so a misplaced one shows
        kind, size = weight.path.rpartition("/")[2], tuple(weight.shape)
        if kind in ("bias", "beta", "moving_mean"):
            value = rng.normal(0, 0.1, size)
        elif kind in ("gamma", "moving_variance"):
            value = rng.uniform(0.5, 1.5, size)
        else:  # He-normal kernels
            fan_in = math.prod(size[:2] if kind == "depthwise_kernel" else size[:-1])
            value = rng.normal(0, math.sqrt(2 / fan_in), size)
        weight.assign(value.astype("float32"))
    first.set_weights(last.get_weights())  # the same weights: nothing to transpose
    x = rng.normal(size=(2, *shape)).astype("float32")
    ours = last.predict(x, verbose=0)  # compiled (jit): faster than JAX's op-by-op first call
    theirs = first.predict(np.transpose(x, (0, 3, 1, 2)), verbose=0)
    ours, theirs = (o if isinstance(o, (list, tuple)) else [o] for o in (ours, theirs))
    error = max(float(np.max(np.abs(a - b))) for a, b in zip(ours, theirs))
    scale = max(float(np.max(np.abs(a))) for a in ours)
    print(json.dumps(dict(name=name, backend=keras.backend.backend(), outputs=len(ours), error=error, scale=scale,
                          params=[last.count_params(), first.count_params()])), flush=True)
"""


def test_channels_first_builds_with_the_same_parameters(cheap_init):
    families = {keras_cnns.model_info(name).family for name in keras_cnns.list_models()}
    assert {keras_cnns.model_info(name).family for name, _, _ in FAMILIES} == families  # every family
    for name, kwargs, shape in FAMILIES:
        last = keras_cnns.create_model(name, input_shape=shape, **kwargs)
        first = keras_cnns.create_model(name, input_shape=(shape[2], shape[0], shape[1]), data_format="channels_first",
                                        **kwargs)
        assert first.count_params() == last.count_params(), name
        assert [w.shape for w in first.weights] == [w.shape for w in last.weights], name
        if name in ("alexnet", "lenet5", "resnet20"):  # TensorFlow's CPU runs channels_first too
            first.set_weights(last.get_weights())
            x = np.random.default_rng(0).normal(size=(2, *shape)).astype("float32")
            np.testing.assert_allclose(keras.ops.convert_to_numpy(first(np.transpose(x, (0, 3, 1, 2)))),
                                       keras.ops.convert_to_numpy(last(x)), atol=1e-5)


def test_channels_first_gives_the_channels_last_outputs_on_jax():
    pytest.importorskip("jax")
    env = {**os.environ, "KERAS_BACKEND": "jax", "TF_CPP_MIN_LOG_LEVEL": "3", "JAX_PLATFORMS": "cpu"}
    done = subprocess.run([sys.executable, "-c", _COMPARE, json.dumps(FAMILIES)], capture_output=True, text=True,
                          env=env, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    rows = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert [row["name"] for row in rows] == [name for name, _, _ in FAMILIES]
    for row in rows:
        assert row["backend"] == "jax" and row["params"][0] == row["params"][1], row
        assert row["error"] <= 1e-4 * max(row["scale"], 1.0), row
    assert {row["name"]: row["outputs"] for row in rows}["googlenet"] == 3
