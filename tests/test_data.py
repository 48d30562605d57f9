"""keras_cnns.data: the offline digits, tfds specs, class folders with bad files, pipelines."""

import io
import os
import pathlib
import socket
import subprocess
import sys
import warnings

import numpy as np
import pytest
import tensorflow as tf

import keras_cnns
from keras_cnns.data import folder, load_dataset

SMALL = dict(image_size=32, batch_size=8)


@pytest.fixture
def no_network(monkeypatch):
    """Every connection attempt fails at once and is recorded."""
    attempts = []

    def refuse(address, *args, **kwargs):
        attempts.append(address)
        raise TimeoutError("timed out (no network in this test)")

    monkeypatch.setattr(socket, "create_connection", refuse)
    return attempts


def _labels(dataset):
    return np.concatenate([labels.numpy() for _, labels in dataset])


def test_digits_prepares_offline_with_scikit_learns_images(tmp_path, no_network):
    from sklearn.datasets import load_digits

    data = load_dataset("digits", data_dir=str(tmp_path), **SMALL)
    assert no_network == []
    assert (data.train_count, data.validation_count) == (1437, 360)  # 1,797 images, every fifth held out
    assert data.class_names == tuple("0123456789") and data.num_classes == 10
    # Whole passes first: an iterator left part-way (next(iter(...))) keeps filling the
    # in-memory cache in the background, and a pass started meanwhile may see it partial.
    target = load_digits().target
    np.testing.assert_array_equal(np.bincount(_labels(data.validation)), np.bincount(target[::5]))
    assert len(_labels(data.train)) == 1437
    images, labels = next(iter(data.validation))
    assert images.shape == (8, 32, 32, 3) and labels.dtype == tf.int64
    # Grayscale expanded to RGB: before normalization the three channels are equal.
    gray = keras_cnns.model_info("lenet5").preprocessing  # one channel
    assert load_dataset("digits", data_dir=str(tmp_path), preprocessing=gray, image_size=32, batch_size=8).validation.element_spec[0].shape[1:] == (32, 32, 1)
    inception = keras_cnns.model_info("mobilenet").get_weights("imagenet").preprocessing
    raw = next(iter(load_dataset("digits", data_dir=str(tmp_path), preprocessing=inception, image_size=32).validation))[0]
    np.testing.assert_allclose(raw[..., 0], raw[..., 2])  # [-1, 1] scaling is the same for every channel


def test_tfds_specs_read_through_tensorflow_datasets(tmp_path):
    import tensorflow_datasets as tfds

    with tfds.testing.mock_data(num_examples=12, data_dir=str(tmp_path)):
        data = load_dataset("tfds:cifar10", data_dir=str(tmp_path), **SMALL)
        cifar100 = load_dataset("tfds:cifar100", data_dir=str(tmp_path), preset="cifar", **SMALL)
        flowers = load_dataset("tfds:tf_flowers", data_dir=str(tmp_path), **SMALL)
    assert data.num_classes == 10  # cifar10's names come with its files, absent here
    assert cifar100.num_classes == 100 and next(iter(cifar100.train))[0].shape == (8, 32, 32, 3)
    assert (data.train_count, data.validation_count) == (12, 12)  # train and test splits
    images, labels = next(iter(data.train))
    assert images.shape == (8, 32, 32, 3) and int(tf.reduce_max(labels)) < 10
    assert flowers.class_names == ("dandelion", "daisy", "tulips", "sunflowers", "roses")
    assert flowers.validation.element_spec[0].shape == (None, 32, 32, 3)


