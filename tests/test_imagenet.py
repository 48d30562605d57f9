"""preprocess_input and decode_predictions against keras.applications; the predict command."""

import re

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_cnns
from keras_cnns import predict
from keras_cnns.__main__ import main
from keras_cnns.imagenet import imagenet_classes

#: Each model with ImageNet weights and the keras.applications preprocessing its weights need.
KERAS_PREPROCESS = {
    "vgg16": keras.applications.vgg16.preprocess_input,
    "vgg19": keras.applications.vgg19.preprocess_input,
    "resnet50": keras.applications.resnet.preprocess_input,
    "resnet101": keras.applications.resnet.preprocess_input,
    "resnet152": keras.applications.resnet.preprocess_input,
    "inception_v3": keras.applications.inception_v3.preprocess_input,
    "inception_resnet_v2": keras.applications.inception_resnet_v2.preprocess_input,
    "densenet121": keras.applications.densenet.preprocess_input,
    "densenet169": keras.applications.densenet.preprocess_input,
    "densenet201": keras.applications.densenet.preprocess_input,
    "mobilenet": keras.applications.mobilenet.preprocess_input,
    "mobilenet_v2": keras.applications.mobilenet_v2.preprocess_input,
}


def test_every_keras_applications_model_has_a_reference_preprocessing():
    having = [name for name in keras_cnns.list_models() if keras_cnns.model_info(name).keras_application]
    assert sorted(KERAS_PREPROCESS) == sorted(having)


@pytest.mark.parametrize("name", sorted(KERAS_PREPROCESS))
def test_preprocess_input_is_what_the_weights_were_trained_with(name):
    images = np.random.default_rng(0).uniform(0, 255, (2, 5, 7, 3)).astype("float32")
    original = images.copy()
    expected = KERAS_PREPROCESS[name](images.copy())  # keras.applications modifies its input
    got = keras_cnns.preprocess_input(name, images, weights="imagenet")
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-4)
    np.testing.assert_array_equal(images, original)  # ours does not
    tensor = keras_cnns.preprocess_input(name, tf.constant(images), weights="imagenet")
    assert isinstance(tensor, tf.Tensor)
    np.testing.assert_allclose(tensor.numpy(), expected, rtol=1e-5, atol=1e-4)


def test_preprocess_input_checks_the_channels():
    with pytest.raises(ValueError, match=r"3 channels.*Received: images.shape=\(2, 8, 8, 1\)"):
        keras_cnns.preprocess_input("resnet50", np.zeros((2, 8, 8, 1)))
    gray = keras_cnns.preprocess_input("lenet5", np.full((1, 32, 32, 1), 0.1307 * 255))
    np.testing.assert_allclose(gray, 0.0, atol=1e-5)  # MNIST mean -> 0
    with pytest.raises(ValueError, match="Unknown model name"):
        keras_cnns.preprocess_input("resnet5", np.zeros((1, 8, 8, 3)))


def test_the_shipped_class_list_is_ilsvrc_2012():
    classes = imagenet_classes()
    wnids = [wnid for wnid, _ in classes]
    assert len(classes) == 1000 and len(set(wnids)) == 1000
    assert wnids == sorted(wnids)  # ILSVRC-2012 class ids follow the sorted WordNet ids
    # Spot checks against keras.applications' imagenet_class_index.json.
    assert classes[0] == ("n01440764", "tench")
    assert classes[207] == ("n02099601", "golden_retriever")
    assert classes[281] == ("n02123045", "tabby")
    assert classes[999] == ("n15075141", "toilet_tissue")
    assert classes[134][1] == classes[517][1] == "crane"  # the bird and the machine


def test_decode_predictions_returns_the_top_classes_in_order():
    preds = np.full((2, 1000), 1e-4, "float32")
    preds[0, [281, 207, 1]] = [0.5, 0.3, 0.1]
    preds[1, 999] = 0.9
    decoded = keras_cnns.decode_predictions(preds, top=3)
    assert [[c[:2] for c in row] for row in decoded] == [
        [("n02123045", "tabby"), ("n02099601", "golden_retriever"), ("n01443537", "goldfish")],
        [("n15075141", "toilet_tissue"), ("n01440764", "tench"), ("n01443537", "goldfish")],
    ]
    assert decoded[0][0][2] == pytest.approx(0.5)
    assert len(keras_cnns.decode_predictions(tf.constant(preds))[1]) == 5


@pytest.mark.parametrize(
    "preds, top, message",
    [
        (np.zeros((2, 10)), 5, r"\(samples, 1000\). Received: preds.shape=\(2, 10\)"),
        (np.zeros(1000), 5, r"Received: preds.shape=\(1000,\)"),
        (np.zeros((1, 1000)), 0, "Received: top=0"),
    ],
)
def test_decode_predictions_rejects_bad_input(preds, top, message):
    with pytest.raises(ValueError, match=message):
        keras_cnns.decode_predictions(preds, top=top)


# load_image and the predict command ----------------------------------------------------


