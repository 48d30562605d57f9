"""torchvision's models and weights: the converted keras_cnns models compute what
torchvision's compute (a second implementation that nobody here wrote).

torch and torchvision come with the ``torch`` extra, which the README's test command
installs; without them these tests skip.
"""

import os
import re
import sys

import keras
import numpy as np
import pytest

torch = pytest.importorskip("torch", reason='torch is not installed: pip install "keras-cnns[torch]"')
torchvision = pytest.importorskip("torchvision", reason='torchvision is not installed: pip install "keras-cnns[torch]"')

import keras_cnns  # noqa: E402
from keras_cnns.models.convert import declared  # noqa: E402
from keras_cnns.weights import torchvision as convert  # noqa: E402
from keras_cnns.weights.torchvision import TorchvisionWeights  # noqa: E402
from tests.oracles import assert_close as _assert_close  # noqa: E402
from tests.oracles import images as _images  # noqa: E402
from tests.oracles import keras_outputs as _keras  # noqa: E402
from tests.oracles import torch_outputs as _torch  # noqa: E402

#: torchvision model name -> (our variant, its TorchvisionWeights), as the families declare them.
TORCHVISION = {weights.model: (variant, weights) for variant, weights in declared(TorchvisionWeights)}
COVERED = list(TORCHVISION)
#: The smaller size of each comparison: odd, so that any asymmetric ("same") padding at
#: stride 2 or a floor/ceil slip in pooling would show.
SMALL = 99
#: Models whose head flattens the last feature map (its size is fixed with the head).
FLATTENS = [name for name in COVERED if name.startswith(("alexnet", "vgg"))]


def _torchvision_model(name, num_classes=1000):
    """torchvision's ``name`` with random weights under a fixed seed, batch-norm running
    statistics and affine parameters randomized (fresh ones would be 0 / 1), in eval mode."""
    torch.manual_seed(0)
    options = dict(aux_logits=False, init_weights=True) if name == "googlenet" else {}
    tv = torchvision.models.get_model(name, weights=None, num_classes=num_classes, **options)
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for module in tv.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                for tensor, low, high in ((module.running_mean, -0.5, 0.5), (module.running_var, 0.5, 2.0),
                                          (module.weight, 0.5, 1.5), (module.bias, -0.2, 0.2)):
                    tensor.copy_(torch.rand(tensor.shape, generator=generator) * (high - low) + low)
    return tv.eval()


def _pooled_features(tv, name, x):
    """torchvision's globally average-pooled last feature map (what include_top=False,
    pooling="avg" gives)."""
    if name in FLATTENS:
        with torch.no_grad():
            return tv.features(torch.from_numpy(x)).mean(dim=(2, 3)).numpy()
    head = "classifier" if name.startswith("densenet") else "fc"
    setattr(tv, head, torch.nn.Identity())
    return _torch(tv, x)


@pytest.mark.parametrize("name", COVERED)
def test_converted_models_compute_what_torchvision_computes(name, cheap_init):
    tv = _torchvision_model(name)
    params = sum(t.numel() for k, t in tv.state_dict().items() if "num_batches" not in k)
    x, x_keras = _images(224, batch=1)
    small, small_keras = _images(SMALL, seed=1)
    if name in FLATTENS:
        # The head flattens a map of fixed size: one model per input size (torchvision's
        # adaptive pooling before the classifier is the head's flatten_size).
        model = full = keras_cnns.from_torchvision(tv)
        _assert_close(_keras(model, x_keras), _torch(tv, x))
        # The same weights at the smaller size (the converted ones: set_weights skips
        # converting the 100M-weight classifier a second time).
        variant, weights = TORCHVISION[name]
        model = keras_cnns.create_model(variant, input_shape=(SMALL, SMALL, 3), classifier_activation=None,
                                        **weights.defaults)
        model.set_weights(full.get_weights())
        _assert_close(_keras(model, small_keras), _torch(tv, small))
        features = keras.Model(model.input, model.get_layer("head").input)  # the last feature map
        _assert_close(_keras(features, small_keras).mean(axis=(1, 2)), _pooled_features(tv, name, small))
    else:
        model = full = keras_cnns.from_torchvision(tv, input_shape=(None, None, 3))
        _assert_close(_keras(model, x_keras), _torch(tv, x))
        _assert_close(_keras(model, small_keras), _torch(tv, small))
        model = keras_cnns.from_torchvision(tv, include_top=False, pooling="avg", input_shape=(SMALL, SMALL, 3))
        _assert_close(_keras(model, small_keras), _pooled_features(tv, name, small))
    assert model.name == TORCHVISION[name][0]
    assert full.count_params() == params


