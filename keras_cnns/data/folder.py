"""``folder:PATH``: a folder of class sub-folders, scanned once, bad files set aside.

Layouts: ``PATH/<class>/<image>``, with a seeded validation fraction taken from each
class, or ``PATH/train/<class>/...`` and ``PATH/val/<class>/...`` (``validation/`` also
works). Classes are the sub-folder names in sorted order.

The scan reads a few bytes of each file, so an epoch never meets a file it cannot
decode: empty files, files that are not JPEG, PNG, GIF or BMP (by their content, not
their name), truncated files (a JPEG without its end marker, a PNG without its IEND
chunk, a GIF without its trailer, a BMP shorter than its header says) and folders that
cannot be listed (a class folder included) are skipped and returned with the reason, to be reported once. Hidden
files (``.DS_Store``) are ignored.
"""

import os

import numpy as np

#: Leading bytes of the formats tf.io.decode_image reads (WebP needs "WEBP" at byte 8).
MAGIC = {b"\xff\xd8\xff": "JPEG", b"\x89PNG\r\n\x1a\n": "PNG", b"GIF87a": "GIF", b"GIF89a": "GIF", b"BM": "BMP"}
VALIDATION_FOLDERS = ("val", "validation")


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


def _list(folder, skipped):
    try:
        return sorted(e for e in os.listdir(folder) if not e.startswith("."))
    except OSError as e:
        skipped.append((folder, f"cannot list folder ({e.strerror or e})"))
        return None


def _scan_classes(root, skipped, class_names=None):
    """``{class: [good files]}`` for the class sub-folders of ``root``."""
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
    return files


def scan(root, validation_split=0.1, seed=0):
    """Scans a class folder.

    Args:
        root: the folder.
        validation_split: fraction of each class held out when ``root`` has no
            ``train/`` and ``val/`` sub-folders.
        seed: seed of that hold-out.

    Returns:
        ``(class_names, (train_paths, train_labels), (val_paths, val_labels), skipped)``
        where ``skipped`` lists ``(path, reason)``.

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
        if not 0 < validation_split < 1:
            raise ValueError(f"Expected `validation_split` in (0, 1). Received: validation_split={validation_split}")
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
