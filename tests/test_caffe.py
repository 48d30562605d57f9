"""The Caffe format: converted keras_cnns models compute what OpenCV's Caffe importer
computes with the same ``.caffemodel`` (a second implementation that nobody here wrote).

The files are random, written here with the engine's run-time schema in both Caffe
formats (V2 ``layer`` with shaped blobs, V1 ``layers`` with enum types and 4-d blobs),
next to deploy prototxts written here from the Model Zoo's layouts. No network: the
released files' names, URLs and checksums are checked as data.
"""

import math
import re

import keras
import numpy as np
import pytest

import keras_cnns
from keras_cnns.models.googlenet import GOOGLENET_MODULES
from keras_cnns.weights import caffe, fetch
from tests.oracles import assert_close

cv2 = pytest.importorskip("cv2", reason="OpenCV (opencv-python-headless) is the reference Caffe implementation here")

M = caffe.messages()
V1 = {"Convolution": "CONVOLUTION", "InnerProduct": "INNER_PRODUCT", "Pooling": "POOLING", "ReLU": "RELU",
      "LRN": "LRN", "Dropout": "DROPOUT", "Concat": "CONCAT"}
WEIGHTED = ("Convolution", "InnerProduct")


# --- Caffe nets written here ------------------------------------------------------------


def conv(name, bottom, out, k, stride=1, pad=0, group=1, relu=True):
    params = dict(num_output=out, kernel_size=k, stride=stride, pad=pad, group=group)
    return [(name, "Convolution", bottom, name, "convolution_param", params)] + ([relu_(name)] if relu else [])


def relu_(blob):
    return (f"{blob}/relu", "ReLU", blob, blob, None, {})


def fc(name, bottom, out, relu=True):
    return [(name, "InnerProduct", bottom, name, "inner_product_param", dict(num_output=out))] + (
        [relu_(name)] if relu else [])


def pool(name, bottom, k, stride, method="MAX", pad=0):
    return [(name, "Pooling", bottom, name, "pooling_param", dict(pool=method, kernel_size=k, stride=stride, pad=pad))]


def lrn(name, bottom):
    return [(name, "LRN", bottom, name, "lrn_param", dict(local_size=5, alpha=1e-4, beta=0.75))]


def alexnet_net(fc_units, classes):
    """BVLC AlexNet's deploy.prototxt (models/bvlc_alexnet), fully connected widths aside."""
    return [
        *conv("conv1", "data", 96, 11, stride=4), *lrn("norm1", "conv1"), *pool("pool1", "norm1", 3, 2),
        *conv("conv2", "pool1", 256, 5, pad=2, group=2), *lrn("norm2", "conv2"), *pool("pool2", "norm2", 3, 2),
        *conv("conv3", "pool2", 384, 3, pad=1), *conv("conv4", "conv3", 384, 3, pad=1, group=2),
        *conv("conv5", "conv4", 256, 3, pad=1, group=2), *pool("pool5", "conv5", 3, 2),
        *fc("fc6", "pool5", fc_units[0]), *fc("fc7", "fc6", fc_units[1]), *fc("fc8", "fc7", classes, relu=False),
    ]


