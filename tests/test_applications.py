"""keras.applications equivalence: weight transfer, weights="imagenet", identification.

The references here are keras.applications' models, built by code nobody here wrote:
after ``from_keras_applications`` our models must compute the same outputs.
"""

import inspect
import socket

import keras
import numpy as np
import pytest

import keras_cnns
from keras_cnns.models.convert import declared
from keras_cnns.weights import fetch, keras_applications
from keras_cnns.weights.keras_applications import KerasApplicationsWeights

#: The issue's twelve models, MobileNet at each published width.
MODELS = [
    ("VGG16", "vgg16", {}),
    ("VGG19", "vgg19", {}),
    ("ResNet50", "resnet50", {}),
    ("ResNet101", "resnet101", {}),
    ("ResNet152", "resnet152", {}),
    ("InceptionV3", "inception_v3", {}),
    ("InceptionResNetV2", "inception_resnet_v2", {}),
    ("DenseNet121", "densenet121", {}),
    ("DenseNet169", "densenet169", {}),
    ("DenseNet201", "densenet201", {}),
    *[("MobileNet", "mobilenet", {"alpha": a}) for a in (0.25, 0.5, 0.75, 1.0)],
    *[("MobileNetV2", "mobilenet_v2", {"alpha": a}) for a in (0.35, 0.5, 0.75, 1.0, 1.3, 1.4)],
]
#: A smaller, odd input (odd sizes exercise the strided padding): 224 -> 131, 299 -> 139.
SMALLER = {224: 131, 299: 139}


def _randomize(model, seed=0):
    """Random biases and batch-norm statistics: with Keras' zero biases and unit
    statistics a misplaced bias or batch norm would not change the outputs."""
    rng = np.random.default_rng(seed)
    for weight in model.weights:
        kind = weight.path.rpartition("/")[2]
        if kind in ("bias", "beta", "moving_mean"):
            weight.assign(rng.normal(0, 0.1, weight.shape))
        elif kind in ("gamma", "moving_variance"):
            weight.assign(rng.uniform(0.5, 1.5, weight.shape))
    return model


def _assert_same_outputs(ka_model, model, size):
    x = np.random.default_rng(1).uniform(-1, 1, (2, size, size, 3)).astype("float32")
    expected = keras.ops.convert_to_numpy(ka_model(x, training=False))
    got = keras.ops.convert_to_numpy(model(x, training=False))
    assert got.shape == expected.shape
    assert np.abs(expected).max() > 1e-3  # not trivially zero
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4 * np.abs(expected).max())


def _id(case):
    constructor, _, kwargs = case
    return constructor + "".join(f"-{v}" for v in kwargs.values())


@pytest.mark.parametrize("case", MODELS, ids=map(_id, MODELS))
def test_transfer_at_the_default_size_with_the_classifier(case, cheap_init):  # every weight is overwritten
    constructor, name, kwargs = case
    size = keras_cnns.model_info(name).default_size
    ka_model = getattr(keras.applications, constructor)(weights=None, classifier_activation=None, **kwargs)
    model = keras_cnns.from_keras_applications(_randomize(ka_model))
    assert model.name == name and model.input_shape == (None, size, size, 3)
    assert model.output_shape == (None, 1000)
    _assert_same_outputs(ka_model, model, size)


@pytest.mark.parametrize("case", MODELS, ids=map(_id, MODELS))
def test_transfer_at_a_smaller_size_without_the_classifier(case, cheap_init):
    constructor, name, kwargs = case
    size = SMALLER[keras_cnns.model_info(name).default_size]
    pooling = "max" if len(name) % 2 else "avg"  # both kinds across the models
    ka_model = getattr(keras.applications, constructor)(
        weights=None, include_top=False, pooling=pooling, input_shape=(size, size, 3), **kwargs
    )
    model = keras_cnns.from_keras_applications(_randomize(ka_model))
    assert model.layers[-1].name == f"{pooling}_pool"
    _assert_same_outputs(ka_model, model, size)