def test_any_number_of_classes_and_the_state_dict_of_a_file(tmp_path, cheap_init):
    tv = _torchvision_model("resnet18", num_classes=7)
    path = tmp_path / "resnet18.pth"
    torch.save(tv.state_dict(), path)
    model = keras_cnns.from_torchvision_state_dict("resnet18", convert.load_state_dict(path), input_shape=(64, 64, 3))
    assert model.output_shape == (None, 7)
    x, x_keras = _images(64)
    _assert_close(_keras(model, x_keras), _torch(tv, x))
    with pytest.raises(Exception, match="weights_only|Unsupported global"):
        torch.save({"weights": tv.state_dict(), "hook": os.getcwd}, path)  # an arbitrary object
        convert.load_state_dict(path)


@pytest.mark.parametrize("name", ["alexnet", "googlenet"])
def test_a_conversion_serves_both_data_formats(name, cheap_init):
    """The weights do not depend on the format: a channels_first conversion (on JAX and
    PyTorch, or a GPU) holds exactly the channels_last one's, the flattening head's
    reordered Dense included (its Flatten flattens in channels_last order)."""
    tv = _torchvision_model(name)
    last = keras_cnns.from_torchvision(tv, input_shape=(SMALL, SMALL, 3))
    first = keras_cnns.from_torchvision(tv, input_shape=(3, SMALL, SMALL), data_format="channels_first")
    assert first.input_shape == (None, 3, SMALL, SMALL)
    assert [w.path for w in first.weights] == [w.path for w in last.weights]
    for ours, theirs in zip(first.weights, last.weights):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(ours), keras.ops.convert_to_numpy(theirs))


def test_legacy_densenet_names_of_torchvisions_files(cheap_init):
    tv = _torchvision_model("densenet121", num_classes=5)
    # torchvision's densenet files predate its module names: "norm.1" for "norm1".
    legacy = {re.sub(r"(denselayer\d+\.(?:norm|conv))([12])\.", r"\1.\2.", k): v for k, v in tv.state_dict().items()}
    assert "features.denseblock1.denselayer1.norm.1.weight" in legacy
    model = keras_cnns.from_torchvision_state_dict("densenet121", legacy, input_shape=(64, 64, 3))
    x, x_keras = _images(64)
    _assert_close(_keras(model, x_keras), _torch(tv, x))


def test_googlenet_transform_input_is_a_layer():
    tv = torchvision.models.googlenet(weights=None, aux_logits=False, init_weights=True, transform_input=True)
    tv.eval()
    model = keras_cnns.from_torchvision(tv, input_shape=(64, 64, 3))
    assert model.layers[1].name == "transform_input"
    x, x_keras = _images(64)
    _assert_close(_keras(model, x_keras), _torch(tv, x))
    plain = keras_cnns.from_torchvision_state_dict("googlenet", tv.state_dict(), transform_input=False,
                                                   input_shape=(64, 64, 3))
    assert "transform_input" not in [layer.name for layer in plain.layers]
    # torchvision's transform: ImageNet-normalized RGB to [-1, 1].
    pixels = np.array([0.0, 127.5, 255.0], "float32")[:, None].repeat(3, axis=1)
    normalized = (pixels / 255 - np.array([0.485, 0.456, 0.406])) / np.array([0.229, 0.224, 0.225])
    layer = model.get_layer("transform_input")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layer(normalized.astype("float32"))),
                               [[-1.0] * 3, [0.0] * 3, [1.0] * 3], atol=1e-6)


