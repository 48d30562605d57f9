"""``folder:PATH``: a folder of class sub-folders, scanned once, bad files set aside.

Layouts: ``PATH/<class>/<image>``, with a seeded validation fraction taken from each
class, or ``PATH/train/<class>/...`` and ``PATH/val/<class>/...`` (``validation/`` also
works). Classes are the sub-folder names in sorted order.

The scan guarantees that every file it accepts decodes, so an epoch never meets a bad
file and the pipelines know their length. It first reads a few bytes of each file:
empty files, files that are not JPEG, PNG, GIF, BMP or WebP (by their content, not
their name), truncated files (a JPEG without its end marker, a PNG without its IEND
chunk, a GIF without its trailer, a BMP shorter than its header says) and folders that
cannot be listed (a class folder included) are skipped. Then it decodes every remaining
file with ``decode``, the function the pipelines use, in parallel; a file that
does not decode (a JPEG with garbage between its markers) is skipped too. Each skipped
file comes with the reason, to be reported once. Hidden files (``.DS_Store``) are
ignored.
"""

import os
import re

import numpy as np

#: Leading bytes of the formats tf.io.decode_image reads (WebP needs "WEBP" at byte 8).
MAGIC = {b"\xff\xd8\xff": "JPEG", b"\x89PNG\r\n\x1a\n": "PNG", b"GIF87a": "GIF", b"GIF89a": "GIF", b"BM": "BMP"}
VALIDATION_FOLDERS = ("val", "validation")
#: Decoded files whose indices the scan reads back at once.
VERIFY_BATCH = 4096


def check_image(path):
    """None if ``path`` looks like a whole JPEG, PNG, GIF, BMP or WebP file, else why not."""
    try:
        size = os.path.getsize(path)
        if size == 0:
            return "empty file"
        with open(path, "rb") as f:
            head = f.read(32)
            f.seek(max(0, size - 4096))
            tail = f.read()
    except OSError as e:
        return f"cannot read ({e.strerror or e})"
    kind = next((k for magic, k in MAGIC.items() if head.startswith(magic)), None)
    if kind is None and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        kind = "WebP"
    if kind is None:
        return "not an image (JPEG, PNG, GIF, BMP or WebP)"
    truncated = (
        (kind == "JPEG" and b"\xff\xd9" not in tail)
        or (kind == "PNG" and b"IEND" not in tail[-12:])
        or (kind == "GIF" and not tail.rstrip(b"\x00").endswith(b";"))
        or (kind == "BMP" and len(head) >= 6 and int.from_bytes(head[2:6], "little") > size)
        or (kind == "WebP" and int.from_bytes(head[4:8], "little") + 8 > size)
    )
    return f"truncated {kind}" if truncated else None


def decode(contents, channels=3):
    """The uint8 ``(height, width, channels)`` image in ``contents``, an encoded file.

    The one decoder of ``folder:``, for the scan and the pipelines (``tf.function`` and
    ``tf.data`` too). Every file is decoded with its own channels, then converted with
    TensorFlow ops: alpha dropped, gray repeated for RGB, RGB to gray for ``channels=1``.
    So whether a file decodes does not depend on ``channels``, and the scan's check
    holds for every preprocessing. Asking the decoder itself for other channels fails
    on some files: libjpeg cannot turn a CMYK JPEG into gray (it prints "Unsupported
    color conversion request" on stderr and the decode fails), GIFs and RGB BMPs do
    not decode to gray. A JPEG with 4 components (CMYK or YCCK, as Photoshop writes
    them) is decoded with the accurate integer DCT: with the fast default some of its
    pixels come out more than 200 levels off. TensorFlow then turns its inverted
    (Adobe) CMYK into RGB as Pillow does, ``(255-C)(255-K)/255``.

    Args:
        contents: a scalar string tensor, a JPEG, PNG, GIF (first frame), BMP or WebP file.
        channels: 3 (RGB) or 1 (gray).

    Raises:
        ValueError: ``channels`` is neither 1 nor 3.
        tf.errors.InvalidArgumentError: ``contents`` does not decode (when run).
    """
    import tensorflow as tf

    if channels not in (1, 3):
        raise ValueError(f"Expected `channels` to be 1 or 3. Received: channels={channels!r}")

    def jpeg():
        cmyk = tf.image.extract_jpeg_shape(contents)[2] == 4
        return tf.cond(
            cmyk, lambda: tf.io.decode_jpeg(contents, dct_method="INTEGER_ACCURATE"), lambda: tf.io.decode_jpeg(contents)
        )

    image = tf.cond(tf.io.is_jpeg(contents), jpeg, lambda: tf.io.decode_image(contents, expand_animations=False))
    gray = tf.shape(image)[-1] < 3  # 1 or 2 channels (gray, alpha), else 3 or 4 (RGB, alpha)

    def first(n):  # slices, not gathers: an RGB image passes through uncopied
        return tf.ensure_shape(image[..., :n], (None, None, n))

    if channels == 3:
        image = tf.cond(gray, lambda: tf.image.grayscale_to_rgb(first(1)), lambda: first(3))
    else:
        image = tf.cond(gray, lambda: first(1), lambda: tf.image.rgb_to_grayscale(first(3)))
    return tf.ensure_shape(image, (None, None, channels))