def test_a_tfds_dataset_with_only_a_train_split_holds_out_a_tenth(tmp_path):
    import tensorflow_datasets as tfds

    class TrainOnlyShapes(tfds.core.GeneratorBasedBuilder):  # registered as "train_only_shapes"
        VERSION = tfds.core.Version("1.0.0")

        def _info(self):
            return tfds.core.DatasetInfo(
                builder=self,
                features=tfds.features.FeaturesDict(
                    {"image": tfds.features.Image(shape=(6, 6, 3)), "label": tfds.features.ClassLabel(names=["a", "b"])}
                ),
                supervised_keys=("image", "label"),
            )

        def _split_generators(self, dl_manager):
            return {"train": self._generate_examples()}

        def _generate_examples(self):
            for i in range(40):
                yield i, {"image": np.full((6, 6, 3), i, np.uint8), "label": i % 2}

    TrainOnlyShapes(data_dir=str(tmp_path)).download_and_prepare()
    data = load_dataset("tfds:train_only_shapes", data_dir=str(tmp_path), **SMALL)
    assert data.class_names == ("a", "b")
    assert (data.train_count, data.validation_count) == (36, 4)
    assert len(_labels(data.train)) == 36 and len(_labels(data.validation)) == 4


def test_a_missing_tfds_dataset_fails_at_once_saying_how_to_get_it(tmp_path, no_network):
    with pytest.raises(ValueError, match=r"tfds:cifar10 is not prepared in .*download=True"):
        load_dataset("tfds:cifar10", data_dir=str(tmp_path), **SMALL)
    with pytest.raises(OSError, match=r"Cannot download tfds:cifar10 .*timed out"):
        load_dataset("tfds:cifar10", data_dir=str(tmp_path), download=True, **SMALL)
    assert len(no_network) == 1  # one probe, no retries
    with pytest.raises(ValueError, match="no dataset 'no_such_set'"):
        load_dataset("tfds:no_such_set", data_dir=str(tmp_path), **SMALL)


def _encode(image, fmt, mode=None):
    from PIL import Image

    picture = Image.fromarray(image)
    if mode:
        picture = picture.convert(mode)
    buffer = io.BytesIO()
    picture.save(buffer, fmt)
    return buffer.getvalue()