def test_models_that_are_not_covered_are_named():
    with pytest.raises(ValueError, match=r"Unsupported torchvision model: a ResNet .*Received: tv_model=torchvision"):
        keras_cnns.from_torchvision(torchvision.models.wide_resnet50_2(weights=None))
    with pytest.raises(ValueError, match=r"Unsupported torchvision model.*Received: name='mobilenet_v2'"):
        keras_cnns.from_torchvision_state_dict("mobilenet_v2", {})


def test_a_state_dict_of_another_model_names_the_layer(cheap_init):
    state = _torchvision_model("vgg11", num_classes=3).state_dict()
    with pytest.raises(ValueError, match=r"Cannot map torchvision.s features.3 \(bias, weight\) of vgg11_bn"):
        keras_cnns.from_torchvision_state_dict("vgg11_bn", state, input_shape=(32, 32, 3), include_top=False)
    state = _torchvision_model("resnet18", num_classes=3).state_dict()
    with pytest.raises(ValueError, match=r"receives no weights from the state dict of torchvision's resnet34"):
        keras_cnns.from_torchvision_state_dict("resnet34", state, include_top=False, input_shape=(32, 32, 3))
    state["layer1.0.conv1.weight"] = state["layer1.0.conv1.weight"][:, :, :1]
    with pytest.raises(ValueError, match=r"torchvision's layer1.0.conv1.weight has shape \(64, 64, 1, 3\)"):
        keras_cnns.from_torchvision_state_dict("resnet18", state, include_top=False, input_shape=(32, 32, 3))
    with pytest.raises(ValueError, match=r"Cannot map torchvision's conv1 \(weight\) of densenet121"):
        keras_cnns.from_torchvision_state_dict("densenet121", state, input_shape=(32, 32, 3))


def test_the_weight_files_are_torchvisions_defaults():
    for name, (variant, ours) in TORCHVISION.items():
        weights = torchvision.models.get_model_weights(name).DEFAULT
        assert ours.url == weights.url, name
        assert ours.checksum == f"sha256:{weights.url.rsplit('-', 1)[1].split('.')[0]}"  # torch's check_hash prefix
        transforms = weights.transforms()
        assert (transforms.resize_size, transforms.crop_size) == ([ours.resize], [224]), name
        prep = keras_cnns.imagenet.preprocessing(variant, weights="torchvision")
        np.testing.assert_allclose(prep.mean, np.array(transforms.mean) * 255)
        np.testing.assert_allclose(prep.std, np.array(transforms.std) * 255)
        assert prep.crop_pct == 224 / ours.resize and prep.channel_order == "RGB"
        assert ours.top1 == weights.meta["_metrics"]["ImageNet-1K"]["acc@1"], name  # torchvision's own figure
        assert ours.num_classes == len(weights.meta["categories"])
    assert keras_cnns.list_models(pretrained="torchvision") == sorted(
        (variant for variant, _ in TORCHVISION.values()), key=keras_cnns.list_models().index
    )