def test_transfer_keeps_the_feature_map_and_the_classes():
    ka_model = keras.applications.ResNet50(weights=None, include_top=False, input_shape=(None, None, 3))
    model = keras_cnns.from_keras_applications(_randomize(ka_model))
    assert model.output_shape == (None, None, None, 2048)
    _assert_same_outputs(ka_model, model, 96)
    ka_model = keras.applications.DenseNet121(weights=None, classes=7, input_shape=(96, 96, 3))
    model = keras_cnns.from_keras_applications(_randomize(ka_model))
    assert model.output_shape == (None, 7)
    assert model.get_layer("predictions").activation.__name__ == "softmax"
    _assert_same_outputs(ka_model, model, 96)


def test_the_keras_applications_weights_are_the_issue_list_and_imagenet_loads_them():
    having = [name for name in keras_cnns.list_models() if keras_cnns.model_info(name).keras_application]
    assert having == [
        "densenet121", "densenet169", "densenet201", "inception_resnet_v2", "inception_v3",
        "mobilenet", "mobilenet_v2", "resnet50", "resnet101", "resnet152", "vgg16", "vgg19",
    ]
    for name in having:  # keras.applications' weights are "the best ImageNet weights" of these layouts
        assert isinstance(keras_cnns.model_info(name).get_weights("imagenet"), KerasApplicationsWeights)
    constructors = [w.constructor for _, w in declared(KerasApplicationsWeights)]
    assert sorted(constructors) == sorted({keras_cnns.model_info(n).keras_application for n in having})
    assert all(hasattr(keras.applications, c) for c in constructors) and len(set(constructors)) == 12


@pytest.mark.parametrize(
    "constructor, kwargs, expected",
    [
        ("MobileNet", dict(alpha=0.75, name="renamed"), ("mobilenet", {"alpha": 0.75})),
        ("MobileNetV2", dict(alpha=0.35, name="renamed"), ("mobilenet_v2", {"alpha": 0.35})),
        ("MobileNetV2", dict(alpha=1.3), ("mobilenet_v2", {"alpha": 1.3})),
        ("ResNet101", dict(name="renamed"), ("resnet101", {})),
        ("DenseNet169", dict(name="renamed"), ("densenet169", {})),
    ],
)
def test_models_are_recognized_by_their_layers(constructor, kwargs, expected):
    ka_model = getattr(keras.applications, constructor)(weights=None, input_shape=(96, 96, 3), include_top=False, **kwargs)
    name, _, options = keras_applications.identify(ka_model, declared(KerasApplicationsWeights))
    assert (name, options) == expected


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: keras.applications.Xception(weights=None, input_shape=(96, 96, 3)), "no equivalent.*Received: model 'xception'"),
        (lambda: keras.applications.ResNet50V2(weights=None, input_shape=(96, 96, 3)), "no equivalent.*Received: model 'resnet50v2'"),
        (lambda: keras_cnns.resnet18(input_shape=(96, 96, 3)), "no equivalent.*Received: model 'resnet18'"),
    ],
)
def test_unsupported_models_raise(make, message):
    with pytest.raises(ValueError, match=message):
        keras_cnns.from_keras_applications(make())


def _rules(name):
    return keras_cnns.model_info(name).get_weights("imagenet").rules


def test_a_mismatched_shape_names_the_layers():
    ka_model = keras.applications.ResNet50(weights=None, classes=10, input_shape=(64, 64, 3))
    model = keras_cnns.resnet50(num_classes=9, input_shape=(64, 64, 3))
    with pytest.raises(ValueError, match=r"'predictions' has a kernel of shape \(2048, 10\), keras_cnns layer 'predictions' one of shape \(2048, 9\)"):
        keras_applications.transfer_weights(ka_model, model, _rules(model.name))


def test_a_layer_left_without_weights_is_named():
    ka_model = keras.applications.ResNet50(weights=None, include_top=False, input_shape=(64, 64, 3))
    model = keras_cnns.resnet50(input_shape=(64, 64, 3))
    with pytest.raises(ValueError, match=r"keras_cnns layer 'predictions' receives no weights"):
        keras_applications.transfer_weights(ka_model, model, _rules(model.name))
    ka_model = keras.applications.InceptionV3(weights=None, input_shape=(75, 75, 3))
    model = keras_cnns.inception_v3(aux_logits=True, input_shape=(299, 299, 3))
    with pytest.raises(ValueError, match="94 unnamed convolutions, the keras_cnns model 96"):
        keras_applications.transfer_weights(ka_model, model, _rules(model.name))
    with pytest.raises(ValueError, match="Expected a keras.applications model"):
        keras_cnns.from_keras_applications("resnet50")


