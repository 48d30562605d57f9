"""Training data: one spec string to train and validation ``tf.data`` pipelines.

>>> from keras_cnns.data import load_dataset
>>> data = load_dataset("synthetic:classes=3,examples=12", image_size=32, batch_size=4)
>>> data.num_classes, data.train_count, data.validation_count
(3, 11, 1)
>>> images, labels = next(iter(data.train))
>>> tuple(images.shape), images.dtype.name, labels.dtype.name
((4, 32, 32, 3), 'float32', 'int64')

Specs:

- ``digits`` (the default, offline): scikit-learn's handwritten digits through the
  ``sklearn_digits`` tfds builder (``keras_cnns.data.digits``): 1,437 training and 360
  validation images, 10 classes. Grayscale, expanded to the preprocessing's channels.
- ``tfds:NAME`` (``tfds:cifar10``, ``tfds:imagenette/160px``, ``tfds:imagenet2012``):
  tensorflow-datasets in ``data_dir``. Nothing is downloaded unless ``download=True``;
  a dataset that is not there fails at once saying how to get it.
- ``folder:PATH``: class sub-folders (``keras_cnns.data.folder``). The scan decodes
  every file once: each file it accepts decodes, the others (unreadable, not an image,
  truncated, undecodable) are listed with the reason in ``Data.skipped`` and reported
  once; none is dropped silently during training.
- ``synthetic[:classes=10,examples=256]``: random images (a tenth held out for
  validation), for benchmarks and tests.

Each pipeline decodes and augments in parallel on the host (``num_parallel_calls``),
caches in memory what fits, batches and prefetches. Every pipeline knows its length
(``tf.data.experimental.cardinality``: ``Data.train``, each epoch of ``Data.epochs`` and
``Data.validation``), so Keras' ``fit`` and ``evaluate`` count their steps from the
start and never warn that the input ran out of data. Training examples get the preset's
augmentation (``keras_cnns.data.augment``) then the normalization of a
``Preprocessing`` record (``keras_cnns.weights.Preprocessing``: channels, mean, std,
channel order, evaluation crop); validation examples the evaluation resize and center
crop then the same normalization. Everything random follows ``seed``. The data package
knows no model: callers pass the preprocessing (``model_info(name).preprocessing`` for a
model trained from scratch, a weights descriptor's for pretrained weights).
"""

import dataclasses
import os
import warnings

import tensorflow as tf

from keras_cnns.data import augment
from keras_cnns.weights.fetch import unreachable
from keras_cnns.weights.preprocessing import IMAGENET_RGB, Preprocessing

#: Cache in memory when the (decoded or encoded) data is at most this many bytes.
CACHE_LIMIT = 2 << 30
PREFIXES = ("digits", "tfds:", "folder:", "synthetic")
#: Reached before a tensorflow-datasets download, so that offline fails at once.
TFDS_PROBE = "https://storage.googleapis.com/tfds-data/"


@dataclasses.dataclass
class Data:
    """What ``load_dataset`` returns.

    Attributes:
        train: batches of ``(images, labels)``, shuffled and augmented.
        validation: batches of ``(images, labels)``, in order, not augmented.
        class_names: tuple of class names, in label order.
        train_count, validation_count: examples in each split, each yielded once an
            epoch (``train`` and ``validation`` know their length in batches).
        skipped: ``(path, reason)`` of every file and folder left out by the scan
            (``folder:`` only); every other file decodes.
        soft_labels: labels are float vectors (label smoothing, MixUp, CutMix) rather
            than int class indices: train with categorical, not sparse, cross-entropy.
        spec: the dataset spec.
        batch_size: examples per batch.
    """

    train: tf.data.Dataset
    validation: tf.data.Dataset
    class_names: tuple
    train_count: int
    validation_count: int
    skipped: tuple = ()
    soft_labels: bool = False
    spec: str = ""
    batch_size: int = 0
    _epochs: callable = dataclasses.field(default=None, repr=False)

    @property
    def num_classes(self):
        return len(self.class_names)

    def epochs(self, start, stop, drop_remainder=True):
        """The training batches of epochs ``start`` to ``stop - 1``, one after the other.

        Unlike ``train``, whose shuffling and augmentation change each time it is
        iterated, an epoch here is a function of ``(seed, epoch index)``: a run resumed
        at epoch ``start`` sees the batches an uninterrupted run would. With
        ``drop_remainder`` (the default, as timm's and torchvision's training loaders)
        every epoch has ``train_count // batch_size`` full batches. The dataset knows
        its length (``cardinality``): the batches of all its epochs.

        >>> import keras
        >>> keras.utils.set_random_seed(0)  # the global seed does not change them
        >>> data = load_dataset("synthetic:classes=2,examples=20", image_size=32, batch_size=4)
        >>> first = [labels.numpy().tolist() for _, labels in data.epochs(0, 2)]
        >>> len(first), first[4:] == [labels.numpy().tolist() for _, labels in data.epochs(1, 2)]
        (8, True)
        >>> int(data.epochs(0, 2).cardinality()), int(data.epochs(0, 2, drop_remainder=False).cardinality())
        (8, 10)
        """
        return self._epochs(start, stop, drop_remainder)