def _make_folder(root, bad=True):
    """Three classes of small images in every colour mode and format, plus (``bad``)
    every kind of bad input. Returns the bad paths and their reasons."""
    rng = np.random.default_rng(0)
    image = lambda: rng.integers(0, 256, (20, 24, 3), dtype=np.uint8)  # noqa: E731
    good = {
        "cat": [("a.jpg", "JPEG", None), ("b.png", "PNG", "L"), ("c.png", "PNG", "RGBA"), ("d.JPEG", "JPEG", "CMYK")],
        "dog": [("a.png", "PNG", "P"), ("b.gif", "GIF", None), ("c.bmp", "BMP", None), ("d.jpg", "JPEG", "L")],
        "fox": [("a.jpg", "JPEG", None), ("b.png", "PNG", None), ("c.bmp", "BMP", "L")],
    }
    for name, files in good.items():
        (root / name).mkdir(parents=True)
        for file, fmt, mode in files:
            (root / name / file).write_bytes(_encode(image(), fmt, mode))
    if not bad:
        return {}
    jpeg, png = _encode(image(), "JPEG"), _encode(image(), "PNG")
    broken = {
        "cat/truncated.jpg": (jpeg[: len(jpeg) // 2], "truncated JPEG"),
        "dog/truncated.png": (png[: len(png) - 20], "truncated PNG"),
        "dog/empty.jpg": (b"", "empty file"),
        "fox/notes.txt": (b"class notes, not an image", "not an image"),
        "fox/noise.jpg": (rng.integers(0, 256, 500, dtype=np.uint8).tobytes(), "not an image"),
    }
    for path, (data, _) in broken.items():
        (root / path).write_bytes(data)
    (root / ".DS_Store").write_bytes(b"\0")  # hidden: ignored, not reported
    (root / "cat" / "locked").mkdir()
    (root / "cat" / "locked" / "x.jpg").write_bytes(jpeg)  # nested folders are not classes
    return {str(root / p): reason for p, (_, reason) in broken.items()}


def test_a_folder_with_every_bad_input_trains_and_reports_exactly_the_bad_files(tmp_path, monkeypatch):
    bad = _make_folder(tmp_path / "photos")
    unreadable = str(tmp_path / "photos" / "locked_class")
    os.mkdir(unreadable)
    listdir = os.listdir

    def guarded(path):  # tests run as root, which chmod cannot lock out
        if str(path) == unreadable:
            raise PermissionError(13, "Permission denied")
        return listdir(path)

    monkeypatch.setattr(os, "listdir", guarded)
    with pytest.warns(UserWarning, match="Skipped 6 files and folders") as warning:
        data = load_dataset(f"folder:{tmp_path / 'photos'}", validation_split=0.25, **SMALL)
    message = str(warning[0].message)
    reported = dict(data.skipped)
    assert reported.pop(unreadable).startswith("cannot list folder")
    assert {p: r.split(" (")[0] for p, r in reported.items()} == bad
    assert all(path in message for path in [*bad, unreadable])
    assert data.class_names == ("cat", "dog", "fox")
    assert data.train_count + data.validation_count == 11 and data.validation_count == 3

    model = keras_cnns.resnet18(input_shape=(32, 32, 3), num_classes=3)
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(data.train, validation_data=data.validation, epochs=1, verbose=0, shuffle=False)
    assert np.isfinite(history.history["loss"][0]) and "val_accuracy" in history.history
    assert len(_labels(data.train)) == data.train_count  # every good image, once an epoch


def _undecodable_jpegs(root):
    """A JPEG in each class of ``root`` with the right start and end markers and garbage
    between: it passes the header checks, not the decode. Returns their paths."""
    garbage = np.random.default_rng(1).integers(0, 256, 300, dtype=np.uint8).tobytes()
    paths = [str(root / name / "garbage.jpg") for name in ("cat", "dog", "fox")]
    for path in paths:
        pathlib.Path(path).write_bytes(b"\xff\xd8\xff" + garbage + b"\xff\xd9")
    return paths


def test_a_file_that_does_not_decode_is_skipped_with_the_reason(tmp_path):
    _make_folder(tmp_path, bad=False)
    garbage = _undecodable_jpegs(tmp_path)
    assert folder.check_image(garbage[0]) is None  # the header checks let it through
    with pytest.warns(UserWarning, match="Skipped 3 files and folders") as warning:
        data = load_dataset(f"folder:{tmp_path}", **SMALL)
    reasons = dict(data.skipped)
    assert sorted(reasons) == garbage and all(path in str(warning[0].message) for path in garbage)
    for reason in reasons.values():
        assert reason.startswith("cannot decode (") and len(reason) > len("cannot decode ()")  # TensorFlow's words
        assert "\n" not in reason and "{{" not in reason and "Op:" not in reason and "name:" not in reason
    assert data.train_count + data.validation_count == 11  # the 11 good images, all of them


@pytest.mark.parametrize("channels", [3, 1])
def test_folder_pipelines_know_their_length_and_yield_every_example_once_an_epoch(tmp_path, channels):
    # The files a scan accepts decode for every preprocessing: with one channel too,
    # which libjpeg refuses for the CMYK JPEG and TensorFlow for the GIF and the BMPs.
    _make_folder(tmp_path, bad=False)
    _undecodable_jpegs(tmp_path)
    gray = keras_cnns.model_info("lenet5").preprocessing
    with pytest.warns(UserWarning, match="Skipped 3 files"):
        data = load_dataset(
            f"folder:{tmp_path}", validation_split=0.25, image_size=32, batch_size=3,
            **({"preprocessing": gray} if channels == 1 else {}),
        )
    assert (data.train_count, data.validation_count) == (8, 3)

    def examples(dataset):
        return sum(int(images.shape[0]) for images, _ in dataset)

    cardinality = lambda dataset: int(tf.data.experimental.cardinality(dataset))  # noqa: E731
    assert (cardinality(data.train), examples(data.train)) == (3, 8)  # 3 + 3 + 2
    assert (cardinality(data.validation), examples(data.validation)) == (1, 3)
    assert (cardinality(data.epochs(0, 1)), examples(data.epochs(0, 1))) == (2, 6)  # full batches
    assert (cardinality(data.epochs(1, 3)), examples(data.epochs(1, 3))) == (4, 12)
    whole = data.epochs(2, 3, drop_remainder=False)
    assert (cardinality(whole), examples(whole)) == (3, 8)
    assert data.validation.element_spec[0].shape[1:] == (32, 32, channels)


def test_fit_on_a_folder_never_runs_out_of_data(tmp_path):
    import keras

    _make_folder(tmp_path, bad=False)
    data = load_dataset(f"folder:{tmp_path}", validation_split=0.25, image_size=32, batch_size=3)
    model = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(3)])
    model.compile(optimizer="sgd", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    with warnings.catch_warnings(record=True) as caught:  # Keras warns with warnings.warn
        warnings.simplefilter("always")
        plain = model.fit(data.train, validation_data=data.validation, epochs=2, verbose=0)
        steps = data.train_count // data.batch_size
        resumable = model.fit(data.epochs(0, 2), steps_per_epoch=steps, validation_data=data.validation, epochs=2, verbose=0)
    assert [str(w.message) for w in caught if "ran out of data" in str(w.message)] == []
    assert len(plain.history["val_loss"]) == len(resumable.history["val_loss"]) == 2


def test_a_cmyk_jpeg_decodes_to_pillows_rgb_without_libjpegs_complaint(tmp_path):
    from PIL import Image

    # Blocks of random CMYK, black (K) included: the fast DCT gets some pixels 20 to
    # 200 levels wrong on such a file. Photoshop-style: Pillow writes an Adobe marker.
    cmyk = np.random.default_rng(0).integers(0, 256, (8, 8, 4), dtype=np.uint8).repeat(4, 0).repeat(4, 1)
    path = tmp_path / "cmyk.jpg"
    Image.frombytes("CMYK", (32, 32), cmyk.tobytes()).save(path, "JPEG", quality=95)
    script = (
        "import sys, numpy as np, tensorflow as tf\n"
        "from keras_cnns.data import folder\n"
        "contents = tf.io.read_file(sys.argv[1])\n"
        "np.save(sys.argv[2], folder.decode(contents).numpy())\n"
        "np.save(sys.argv[3], folder.decode(contents, channels=1).numpy())\n"
    )
    rgb_file, gray_file = tmp_path / "rgb.npy", tmp_path / "gray.npy"
    # libjpeg writes its complaint to the process's stderr (file descriptor 2), from C.
    done = subprocess.run([sys.executable, "-c", script, str(path), str(rgb_file), str(gray_file)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Unsupported color conversion" not in done.stderr
    expected = Image.open(path).convert("RGB")
    rgb, gray = np.load(rgb_file), np.load(gray_file)
    assert rgb.shape == (32, 32, 3) and gray.shape == (32, 32, 1)
    np.testing.assert_allclose(rgb, np.asarray(expected), atol=3)
    np.testing.assert_allclose(gray[..., 0], np.asarray(expected.convert("L")), atol=3)


def test_folder_scan_checks_content_not_names(tmp_path):
    _make_folder(tmp_path, bad=False)
    assert folder.check_image(str(tmp_path / "cat" / "d.JPEG")) is None  # CMYK JPEG
    assert folder.check_image(str(tmp_path / "dog" / "b.gif")) is None
    (tmp_path / "x.png").write_bytes((tmp_path / "cat" / "a.jpg").read_bytes())  # a JPEG named .png
    assert folder.check_image(str(tmp_path / "x.png")) is None
    bmp = (tmp_path / "dog" / "c.bmp").read_bytes()
    (tmp_path / "short.bmp").write_bytes(bmp[:-10])
    assert folder.check_image(str(tmp_path / "short.bmp")) == "truncated BMP"


def test_train_and_val_subfolders_and_a_seeded_split(tmp_path):
    _make_folder(tmp_path / "split" / "train", bad=False)
    _make_folder(tmp_path / "split" / "val", bad=False)
    data = load_dataset(f"folder:{tmp_path / 'split'}", **SMALL)
    assert (data.train_count, data.validation_count) == (11, 11)
    _make_folder(tmp_path / "flat", bad=False)
    first, second, other = (folder.scan(str(tmp_path / "flat"), 0.5, seed) for seed in (1, 1, 2))
    assert first == second and first[2] != other[2]


@pytest.mark.parametrize(
    "layout, message",
    [
        ({"cat": 2, "dog": 0}, r"Class folder 'dog' has no readable image"),
        ({"cat": 2}, r"at least 2 class sub-folders. Received: 1 in .* \(cat\)"),
        ({}, r"at least 2 class sub-folders. Received: 0"),
    ],
)
def test_bad_folders_raise_naming_them(tmp_path, layout, message):
    for name, count in layout.items():
        (tmp_path / name).mkdir()
        for i in range(count):
            (tmp_path / name / f"{i}.png").write_bytes(tf.io.encode_png(tf.zeros((4, 4, 3), tf.uint8)).numpy())
    with pytest.raises(ValueError, match=message):
        load_dataset(f"folder:{tmp_path}", **SMALL)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(spec="imagenet"), r"one of \['digits', 'tfds:', 'folder:', 'synthetic'\]. Received: spec='imagenet'"),
        (dict(spec="folder:/no/such/folder"), r"Received: folder:/no/such/folder"),
        (dict(spec="synthetic:classes=0"), r"Received: 'synthetic:classes=0'"),
        (dict(spec="synthetic:colours=3"), r"Received: 'synthetic:colours=3'"),
        (dict(spec="synthetic", batch_size=0), "Received: batch_size=0"),
        (dict(spec="synthetic", preset="autoaugment"), "Received: preset='autoaugment'"),
        (dict(spec="synthetic", label_smoothing=1.0), "Received: label_smoothing=1.0"),
        (dict(spec="synthetic", preprocessing="resnet50"), "Preprocessing. Received: preprocessing='resnet50'"),
        (dict(spec="synthetic", image_size=None), "Received: image_size=None"),
    ],
)
def test_bad_specs_and_options_raise(kwargs, message):
    options = {**SMALL, **kwargs}
    with pytest.raises(ValueError, match=message):
        load_dataset(options.pop("spec"), **options)