# weights="imagenet" ------------------------------------------------------------------


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """An empty Keras cache and a network that answers nothing (as a firewall that
    drops packets would): every connection times out. Records the timeouts asked for."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    timeouts = []

    def no_network(address, timeout=None, *args, **kwargs):
        timeouts.append(timeout)
        raise TimeoutError("timed out (no network in this test)")

    def no_download(*args, **kwargs):
        raise AssertionError("downloaded although the probe failed")

    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(keras.utils, "get_file", no_download)
    return timeouts


def test_imagenet_offline_fails_at_once_naming_the_file_and_where_to_put_it(offline, tmp_path):
    with pytest.raises(OSError) as error:
        keras_cnns.create_model("resnet50", weights="imagenet")
    message = str(error.value)
    cached = tmp_path / "keras" / "models" / "resnet50_weights_tf_dim_ordering_tf_kernels.h5"
    assert f"place it at {cached}" in message
    assert "https://storage.googleapis.com/tensorflow/keras-applications/resnet/resnet50_weights_tf_dim_ordering_tf_kernels.h5" in message
    assert "timed out" in message
    assert offline == [fetch.PROBE_TIMEOUT] and fetch.PROBE_TIMEOUT <= 10  # one bounded try


def _keras_weights_file(path, alpha=0.25, size=128):
    """A keras.applications weight file (legacy HDF5), as released files are."""
    ka_model = _randomize(keras.applications.MobileNet(weights=None, alpha=alpha, include_top=False, input_shape=(size, size, 3)))
    path.parent.mkdir(parents=True, exist_ok=True)
    ka_model.save(path)
    return ka_model


def test_imagenet_uses_the_cached_file_without_the_network(offline, tmp_path):
    ka_model = _keras_weights_file(tmp_path / "keras" / "models" / "mobilenet_2_5_128_tf_no_top.h5")
    model = keras_cnns.mobilenet(alpha=0.25, include_top=False, input_shape=(128, 128, 3), weights="imagenet")
    assert offline == []  # the cache answered
    _assert_same_outputs(ka_model, model, 128)


def test_a_local_keras_applications_file_is_loaded(tmp_path):
    ka_model = _keras_weights_file(tmp_path / "mine.h5", alpha=0.5, size=96)
    model = keras_cnns.create_model("mobilenet", alpha=0.5, include_top=False, input_shape=(96, 96, 3), weights=str(tmp_path / "mine.h5"))
    _assert_same_outputs(ka_model, model, 96)


def test_a_corrupt_cached_file_is_reported(offline, tmp_path):
    cached = tmp_path / "keras" / "models" / "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"half a download")
    with pytest.raises(OSError, match="incomplete or corrupt"):
        keras_cnns.resnet50(include_top=False, weights="imagenet")


@pytest.mark.parametrize(
    "name, kwargs, message",
    [
        ("zfnet", {}, r"zfnet has no 'imagenet' weights; its weights: none.*Received: weights='imagenet'"),
        ("resnet50", dict(input_shape=(224, 224, 1)), r"3 channels.*Received: input_shape=\(224, 224, 1\)"),
        ("vgg16", dict(input_shape=(256, 256, 3)), r"need input_shape \(224, 224, 3\).*Received: input_shape=\(256, 256, 3\)"),
        ("mobilenet", dict(alpha=0.3), r"alpha in \[0.25, 0.5, 0.75, 1.0\]. Received: alpha=0.3"),
        ("mobilenet_v2", dict(alpha=1.2), r"alpha in \[0.35, .*, 1.4\]. Received: alpha=1.2"),
        ("resnet50", dict(weights="/no/such/file.h5"), "No weights file at that path"),
    ],
)
def test_bad_imagenet_requests_raise_before_any_download(offline, name, kwargs, message):
    kwargs = {"weights": "imagenet", **kwargs}
    with pytest.raises(ValueError, match=message):
        keras_cnns.create_model(name, **kwargs)
    assert offline == []


def _keras_weights(name):
    return keras_cnns.model_info(name).get_weights("imagenet")


def test_mobilenet_weights_follow_the_input_size():
    v1, v2 = _keras_weights("mobilenet"), _keras_weights("mobilenet_v2")
    assert v1.file(alpha=0.5, input_shape=(160, 160, 3))[0] == "mobilenet_5_0_160_tf.h5"
    assert v2.file(alpha=1.4, include_top=False, input_shape=(96, 96, 3))[0] == (
        "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.4_96_no_top.h5"
    )
    with pytest.warns(UserWarning, match="trained at 224x224"):
        assert v1.file(alpha=1.0, input_shape=(200, 200, 3))[0] == "mobilenet_1_0_224_tf.h5"


def test_weight_files_are_keras_applications_own():
    """Our table of URLs and MD5s against keras.applications' constants and source."""
    from keras.src.applications import densenet, inception_resnet_v2, inception_v3, mobilenet, mobilenet_v2, resnet, vgg16, vgg19

    def keras_names(stem):
        return stem + "_weights_tf_dim_ordering_tf_kernels.h5", stem + "_weights_tf_dim_ordering_tf_kernels_notop.h5"

    expected = {
        "VGG16": (vgg16, (vgg16.WEIGHTS_PATH, vgg16.WEIGHTS_PATH_NO_TOP)),
        "VGG19": (vgg19, (vgg19.WEIGHTS_PATH, vgg19.WEIGHTS_PATH_NO_TOP)),
        "InceptionV3": (inception_v3, (inception_v3.WEIGHTS_PATH, inception_v3.WEIGHTS_PATH_NO_TOP)),
        "InceptionResNetV2": (
            inception_resnet_v2,
            tuple(inception_resnet_v2.BASE_WEIGHT_URL + f for f in keras_names("inception_resnet_v2")),
        ),
        **{
            f"DenseNet{n}": (densenet, (getattr(densenet, f"DENSENET{n}_WEIGHT_PATH"), getattr(densenet, f"DENSENET{n}_WEIGHT_PATH_NO_TOP")))
            for n in (121, 169, 201)
        },
        **{f"ResNet{n}": (resnet, tuple(resnet.BASE_WEIGHTS_PATH + f for f in keras_names(f"resnet{n}"))) for n in (50, 101, 152)},
    }
    ours = {w.constructor: w for _, w in declared(KerasApplicationsWeights) if w.md5}
    assert set(expected) == set(ours)
    for constructor, (module, urls) in expected.items():
        for include_top, url in zip((True, False), urls):
            _, url_ours, checksum = ours[constructor].file(include_top)
            assert url_ours == url
            assert checksum.startswith("md5:") and checksum[4:] in inspect.getsource(module), (constructor, checksum)
    assert resnet.WEIGHTS_HASHES["resnet101"] == ours["ResNet101"].md5
    assert _keras_weights("mobilenet").file(True)[1] == mobilenet.BASE_WEIGHT_PATH + "mobilenet_1_0_224_tf.h5"
    assert _keras_weights("mobilenet_v2").file(False)[1] == (
        mobilenet_v2.BASE_WEIGHT_PATH + "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5"
    )


def test_the_declared_accuracy_is_keras_applications_table():
    """keras.io/api/applications' "Available models" table (top-1, %)."""
    table = {"VGG16": 71.3, "VGG19": 71.3, "ResNet50": 74.9, "ResNet101": 76.4, "ResNet152": 76.6, "InceptionV3": 77.9,
             "InceptionResNetV2": 80.3, "MobileNet": 70.4, "MobileNetV2": 71.3, "DenseNet121": 75.0, "DenseNet169": 76.2,
             "DenseNet201": 77.3}
    assert {w.constructor: w.top1 for _, w in declared(KerasApplicationsWeights)} == table


def test_keras_3_weight_files_still_load_directly(tmp_path):
    model = keras_cnns.mobilenet(alpha=0.25, input_shape=(64, 64, 3))
    model.save_weights(tmp_path / "mine.weights.h5")
    loaded = keras_cnns.mobilenet(alpha=0.25, input_shape=(64, 64, 3), weights=str(tmp_path / "mine.weights.h5"))
    for a, b in zip(model.weights, loaded.weights):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b))