@pytest.fixture
def torch_home(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    return tmp_path / "hub" / "checkpoints"


def test_weights_torchvision_loads_the_cached_file(torch_home, cheap_init):
    tv = _torchvision_model("googlenet")
    torch_home.mkdir(parents=True)
    torch.save(tv.state_dict(), torch_home / "googlenet-1378be20.pth")
    model = keras_cnns.create_model("googlenet_bn", weights="torchvision")
    assert model.layers[1].name == "transform_input"  # as torchvision's pretrained GoogLeNet
    tv.transform_input = True
    x, x_keras = _images(224)
    _assert_close(_keras(model, x_keras), torch.softmax(torch.from_numpy(_torch(tv, x)), dim=1).numpy())


def test_weights_torchvision_offline_names_the_file_and_the_folder(torch_home):
    with pytest.raises(OSError, match=re.escape(f"place it at {torch_home / 'resnet18-f37072fd.pth'}")):
        keras_cnns.create_model("resnet18", weights="torchvision")


def test_weights_torchvision_errors():
    with pytest.raises(ValueError, match=r"googlenet has no 'torchvision' weights.*with 'torchvision' weights: googlenet_bn. "
                                         r"Received: weights='torchvision'"):
        keras_cnns.create_model("googlenet", weights="torchvision")
    with pytest.raises(ValueError, match=r"resnext101_32x4d has no 'torchvision' weights.*Received: weights='torchvision'"):
        keras_cnns.create_model("resnext101_32x4d", weights="torchvision")
    with pytest.raises(ValueError, match=r"alexnet has no 'torchvision' weights.*alexnet_owt"):  # the paper's
        keras_cnns.preprocess_input("alexnet", np.zeros((1, 8, 8, 3)), weights="torchvision")
    with pytest.raises(ValueError, match=r"resnet50 with stride_in_3x3=True. Received: stride_in_3x3=False"):
        keras_cnns.create_model("resnet50", weights="torchvision", stride_in_3x3=False)
    with pytest.raises(ValueError, match=r"input_shape \(224, 224, 3\).*Received: input_shape=\(160, 160, 3\)"):
        keras_cnns.create_model("vgg16", weights="torchvision", input_shape=(160, 160, 3), flatten_size=None)


def test_without_torch_the_message_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch now raises ImportError
    with pytest.raises(ImportError, match=re.escape('pip install "keras-cnns[torch]"')):
        keras_cnns.create_model("resnet18", weights="torchvision")


def test_predict_and_list_with_torchvisions_weights(torch_home, tmp_path, capsys, cheap_init):
    from PIL import Image

    from keras_cnns.__main__ import main

    tv = _torchvision_model("resnet18")
    torch_home.mkdir(parents=True)
    torch.save(tv.state_dict(), torch_home / "resnet18-f37072fd.pth")
    pixels = np.random.default_rng(3).integers(0, 256, (300, 260, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(tmp_path / "a.png")
    assert main(["predict", "--arch", "resnet18", "--weights", "torchvision", str(tmp_path / "a.png")]) == 0
    lines = capsys.readouterr().out.splitlines()
    # The image as predict prepares it for these weights: resize to 256, crop 224,
    # torchvision's normalization; then torchvision's own probabilities.
    prep = keras_cnns.model_info("resnet18").get_weights("torchvision").preprocessing
    image = keras_cnns.predict.load_image(str(tmp_path / "a.png"), prep, 224)
    probs = torch.softmax(torch.from_numpy(_torch(tv, image.transpose(2, 0, 1)[None])), dim=1).numpy()
    expected = [f"{p:7.2%}  {name} ({wnid})" for wnid, name, p in keras_cnns.decode_predictions(probs)[0]]
    assert [line.strip() for line in lines[1:6]] == [e.strip() for e in expected]
    assert main(["list", "resnet*", "--pretrained", "torchvision"]) == 0
    rows = [row.split() for row in capsys.readouterr().out.splitlines() if not row.startswith(" ")]
    assert [row[0] for row in rows] == ["resnet18", "resnet34", "resnet50", "resnet101", "resnet152"]
    assert rows[0][1:] == ["torchvision", "69.758", "torchvision", "resnet18"]  # tag, top-1, source
    assert main(["list", "resnet*"]) == 0
    rows = {row.split()[0]: row for row in capsys.readouterr().out.splitlines()[1:]}
    assert rows["resnet18"].endswith("  imagenet timm torchvision") and rows["resnet50"].endswith("  imagenet torchvision timm")
    assert rows["resnet20"].endswith("0.04055")  # the CIFAR ResNets: no weights