def _first_batch(**kwargs):
    data = load_dataset("synthetic:classes=4,examples=40", **{**SMALL, **kwargs})
    images, labels = next(iter(data.train))
    return images.numpy(), labels.numpy()


@pytest.mark.parametrize("preset", ["alexnet", "vgg", "inception", "resnet"])
def test_training_batches_are_reproducible_under_a_seed(preset):
    a, b, c = (_first_batch(preset=preset, seed=s) for s in (3, 3, 4))
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])
    assert a[0].shape == (8, 32, 32, 3) and a[0].dtype == np.float32


def test_each_epoch_draws_new_augmentations():
    data = load_dataset("synthetic:classes=4,examples=16", preset="inception", shuffle_buffer=1, **SMALL)
    first, second = (next(iter(data.train))[0].numpy() for _ in range(2))
    assert not np.array_equal(first, second)


def test_soft_labels_with_smoothing_mixup_and_cutmix():
    images, labels = _first_batch(label_smoothing=0.1, mixup_alpha=0.2, cutmix_alpha=1.0)
    assert labels.shape == (8, 4) and labels.dtype == np.float32
    np.testing.assert_allclose(labels.sum(axis=1), 1.0, rtol=1e-5)
    assert labels.min() >= 0.1 / 4 - 1e-6  # smoothing leaves every class some mass
    data = load_dataset("synthetic:classes=4,examples=40", label_smoothing=0.1, **SMALL)
    assert data.soft_labels and next(iter(data.validation))[1].shape == (4, 4)  # 4 held-out examples


def test_validation_is_the_evaluation_transform_and_normalization():
    data = load_dataset("synthetic:classes=2,examples=20", image_size=32, batch_size=2)  # ImageNet mean and std
    images, _ = next(iter(data.validation))
    raw = tf.random.stateless_uniform((32, 32, 3), seed=[0, 0], maxval=256, dtype=tf.int32)
    expected = keras_cnns.preprocess_input(  # resnet18 trained from scratch: the same preprocessing
        "resnet18", tf.image.resize(tf.cast(raw, tf.float32), (37, 37))[2:34, 2:34]
    )
    np.testing.assert_allclose(images[0], expected, atol=1e-4)