def googlenet_net(classes, aux):
    """BVLC GoogLeNet's train_val.prototxt (models/bvlc_googlenet) without data and
    losses, its auxiliary classifiers loss1 and loss2 included when ``aux``."""
    net = [
        *conv("conv1/7x7_s2", "data", 64, 7, stride=2, pad=3), *pool("pool1/3x3_s2", "conv1/7x7_s2", 3, 2),
        *lrn("pool1/norm1", "pool1/3x3_s2"), *conv("conv2/3x3_reduce", "pool1/norm1", 64, 1),
        *conv("conv2/3x3", "conv2/3x3_reduce", 192, 3, pad=1), *lrn("conv2/norm2", "conv2/3x3"),
        *pool("pool2/3x3_s2", "conv2/norm2", 3, 2),
    ]
    x, losses = "pool2/3x3_s2", 0
    for row in GOOGLENET_MODULES:
        if isinstance(row, str):
            net += pool(f"{row}/3x3_s2", x, 3, 2)
            x = f"{row}/3x3_s2"
            continue
        n, (w1, w3r, w3, w5r, w5, wp) = row.name, row.widths
        net += [*conv(f"{n}/1x1", x, w1, 1), *conv(f"{n}/3x3_reduce", x, w3r, 1),
                *conv(f"{n}/3x3", f"{n}/3x3_reduce", w3, 3, pad=1), *conv(f"{n}/5x5_reduce", x, w5r, 1),
                *conv(f"{n}/5x5", f"{n}/5x5_reduce", w5, 5, pad=2), *pool(f"{n}/pool", x, 3, 1, pad=1),
                *conv(f"{n}/pool_proj", f"{n}/pool", wp, 1)]
        net.append((f"{n}/output", "Concat", [f"{n}/1x1", f"{n}/3x3", f"{n}/5x5", f"{n}/pool_proj"], f"{n}/output", None, {}))
        x = f"{n}/output"
        if aux and n in ("inception_4a", "inception_4d"):
            losses += 1
            loss = f"loss{losses}"
            net += [*pool(f"{loss}/ave_pool", x, 5, 3, method="AVE"), *conv(f"{loss}/conv", f"{loss}/ave_pool", 128, 1),
                    *fc(f"{loss}/fc", f"{loss}/conv", 1024), *fc(f"{loss}/classifier", f"{loss}/fc", classes, relu=False)]
    return net + [*pool("pool5/7x7_s1", x, 7, 1, method="AVE"), *fc("loss3/classifier", "pool5/7x7_s1", classes, relu=False)]


def nin_net(classes):
    """NIN-Imagenet's train_val.prototxt (gist mavenlin/d802a5849de39225bcc6) without
    data and losses (its tops named as its layers here)."""
    mlp = lambda names, bottom, widths, k, stride, pad: [  # noqa: E731
        *conv(names[0], bottom, widths[0], k, stride=stride, pad=pad),
        *[layer for i, name in enumerate(names[1:]) for layer in conv(name, names[i], widths[i + 1], 1)],
    ]
    return [
        *mlp(("conv1", "cccp1", "cccp2"), "data", (96,) * 3, 11, 4, 0), *pool("pool0", "cccp2", 3, 2),
        *mlp(("conv2", "cccp3", "cccp4"), "pool0", (256,) * 3, 5, 1, 2), *pool("pool2", "cccp4", 3, 2),
        *mlp(("conv3", "cccp5", "cccp6"), "pool2", (384,) * 3, 3, 1, 1), *pool("pool3", "cccp6", 3, 2),
        *mlp(("conv4-1024", "cccp7-1024", "cccp8-1024"), "pool3", (1024, 1024, classes), 3, 1, 1),
        *pool("pool4", "cccp8-1024", 6, 1, method="AVE"),
    ]