@dataclasses.dataclass
class _Source:
    """Unbatched ``(image, label)`` datasets; ``decode`` turns an element's image into uint8 HWC."""

    train: tf.data.Dataset
    validation: tf.data.Dataset
    class_names: tuple
    train_count: int
    validation_count: int
    decode: callable = None
    bytes_per_example: float = 0.0
    skipped: tuple = ()


def _options(text, spec, allowed):
    options = {}
    for item in filter(None, text.split(",")):
        key, sep, value = item.partition("=")
        if not sep or key not in allowed or not value.isdigit() or int(value) < 1:
            raise ValueError(
                f"Expected options {', '.join(f'{k}=<positive int>' for k in allowed)} after "
                f"'synthetic:'. Received: {spec!r}"
            )
        options[key] = int(value)
    return options


def _synthetic(spec, size, channels, seed):
    options = {"classes": 10, "examples": 256, **_options(spec.partition(":")[2], spec, ("classes", "examples"))}
    classes, count = options["classes"], options["examples"]
    held = max(1, count // 10) if count > 1 else 0

    def make(offset, n):
        def example(i):
            index = tf.cast(i + offset, tf.int64)
            pixels = tf.random.stateless_uniform((size, size, channels), seed=[seed, index], maxval=256, dtype=tf.int32)
            return tf.cast(pixels, tf.uint8), index % classes

        return tf.data.Dataset.range(n).map(example)

    return _Source(
        make(held, count - held), make(0, held), tuple(str(i) for i in range(classes)), count - held, held,
        bytes_per_example=size * size * channels,
    )


def _tfds(name, data_dir, download):
    import tensorflow_datasets as tfds

    import keras_cnns.data.digits  # noqa: F401  (registers sklearn_digits)

    try:
        builder = tfds.builder(name, data_dir=data_dir)
    except Exception as e:  # DatasetNotFoundError and friends
        raise ValueError(f"tensorflow-datasets has no dataset {name!r}: {e}. Received: tfds:{name}") from None
    if download and not tf.io.gfile.exists(builder.data_dir):
        reason = name != "sklearn_digits" and unreachable(TFDS_PROBE)
        if reason:  # tensorflow-datasets would retry for minutes
            raise OSError(
                f"Cannot download tfds:{name} ({reason}). Prepare it on a machine with "
                f"internet access (`tfds build {name} --data_dir DIR`) and pass that "
                f"folder as data_dir. Received: tfds:{name}"
            )
        builder.download_and_prepare(download_config=tfds.download.DownloadConfig(try_download_gcs=False))
    splits = list(builder.info.splits) or ["train", "test"]  # not prepared (or mocked): the usual names
    if "train" not in splits:
        raise ValueError(f"tfds:{name} has no 'train' split. Received: splits {splits}")
    validation = next((s for s in ("validation", "test") if s in splits), None)
    split = ["train", validation] if validation else ["train[:90%]", "train[90%:]"]
    image_key, label_key = builder.info.supervised_keys or ("image", "label")
    try:
        train, val = builder.as_dataset(split=split, as_supervised=True)
    except AssertionError:  # tfds: "could not find data in ..."
        where = data_dir or os.environ.get("TFDS_DATA_DIR") or "~/tensorflow_datasets"
        raise ValueError(
            f"tfds:{name} is not prepared in {where}. Download it with download=True "
            f"(train.py --download), or prepare it elsewhere with `tfds build {name} "
            f"--data_dir {where}` and copy it here. Received: tfds:{name}"
        ) from None
    names = tuple(builder.info.features[label_key].names)
    counts = [int(tf.data.experimental.cardinality(ds)) for ds in (train, val)]
    if min(counts) < 0:
        counts = [builder.info.splits[s].num_examples for s in split]
    shape = builder.info.features[image_key].shape
    per_example = float(tf.reduce_prod(shape)) if None not in shape else 0.0
    return _Source(train, val, names, counts[0], counts[1], bytes_per_example=per_example)


def _folder(root, validation_split, seed, channels):
    from keras_cnns.data import folder

    names, (train_paths, train_labels), (val_paths, val_labels), skipped = folder.scan(root, validation_split, seed)
    if skipped:
        listing = "\n".join(f"  {path}: {reason}" for path, reason in skipped)
        warnings.warn(f"Skipped {len(skipped)} files and folders in {root}:\n{listing}", stacklevel=3)

    def decode(path):  # the scan's decoder: every path here decodes
        return folder.decode(tf.io.read_file(path), channels)

    sizes = [os.path.getsize(p) for p in train_paths + val_paths]
    return _Source(
        tf.data.Dataset.from_tensor_slices((train_paths, tf.constant(train_labels, tf.int64))),
        tf.data.Dataset.from_tensor_slices((val_paths, tf.constant(val_labels, tf.int64))),
        tuple(names), len(train_paths), len(val_paths), decode=decode,
        bytes_per_example=sum(sizes) / max(1, len(sizes)), skipped=tuple(skipped),
    )


def _channels(image, channels):
    """uint8 image with ``channels`` channels (grayscale expanded, alpha dropped)."""
    have = image.shape[-1]
    if have == channels:
        return image
    if channels == 3:
        return tf.image.grayscale_to_rgb(image) if have == 1 else image[..., :3]
    return tf.cast(tf.image.rgb_to_grayscale(image[..., :3]), tf.uint8)


def load_dataset(
    spec="digits",
    *,
    image_size,
    preprocessing=IMAGENET_RGB,
    batch_size=32,
    preset="none",
    randaugment=None,
    random_erasing=0.0,
    mixup_alpha=0.0,
    cutmix_alpha=0.0,
    label_smoothing=0.0,
    validation_split=0.1,
    seed=0,
    data_dir=None,
    download=False,
    cache="auto",
    shuffle_buffer=10_000,
):
    """Train and validation pipelines for a dataset spec, prepared as ``preprocessing`` says.

    Args:
        spec: ``"digits"``, ``"tfds:NAME"``, ``"folder:PATH"`` or ``"synthetic[:...]"``.
        image_size: square training and evaluation size.
        preprocessing: a ``keras_cnns.weights.Preprocessing``: the images' channels,
            evaluation crop ratio and normalization. Defaults to ``IMAGENET_RGB`` (RGB,
            ImageNet mean and std); a model trained from scratch takes
            ``model_info(name).preprocessing``, pretrained weights their descriptor's.
        batch_size: examples per batch.
        preset: augmentation, one of ``augment.PRESETS`` ("none" by default).
        randaugment: None or ``(num_ops, magnitude)``.
        random_erasing: probability of erasing a random rectangle.
        mixup_alpha, cutmix_alpha: Beta parameters; 0 turns each off.
        label_smoothing: probability mass spread over all classes.
        validation_split: held-out fraction for ``folder:`` without ``val/``.
        seed: seed of the shuffling, the hold-out and every augmentation.
        data_dir: tensorflow-datasets folder (``tfds:`` and ``digits``).
        download: let tensorflow-datasets download a missing ``tfds:`` dataset.
        cache: "auto" (in memory when under ``CACHE_LIMIT``), True or False.
        shuffle_buffer: size of the shuffle buffer.

    Returns:
        A ``Data``.
    """
    if not isinstance(preprocessing, Preprocessing):
        raise ValueError(
            f"Expected `preprocessing` to be a keras_cnns.weights.Preprocessing. Received: preprocessing={preprocessing!r}"
        )
    if isinstance(image_size, bool) or not isinstance(image_size, int) or image_size < 1:
        raise ValueError(f"Expected `image_size` to be a positive int. Received: image_size={image_size!r}")
    size = image_size
    channels = preprocessing.channels
    crop_pct = preprocessing.crop_pct
    if not isinstance(spec, str) or not spec.startswith(PREFIXES) or (spec.startswith("digits") and spec != "digits"):
        raise ValueError(f"Expected a dataset spec starting with one of {list(PREFIXES)}. Received: spec={spec!r}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"Expected `batch_size` to be a positive int. Received: batch_size={batch_size!r}")
    if cache not in ("auto", True, False):
        raise ValueError(f"Expected `cache` to be 'auto', True or False. Received: cache={cache!r}")
    if not 0 <= label_smoothing < 1:
        raise ValueError(f"Expected `label_smoothing` in [0, 1). Received: label_smoothing={label_smoothing}")
    augment.train_transform(  # checks the augmentation options before any data is read
        tf.zeros((size, size, channels), tf.uint8), tf.constant([0, 0]), preset=preset, size=size,
        crop_pct=crop_pct, randaugment=randaugment, random_erasing=random_erasing,
    )

    if spec == "digits":
        source = _tfds("sklearn_digits", data_dir, download=True)  # built from scikit-learn, offline
    elif spec.startswith("tfds:"):
        source = _tfds(spec[5:], data_dir, download)
    elif spec.startswith("folder:"):
        source = _folder(os.path.expanduser(spec[7:]), validation_split, seed, channels)
    else:
        source = _synthetic(spec, size, channels, seed)

    decode = source.decode or (lambda image: image)
    fits = source.bytes_per_example * (source.train_count + source.validation_count) <= CACHE_LIMIT
    do_cache = cache is True or (cache == "auto" and source.bytes_per_example > 0 and fits)
    soft = bool(label_smoothing or mixup_alpha or cutmix_alpha)
    classes = len(source.class_names)
    autotune = tf.data.AUTOTUNE

    def normalize(image):
        return preprocessing.normalize(image)

    def label_out(label):
        return augment.one_hot(label, classes, label_smoothing) if soft else label

    def train_example(example, element_seed):
        image, label = example
        image = _channels(decode(image), channels)
        image = augment.train_transform(
            image, element_seed, preset=preset, size=size, crop_pct=crop_pct,
            randaugment=randaugment, random_erasing=random_erasing,
        )
        return normalize(image), label_out(label)

    def eval_example(image, label):
        image = augment.eval_transform(_channels(decode(image), channels), size=size, crop_pct=crop_pct,
                                         interpolation=preprocessing.interpolation)
        return normalize(image), augment.one_hot(label, classes) if soft else label

    # Every pipeline knows its length, so that Keras counts its steps from the start
    # (a tfds dataset may not carry its own: a source whose count is wrong then fails).
    train, val = (
        ds if int(ds.cardinality()) >= 0 else ds.apply(tf.data.experimental.assert_cardinality(count))
        for ds, count in ((source.train, source.train_count), (source.validation, source.validation_count))
    )
    if do_cache:
        train, val = train.cache(), val.cache()
    buffer = min(shuffle_buffer, max(1, source.train_count))

    def batches(shuffle_seed, random_seed, rerandomize, drop_remainder):
        ds = train.shuffle(buffer, seed=shuffle_seed, reshuffle_each_iteration=rerandomize)
        seeds = tf.data.Dataset.random(seed=random_seed, rerandomize_each_iteration=rerandomize).batch(2)
        ds = tf.data.Dataset.zip((ds, seeds)).map(train_example, num_parallel_calls=autotune)
        ds = ds.batch(batch_size, drop_remainder=drop_remainder)
        if mixup_alpha or cutmix_alpha:
            batch_seeds = tf.data.Dataset.random(seed=random_seed + 1, rerandomize_each_iteration=rerandomize).batch(2)
            ds = tf.data.Dataset.zip((ds, batch_seeds)).map(
                lambda batch, s: augment.mix_batch(*batch, s, mixup_alpha=mixup_alpha, cutmix_alpha=cutmix_alpha),
                num_parallel_calls=autotune,
            )
        return ds

    def epochs(start, stop, drop_remainder=True):
        def epoch(index):  # every seed of an epoch derives from (seed, index)
            # tf.data combines tensor seeds with the global seed through a Python
            # comparison that fails when that seed is 0 (tf.random.set_seed(0)); the
            # epochs do not depend on it, so this function's graph drops it.
            tf.compat.v1.get_default_graph().seed = None
            key = tf.cast(index, tf.int64) * 1_000_003 + seed
            return batches(key, key, False, drop_remainder)

        count = source.train_count
        per_epoch = count // batch_size if drop_remainder else -(-count // batch_size)
        length = tf.data.experimental.assert_cardinality(max(0, stop - start) * per_epoch)  # flat_map hides it
        return tf.data.Dataset.range(start, stop).flat_map(epoch).apply(length).prefetch(autotune)

    val = val.map(eval_example, num_parallel_calls=autotune)
    return Data(
        train=batches(seed, seed, True, False).prefetch(autotune),
        validation=val.batch(batch_size).prefetch(autotune),
        class_names=source.class_names,
        train_count=source.train_count,
        validation_count=source.validation_count,
        skipped=source.skipped,
        soft_labels=soft,
        spec=spec,
        batch_size=batch_size,
        _epochs=epochs,
    )


def load_split(
    spec="digits",
    *,
    split="validation",
    image_size,
    preprocessing=IMAGENET_RGB,
    batch_size=32,
    crop="center",
    validation_split=0.1,
    seed=0,
    data_dir=None,
):
    """One split of a dataset, in order and not augmented, to evaluate a model on.

    ``split="validation"`` with ``crop="center"`` gives exactly the batches of
    ``load_dataset(...).validation`` for the same spec, preprocessing, batch size,
    ``validation_split`` and ``seed`` (the same hold-out of a ``folder:`` and of a tfds
    dataset with only a train split, ``train[90%:]``); "train" is the training split
    without augmentation; "test" is a tfds dataset's ``test`` split (``digits``: the one
    ``load_dataset`` validates on) or the ``test/`` sub-folder of a ``folder:`` with
    ``train/`` and ``val/`` ones.

    >>> batches, class_names, count, skipped = load_split(
    ...     "synthetic:classes=3,examples=12", image_size=32, batch_size=4, crop="ten")
    >>> images, labels = next(iter(batches))
    >>> tuple(images.shape), class_names, count, skipped
    ((1, 10, 32, 32, 3), ('0', '1', '2'), 1, ())

    Args:
        spec: ``"digits"``, ``"tfds:NAME"``, ``"folder:PATH"`` or ``"synthetic[:...]"``.
        split: "validation", "train" or "test".
        image_size: square size of the images (of each crop).
        preprocessing: a ``keras_cnns.weights.Preprocessing``: channels, crop fraction,
            interpolation and normalization.
        batch_size: examples per batch.
        crop: "center" (``augment.eval_transform``), "ten" (``augment.ten_crop``: each
            image becomes (10, size, size, C)) or "full" (``augment.full_transform``:
            the whole image resized to size x size).
        validation_split, seed: the hold-out of a ``folder:`` without ``val/`` (and
            the images of ``synthetic``), as ``load_dataset``'s.
        data_dir: tensorflow-datasets folder (``tfds:`` and ``digits``).

    Returns:
        ``(batches, class_names, count, skipped)``: a ``tf.data.Dataset`` of ``(images,
        labels)`` batches (int64 labels), the class names in label order, the number of
        examples in the split and the ``(path, reason)`` of the files left out
        (``folder:`` only).
    """
    splits, crops = ("validation", "train", "test"), ("center", "ten", "full")
    if split not in splits:
        raise ValueError(f"Expected `split` to be one of {list(splits)}. Received: split={split!r}")
    if crop not in crops:
        raise ValueError(f"Expected `crop` to be one of {list(crops)}. Received: crop={crop!r}")
    if not isinstance(preprocessing, Preprocessing):
        raise ValueError(
            f"Expected `preprocessing` to be a keras_cnns.weights.Preprocessing. Received: preprocessing={preprocessing!r}"
        )
    if isinstance(image_size, bool) or not isinstance(image_size, int) or image_size < 1:
        raise ValueError(f"Expected `image_size` to be a positive int. Received: image_size={image_size!r}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"Expected `batch_size` to be a positive int. Received: batch_size={batch_size!r}")
    if not isinstance(spec, str) or not spec.startswith(PREFIXES) or (spec.startswith("digits") and spec != "digits"):
        raise ValueError(f"Expected a dataset spec starting with one of {list(PREFIXES)}. Received: spec={spec!r}")
    channels, size = preprocessing.channels, image_size
    options = dict(size=size, interpolation=preprocessing.interpolation)
    transform = {
        "center": lambda image: augment.eval_transform(image, crop_pct=preprocessing.crop_pct, **options),
        "ten": lambda image: augment.ten_crop(image, crop_pct=preprocessing.crop_pct, **options),
        "full": lambda image: augment.full_transform(image, **options),
    }[crop]
    transform(tf.zeros((size, size, channels), tf.uint8))  # checks the interpolation before any data is read

    if spec == "digits" or spec.startswith("tfds:"):
        name = "sklearn_digits" if spec == "digits" else spec[5:]
        source = _tfds(name, data_dir, download=spec == "digits")
    elif spec.startswith("folder:"):
        source = _folder(os.path.expanduser(spec[7:]), validation_split, seed, channels)
    else:
        source = _synthetic(spec, size, channels, seed)
    skipped = source.skipped
    if split == "test" and spec.startswith(("digits", "tfds:")):
        import tensorflow_datasets as tfds

        builder = tfds.builder(name, data_dir=data_dir)
        if "test" not in builder.info.splits:
            raise ValueError(f"{spec} has no 'test' split; its splits: {sorted(builder.info.splits)}. Received: split='test'")
        examples = builder.as_dataset(split="test", as_supervised=True)
        count = builder.info.splits["test"].num_examples
    elif split == "test" and spec.startswith("folder:"):
        from keras_cnns.data import folder

        root, found = os.path.expanduser(spec[7:]), []
        nested = os.path.isdir(os.path.join(root, "train")) and any(
            os.path.isdir(os.path.join(root, v)) for v in folder.VALIDATION_FOLDERS)
        if not (nested and os.path.isdir(os.path.join(root, "test"))):
            raise ValueError(
                f"A folder's test split is its test/ sub-folder of class sub-folders, beside train/ and val/; "
                f"{root} has none. Received: split='test'"
            )
        files = folder._scan_classes(os.path.join(root, "test"), found, class_names=source.class_names)
        if found:
            listing = "\n".join(f"  {path}: {reason}" for path, reason in found)
            warnings.warn(f"Skipped {len(found)} files and folders in {root}/test:\n{listing}", stacklevel=2)
        pairs = [(path, i) for i, label in enumerate(source.class_names) for path in files[label]]
        examples = tf.data.Dataset.from_tensor_slices(
            ([p for p, _ in pairs], tf.constant([i for _, i in pairs], tf.int64, shape=[len(pairs)]))
        )
        count, skipped = len(pairs), skipped + tuple(found)
    elif split == "test":
        raise ValueError("synthetic data has only 'train' and 'validation' splits. Received: split='test'")
    else:
        examples = source.validation if split == "validation" else source.train
        count = source.validation_count if split == "validation" else source.train_count
    decode = source.decode or (lambda image: image)

    def example(image, label):
        return preprocessing.normalize(transform(_channels(decode(image), channels))), label

    if int(examples.cardinality()) < 0:  # as load_dataset's pipelines, it knows its length
        examples = examples.apply(tf.data.experimental.assert_cardinality(count))
    examples = examples.map(example, num_parallel_calls=tf.data.AUTOTUNE)  # the scan checked that every file decodes
    return examples.batch(batch_size).prefetch(tf.data.AUTOTUNE), source.class_names, count, skipped