def _one_line(message):
    """TensorFlow's error message without its op and function names, on one line."""
    return " ".join(re.sub(r"\{\{[^}]*\}\}|\[Op:\w+\]( name:\s*\S*)?", " ", message).split())


def undecodable(paths):
    """``{path: reason}`` for the files among ``paths`` that ``decode`` fails on.

    Decodes them all in a parallel ``tf.data`` pipeline (no Python per file), then
    decodes the few that failed once more, eagerly, for TensorFlow's message.
    """
    import tensorflow as tf

    def decodes(index, path):
        return index, tf.shape(decode(tf.io.read_file(path)))  # the shape needs the decode

    indices = tf.data.Dataset.from_tensor_slices((tf.range(len(paths), dtype=tf.int64), tf.constant(paths, tf.string)))
    indices = indices.map(decodes, num_parallel_calls=tf.data.AUTOTUNE, deterministic=False)
    decoded = np.zeros(len(paths), bool)
    for index, _ in indices.ignore_errors().batch(VERIFY_BATCH).as_numpy_iterator():
        decoded[index] = True
    reasons = {}
    for i in np.flatnonzero(~decoded):
        try:
            decode(tf.io.read_file(paths[i]))
            reasons[paths[i]] = "cannot decode (failed once, then decoded)"
        except tf.errors.OpError as e:
            reasons[paths[i]] = f"cannot decode ({_one_line(e.message)})"
    return reasons


def _list(folder, skipped):
    try:
        return sorted(e for e in os.listdir(folder) if not e.startswith("."))
    except OSError as e:
        skipped.append((folder, f"cannot list folder ({e.strerror or e})"))
        return None


def _scan_classes(root, skipped, class_names=None):
    """``{class: [files that decode]}`` for the class sub-folders of ``root``."""
    entries = _list(root, skipped) or []
    listings = {e: _list(os.path.join(root, e), skipped) for e in entries if os.path.isdir(os.path.join(root, e))}
    names = [name for name, listing in listings.items() if listing is not None]  # unreadable classes are skipped
    if class_names is not None and names != list(class_names):
        raise ValueError(
            f"The classes of {root} differ from the training classes {list(class_names)}. "
            f"Received: {names}"
        )
    files = {}
    for name in names:
        folder = os.path.join(root, name)
        good = []
        for entry in listings[name]:
            path = os.path.join(folder, entry)
            if os.path.isdir(path):
                continue
            reason = check_image(path)
            if reason:
                skipped.append((path, reason))
            else:
                good.append(path)
        files[name] = good
    failed = undecodable([path for good in files.values() for path in good])
    skipped.extend(failed.items())
    return {name: [path for path in good if path not in failed] for name, good in files.items()}


def scan(root, validation_split=0.1, seed=0):
    """Scans a class folder: every file it returns decodes with ``decode``.

    Args:
        root: the folder.
        validation_split: fraction of each class held out when ``root`` has no
            ``train/`` and ``val/`` sub-folders.
        seed: seed of that hold-out.

    Returns:
        ``(class_names, (train_paths, train_labels), (val_paths, val_labels), skipped)``
        where ``skipped`` lists ``(path, reason)`` for every file and folder left out:
        unreadable, not an image, truncated, or not decoding.

    Raises:
        ValueError: ``root`` is not a folder, has fewer than 2 classes, or a class has
            no readable image (the message names it).
    """
    if not os.path.isdir(root):
        raise ValueError(f"folder: expects a folder of class sub-folders. Received: folder:{root}")
    skipped = []
    split_root = os.path.join(root, "train")
    val_root = next((os.path.join(root, v) for v in VALIDATION_FOLDERS if os.path.isdir(os.path.join(root, v))), None)
    if os.path.isdir(split_root) and val_root:
        train = _scan_classes(split_root, skipped)
        val = _scan_classes(val_root, skipped, class_names=sorted(train))
    else:
        if not 0 < validation_split < 1:
            raise ValueError(f"Expected `validation_split` in (0, 1). Received: validation_split={validation_split}")
        train, val = _scan_classes(root, skipped), None
    if len(train) < 2:
        raise ValueError(
            f"A class folder needs at least 2 class sub-folders. Received: {len(train)} in {root}"
            + (f" ({', '.join(train)})" if train else "")
        )
    for name, paths in [*train.items(), *((val or {}).items())]:
        if not paths:
            raise ValueError(f"Class folder {name!r} has no readable image. Received: an empty class in {root}")
    names = sorted(train)
    if val is None:
        rng = np.random.default_rng(seed)
        val = {}
        for name in names:
            paths = [train[name][i] for i in rng.permutation(len(train[name]))]
            held = min(len(paths) - 1, max(1, round(len(paths) * validation_split)))
            val[name], train[name] = sorted(paths[:held]), sorted(paths[held:])

    def flat(files):
        pairs = [(p, i) for i, name in enumerate(names) for p in files[name]]
        return [p for p, _ in pairs], [i for _, i in pairs]

    return names, flat(train), flat(val), skipped