def _shapes(net, size):
    """``{Caffe layer name: (weight shape, bias shape)}`` of the weighted layers, by
    Caffe's shape rules (convolutions round down, pooling up)."""
    blobs, found = {"data": (3, size, size)}, {}
    for name, kind, bottom, top, _, p in net:
        c, h, w = blobs[bottom] if isinstance(bottom, str) else (0, 0, 0)
        if kind == "Convolution":
            found[name] = ((p["num_output"], c // p["group"], p["kernel_size"], p["kernel_size"]), (p["num_output"],))
            out = [(s + 2 * p["pad"] - p["kernel_size"]) // p["stride"] + 1 for s in (h, w)]
            blobs[top] = (p["num_output"], *out)
        elif kind == "Pooling":
            out = [math.ceil((s + 2 * p["pad"] - p["kernel_size"]) / p["stride"]) + 1 for s in (h, w)]
            blobs[top] = (c, *[o - 1 if p["pad"] and (o - 1) * p["stride"] >= s + p["pad"] else o for o, s in zip(out, (h, w))])
        elif kind == "InnerProduct":
            found[name] = ((p["num_output"], c * h * w), (p["num_output"],))
            blobs[top] = (p["num_output"], 1, 1)
        elif kind == "Concat":
            parts = [blobs[b] for b in bottom]
            blobs[top] = (sum(part[0] for part in parts), *parts[0][1:])
        else:
            blobs[top] = (c, h, w)
    return found


def _value(key, value):
    return value if key == "pool" or not isinstance(value, str) else f'"{value}"'


def prototxt(net, size, batch=2, v1=False):
    """The deploy prototxt text of ``net`` (V2 ``layer`` or V1 ``layers``)."""
    if v1:
        lines = ['name: "test"', 'input: "data"', *[f"input_dim: {d}" for d in (batch, 3, size, size)]]
    else:
        lines = ['name: "test"', f'layer {{ name: "data" type: "Input" top: "data" '
                 f'input_param {{ shape {{ dim: {batch} dim: 3 dim: {size} dim: {size} }} }} }}']
    for name, kind, bottom, top, param, p in net:
        bottoms = " ".join(f'bottom: "{b}"' for b in ([bottom] if isinstance(bottom, str) else bottom))
        body = " ".join(f"{k}: {_value(k, v)}" for k, v in p.items())
        params = f" {param} {{ {body} }}" if param else ""
        kind = V1[kind] if v1 else f'"{kind}"'
        lines.append(f'{"layers" if v1 else "layer"} {{ name: "{name}" type: {kind} {bottoms} top: "{top}"{params} }}')
    return "\n".join(lines) + "\n"


def _blob(array, legacy=False, double=False):
    blob = M["BlobProto"]()
    if legacy:  # V1: 4-d num, channels, height, width (an inner product is 1 x 1 x out x in)
        blob.num, blob.channels, blob.height, blob.width = (1,) * (4 - array.ndim) + array.shape
    else:
        blob.shape.dim.extend(array.shape)
    if double:
        blob.double_data.append(array.astype("<f8").tobytes())
    else:
        blob.data.append(array.astype("<f4").tobytes())
    return blob


def write_caffemodel(path, net, size, legacy=False, seed=0, reshape=None):
    """A random ``.caffemodel`` of ``net``: He-scaled weights, small biases; ``reshape``
    maps a layer to another shape for its weight."""
    rng = np.random.default_rng(seed)
    model = M["NetParameter"](name="test")
    for name, (weight, bias) in _shapes(net, size).items():
        kind = next(k for n, k, *_ in net if n == name)
        w = rng.standard_normal(weight).astype("f4") * np.sqrt(2.0 / np.prod(weight[1:]))
        b = rng.uniform(-0.1, 0.1, bias).astype("f4")
        if reshape and name in reshape:
            w = w.reshape(reshape[name])
        if legacy:
            layer = model.layers.add(name=name, type=getattr(M["V1LayerParameter"], V1[kind]))
        else:
            layer = model.layer.add(name=name, type=kind)
        layer.blobs.extend([_blob(w, legacy), _blob(b, legacy)])
    path.write_bytes(model.SerializeToString())
    return path


def opencv(net, size, weights_path, tmp_path, x, outputs, v1=False):
    """OpenCV's outputs of ``net`` with the weights of ``weights_path`` for NHWC ``x``."""
    deploy = tmp_path / f"{weights_path.stem}.prototxt"
    deploy.write_text(prototxt(net, size, batch=len(x), v1=v1))
    reference = cv2.dnn.readNetFromCaffe(str(deploy), str(weights_path))
    reference.setInput(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
    return [np.asarray(out).reshape(len(x), -1) for out in reference.forward(outputs)]


ERRORS = {}


def _assert_close(ours, theirs, label):
    """Agreement to 1e-4 relative to the largest output (``tests.oracles``); the error is
    kept for the report."""
    ERRORS[label] = assert_close(ours, theirs, label)


def _images(size, batch=2, seed=0):
    return np.random.default_rng(seed).standard_normal((batch, size, size, 3)).astype("float32") * 50


def _declared(name, tag):
    return keras_cnns.model_info(name).get_weights(tag)


@pytest.fixture(scope="module")
def nin_file(tmp_path_factory):
    """A V1 NIN-Imagenet file: enum types, 4-d blobs. (OpenCV reads no double_data:
    ``test_blobs_of_every_encoding`` covers it.)"""
    path = tmp_path_factory.mktemp("nin") / "nin_imagenet.caffemodel"
    return write_caffemodel(path, nin_net(1000), 224, legacy=True)


@pytest.fixture(scope="module")
def odd_nin_file(tmp_path_factory):
    """``nin_file``'s weights with cccp3's 1x1 kernel stored as 1 x 1 x out x in, to be
    reshaped by its count (OpenCV's importer cannot read it)."""
    path = tmp_path_factory.mktemp("odd") / "nin_imagenet.caffemodel"
    return write_caffemodel(path, nin_net(1000), 224, legacy=True, reshape={"cccp3": (1, 1, 256, 256)})


# --- The outputs ----------------------------------------------------------------------


@pytest.mark.parametrize("legacy", [False, True], ids=["v2", "v1"])
def test_alexnet_computes_what_opencv_computes(legacy, tmp_path, cheap_init):
    net = alexnet_net((64, 64), 1000 if legacy else 10)
    path = write_caffemodel(tmp_path / "bvlc_alexnet.caffemodel", net, 227, legacy=legacy)
    x = _images(227)
    if legacy:  # the file as weights=: 1000 classes, softmax unless told otherwise
        model = keras_cnns.create_model("alexnet", weights=str(path), fc_units=(64, 64), classifier_activation=None)
    else:
        model = keras_cnns.from_caffemodel("alexnet", path, fc_units=(64, 64))
        assert model.output_shape == (None, 10)  # the file's classes
    lrn = model.get_layer("lrn1")
    assert (lrn.size, lrn.alpha, lrn.beta, lrn.k) == (5, 1e-4 / 5, 0.75, 1.0)  # Caffe's LRN
    (theirs,) = opencv(net, 227, path, tmp_path, x, ["fc8"])
    _assert_close(model(x, training=False), theirs, f"alexnet {'v1' if legacy else 'v2'}")


def test_googlenet_and_its_auxiliary_classifiers_compute_what_opencv_computes(tmp_path, cheap_init):
    net = googlenet_net(10, aux=True)
    path = write_caffemodel(tmp_path / "bvlc_googlenet.caffemodel", net, 224)
    x = _images(224)
    theirs = opencv(net, 224, path, tmp_path, x, ["loss3/classifier", "loss1/classifier", "loss2/classifier"])
    model = keras_cnns.from_caffemodel("googlenet", path, aux_logits=True)
    assert model.output_names == ["predictions", "aux1", "aux2"]
    for output, reference, label in zip(model(x, training=False), theirs, ("predictions", "aux1", "aux2")):
        _assert_close(output, reference, f"googlenet {label}")
    # Without auxiliary classifiers the file's loss1/* and loss2/* are left out.
    plain = keras_cnns.from_caffemodel("googlenet", path)
    assert plain.output_names == ["predictions"]
    np.testing.assert_array_equal(plain.get_layer("predictions").get_weights()[0], model.get_layer("predictions").get_weights()[0])
    with pytest.raises(ValueError, match=r"Expected a model with Caffe weights \(alexnet, googlenet, nin\)\. Received: name='resnet50'"):
        keras_cnns.from_caffemodel("resnet50", path)


def test_nin_v1_file_computes_what_opencv_computes(nin_file, tmp_path, cheap_init):
    layers = caffe.read_caffemodel(nin_file)
    assert layers["conv1"][0] == "CONVOLUTION" and layers["cccp1"][1][1].shape == (1, 1, 1, 96)  # a V1 bias
    x = _images(224)
    (theirs,) = opencv(nin_net(1000), 224, nin_file, tmp_path, x, ["pool4"], v1=True)
    model = keras_cnns.create_model("nin", weights=str(nin_file), classifier_activation=None)
    _assert_close(model(x, training=False), theirs, "nin v1")
    # Without the head (cccp8), the same features.
    features = caffe.convert_file("nin", _declared("nin", "caffe"), nin_file, keras_cnns.create_model, include_top=False)
    expected = keras.Model(model.input, model.get_layer("mlpconv4").output)(x, training=False)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(features(x, training=False)), keras.ops.convert_to_numpy(expected), rtol=1e-6)


# --- The files and their errors -------------------------------------------------------


def test_the_weight_files_are_the_model_zoos():
    # BVLC's readmes (BVLC/caffe, models/bvlc_alexnet/readme.md, models/bvlc_googlenet/readme.md)
    # and the NIN-Imagenet gist readme (mavenlin/d802a5849de39225bcc6).
    published = {
        ("alexnet", "bvlc"): ("bvlc_alexnet.caffemodel", "http://dl.caffe.berkeleyvision.org/bvlc_alexnet.caffemodel",
                              "sha1:9116a64c0fbe4459d18f4bb6b56d647b63920377", "unrestricted", 57.1),
        ("googlenet", "bvlc"): ("bvlc_googlenet.caffemodel", "http://dl.caffe.berkeleyvision.org/bvlc_googlenet.caffemodel",
                                "sha1:405fc5acd08a3bb12de8ee5e23a96bec22f08204", "unrestricted", 68.7),
        # The gist's sha1 is its CIFAR-10 model's too (a copy error): none is declared.
        ("nin", "caffe"): ("nin_imagenet.caffemodel", "https://www.dropbox.com/s/0cidxafrb2wuwxw/nin_imagenet.caffemodel?dl=1",
                           None, "non-commercial", 59.36),
    }
    for (name, tag), (file, url, checksum, license, top1) in published.items():
        weights = _declared(name, tag)
        assert (weights.file, weights.url, weights.checksum, weights.license, weights.top1) == (file, url, checksum, license, top1)
        assert weights.FORMAT == "Caffe" and weights.num_classes == 1000
        prep = weights.preprocessing
        assert prep.channel_order == "BGR" and prep.std == (1.0, 1.0, 1.0)
        assert [round(m) for m in prep.mean] == [104, 117, 123]  # BGR, as the model input
        assert prep.crop_pct == keras_cnns.model_info(name).default_size / 256
    assert _declared("googlenet", "bvlc").preprocessing.mean == (104.0, 117.0, 123.0)  # its train_val's mean_value
    assert caffe.CaffeWeights.claims("x/bvlc_alexnet.caffemodel") and not caffe.CaffeWeights.claims("x/a.pth")
    assert [n for n in keras_cnns.list_models(pretrained="bvlc")] == ["alexnet", "googlenet"]


@pytest.fixture
def keras_home(tmp_path, monkeypatch):
    """An empty Keras cache and no network: the probe answers at once."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setattr(fetch, "unreachable", lambda url: "no network in this test")
    return tmp_path / "keras" / "models"


@pytest.mark.parametrize("name, tag", [("alexnet", "bvlc"), ("googlenet", "bvlc"), ("nin", "caffe")])
def test_offline_names_the_file_the_url_and_the_folder(name, tag, keras_home):
    weights = _declared(name, tag)
    with pytest.raises(OSError) as error:
        keras_cnns.create_model(name, weights=tag)
    message = str(error.value)
    assert f"Cannot download the Caffe weights {weights.file} (no network in this test)" in message
    assert f"Download {weights.url} and place it at {keras_home / weights.file}" in message


def test_cached_files_are_used_when_their_checksum_holds(nin_file, odd_nin_file, keras_home, cheap_init):
    keras_home.mkdir(parents=True)
    (keras_home / "bvlc_alexnet.caffemodel").write_bytes(b"not BVLC's file")
    with pytest.raises(OSError, match=r"The cached .*bvlc_alexnet.caffemodel is incomplete or corrupt \(its checksum is not sha1:9116a64c"):
        keras_cnns.create_model("alexnet", weights="bvlc")
    (keras_home / "nin_imagenet.caffemodel").write_bytes(odd_nin_file.read_bytes())  # no checksum declared
    assert caffe.read_caffemodel(odd_nin_file)["cccp3"][1][0].shape == (1, 1, 256, 256)
    model = keras_cnns.create_model("nin", weights="caffe", include_top=False, input_shape=(99, 99, 3))
    kernel = caffe.read_caffemodel(nin_file)["cccp3"][1][0]  # (256, 256, 1, 1)
    np.testing.assert_array_equal(model.get_layer("mlpconv2").cccp[0].conv.kernel.numpy(), kernel.transpose(2, 3, 1, 0))


def test_unknown_tags_and_files_of_another_model(nin_file, tmp_path, cheap_init):
    with pytest.raises(ValueError, match=r"nin has no 'bvlc' weights.*Received: weights='bvlc'"):
        keras_cnns.create_model("nin", weights="bvlc")
    alexnet = _declared("alexnet", "bvlc")
    # NIN's conv1 is AlexNet's (96 11x11/4), its cccp1 is the first layer that does not fit.
    with pytest.raises(ValueError, match=r"Cannot map Caffe layer 'cccp1' \(CONVOLUTION, blobs \(96, 96, 1, 1\), "
                                         r"\(1, 1, 1, 96\)\) to a keras_cnns layer of alexnet: is this file Caffe bvlc_alexnet\?"):
        caffe.convert_file("alexnet", alexnet, nin_file, keras_cnns.create_model, fc_units=(64, 64))
    path = write_caffemodel(tmp_path / "a.caffemodel", alexnet_net((64, 64), 1000), 227)
    with pytest.raises(ValueError, match=re.escape("Caffe layer 'conv2' does not fit: its weight has shape (256, 48, 5, 5), "
                                                   "the keras_cnns layer needs (256, 96, 5, 5)")):
        keras_cnns.create_model("nin", weights=str(path), include_top=False, input_shape=(64, 64, 3))
    # A file without a layer the model has.
    net = [layer for layer in alexnet_net((64, 64), 10) if not layer[0].startswith(("fc7", "fc8"))]
    path = write_caffemodel(tmp_path / "b.caffemodel", net + fc("fc8", "fc6", 10, relu=False), 227)
    with pytest.raises(ValueError, match=r"keras_cnns layer 'head/fc2' receives no weights from the Caffe file"):
        caffe.convert_file("alexnet", alexnet, path, keras_cnns.create_model, fc_units=(64, 64))
    (tmp_path / "c.caffemodel").write_bytes(b"\xff" * 16)
    with pytest.raises(ValueError, match=r"Expected a Caffe model \(NetParameter\) file.*Received: path="):
        caffe.read_caffemodel(tmp_path / "c.caffemodel")


def test_blobs_of_every_encoding():
    values = np.array([[1.5, -2.0, 0.25]], "float32")
    blob = _blob(values)
    assert caffe.blob_array(blob).shape == (1, 3)
    legacy = caffe.blob_array(M["BlobProto"].FromString(_blob(values, legacy=True).SerializeToString()))
    assert legacy.shape == (1, 1, 1, 3)
    doubles = caffe.blob_array(M["BlobProto"].FromString(_blob(values, double=True).SerializeToString()))
    np.testing.assert_array_equal(doubles, values)
    # Floats written unpacked (one fixed32 each: field 5, wire type 5), as protobuf allows.
    unpacked = b"".join(b"\x2d" + v.tobytes() for v in values.ravel().astype("<f4")) + b"\x3a\x02\x08\x03"  # shape {dim: 3}
    np.testing.assert_array_equal(caffe.blob_array(M["BlobProto"].FromString(unpacked)), values.ravel())
    net = M["NetParameter"]()
    for _ in range(2):
        net.layer.add(name="conv", type="Convolution").blobs.append(blob)
    with pytest.raises(ValueError, match=r"holds blobs under one name twice. Received: layer name 'conv'"):
        caffe.parse(net.SerializeToString())