def _write_images(folder):
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (90, 140, 3), dtype="uint8")
    jpeg = tf.io.encode_jpeg(image).numpy()
    files = {
        "a.png": tf.io.encode_png(image).numpy(),
        "b.jpg": jpeg,
        "gray.png": tf.io.encode_png(image[..., :1]).numpy(),
        "truncated.jpg": jpeg[: len(jpeg) // 2],
        "notes.txt": b"not an image",
        "empty.png": b"",
    }
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return image


def _imagenet(name):
    """The preprocessing of ``name``'s keras.applications weights."""
    return keras_cnns.model_info(name).get_weights("imagenet").preprocessing


def test_load_image_resizes_the_shorter_side_and_center_crops(tmp_path):
    image = _write_images(tmp_path)
    x = predict.load_image(str(tmp_path / "a.png"), _imagenet("mobilenet"), 64)
    assert x.shape == (64, 64, 3) and x.dtype == np.float32
    # 90x140 -> shorter side 64 / 0.875 = 73 -> 73x114 -> the central 64x64.
    resized = tf.image.resize(image.astype("float32"), (73, 114), antialias=True).numpy()
    np.testing.assert_allclose(x, resized[4:68, 25:89] / 127.5 - 1, atol=1e-5)
    assert predict.load_image(str(tmp_path / "gray.png"), _imagenet("resnet50"), 32).shape == (32, 32, 3)
    # The weights' own interpolation: timm's Inception-v4 weights are evaluated bicubic.
    bicubic = keras_cnns.model_info("inception_v4").get_weights("timm").preprocessing
    assert bicubic.interpolation == "bicubic"
    x = predict.load_image(str(tmp_path / "a.png"), bicubic, 64)
    resized = tf.image.resize(image.astype("float32"), (73, 114), method="bicubic", antialias=True).numpy()
    np.testing.assert_allclose(x, np.clip(resized[4:68, 25:89], 0, 255) / 127.5 - 1, atol=1e-5)  # bicubic overshoots


@pytest.mark.parametrize(
    "name, message",
    [
        ("missing.png", "missing.png: no such file"),
        ("truncated.jpg", "truncated.jpg: not a readable JPEG, PNG, GIF, BMP or WebP image"),
        ("notes.txt", "notes.txt: not a readable .* image .*Unknown image file format"),
        ("empty.png", "empty.png: not a readable .* image"),
    ],
)
def test_load_image_errors_name_the_file(tmp_path, name, message):
    _write_images(tmp_path)
    with pytest.raises(predict.ImageError, match=message):
        predict.load_image(str(tmp_path / name), _imagenet("resnet50"), 224)


def _tiny_weights(path):
    """MobileNet at width 0.25 with random batch-norm statistics, saved as .weights.h5."""
    model = keras_cnns.mobilenet(alpha=0.25, input_shape=(96, 96, 3))
    rng = np.random.default_rng(0)
    for w in model.weights:
        if w.path.endswith(("moving_mean", "beta", "bias")):
            w.assign(rng.normal(0, 0.5, w.shape))
    model.save_weights(path)
    return model


def test_predict_prints_the_top_5_and_reports_bad_files(tmp_path, capsys):
    _write_images(tmp_path)
    model = _tiny_weights(tmp_path / "tiny.weights.h5")
    files = [str(tmp_path / n) for n in ("a.png", "truncated.jpg", "notes.txt", "missing.png", "b.jpg")]
    status = main(["predict", "--arch", "mobilenet", "--alpha", "0.25", "--image-size", "96",
                   "--weights", str(tmp_path / "tiny.weights.h5"), *files])
    out, err = capsys.readouterr()
    assert status == 1  # some files failed
    lines = out.splitlines()
    assert lines[0] == files[0] and lines[6] == files[4] and len(lines) == 12
    # A keras_cnns weights file: the preprocessing of a model trained from scratch (train.py's).
    probs = keras.ops.convert_to_numpy(model(predict.load_image(files[0], keras_cnns.model_info("mobilenet").preprocessing, 96)[None]))
    expected = [f"{p:7.2%}  {name} ({wnid})" for wnid, name, p in keras_cnns.decode_predictions(probs)[0]]
    assert [line.strip() for line in lines[1:6]] == [e.strip() for e in expected]
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 3
    assert "truncated.jpg: not a readable" in errors[0] and "notes.txt" in errors[1] and "missing.png: no such file" in errors[2]
    assert err.splitlines()[0] == "mobilenet: 27 batch norms folded into their convolutions (--no-fold keeps them)"
    # --no-fold: the batch norms as they are, the same probabilities.
    status = main(["predict", "--arch", "mobilenet", "--alpha", "0.25", "--image-size", "96", "--no-fold",
                   "--weights", str(tmp_path / "tiny.weights.h5"), files[0], files[4]])
    out, err = capsys.readouterr()
    assert status == 0 and err == "" and out.splitlines() == lines


def test_predict_with_class_names_of_your_own(tmp_path, capsys):
    _write_images(tmp_path)
    model = keras_cnns.lenet5()
    model.save_weights(tmp_path / "lenet.weights.h5")
    (tmp_path / "digits.txt").write_text("\n".join(f"digit {i}" for i in range(10)))
    status = main(["predict", "--arch", "lenet5", "--num-classes", "10", "--labels", str(tmp_path / "digits.txt"),
                   "--top", "3", "--weights", str(tmp_path / "lenet.weights.h5"), str(tmp_path / "gray.png")])
    out, _ = capsys.readouterr()
    assert status == 0
    assert len(out.splitlines()) == 4 and all("digit " in line for line in out.splitlines()[1:])


@pytest.mark.parametrize(
    "args, message",
    [
        (["--arch", "resnet5", "--weights", "imagenet"], "--arch: Unknown model name"),
        (["--arch", "resnet50", "--weights", "nowhere.weights.h5"], "--weights: no such file"),
        (["--arch", "zfnet", "--weights", "imagenet"], r"zfnet has no 'imagenet' weights"),
        (["--arch", "resnet50", "--weights", "imagenet", "--top", "0"], "--top must be a positive int"),
    ],
)
def test_predict_rejects_bad_options(tmp_path, capsys, args, message):
    _write_images(tmp_path)
    assert main(["predict", *args, str(tmp_path / "a.png")]) == 2
    err = capsys.readouterr().err
    assert any(line.startswith("error:") for line in err.splitlines())
    assert re.search(message, err)
