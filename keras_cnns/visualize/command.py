"""``python -m keras_cnns visualize``: the views of ``keras_cnns.visualize`` as PNG files.

::

    python -m keras_cnns visualize --weights runs/zfnet-20261204-101500 --compare runs/alexnet-20261204-100000
    python -m keras_cnns visualize --arch resnet50 --weights imagenet cat.jpg --what gradcam,occlusion

``--weights`` and the model options are those of ``predict``. ``filters`` needs no image;
the other views need image files, prepared as ``predict`` prepares them.
"""

import csv
import os

import numpy as np

VIEWS = ("filters", "features", "gradcam", "occlusion")


def parse_views(text):
    """``"filters,gradcam"`` -> ``("filters", "gradcam")``, in ``VIEWS`` order."""
    views = [part.strip() for part in text.split(",") if part.strip()]
    bad = [view for view in views if view not in VIEWS]
    if bad or not views:
        raise ValueError(f"--what takes a comma-separated list of {', '.join(VIEWS)}. Received: --what {text}")
    return tuple(view for view in VIEWS if view in views)


def class_index(text, labels):
    """``--class``: an index, a class name (``labels[i]``) or a name's first part (the
    ImageNet label before its WordNet id: ``tabby`` for ``tabby (n02123045)``)."""
    if text is None:
        return None
    if text.lstrip("-").isdigit():
        index = int(text)
        if not 0 <= index < len(labels):
            raise ValueError(f"--class must be a class index in [0, {len(labels)}) or a class name. Received: --class {text}")
        return index
    for index, label in enumerate(labels):
        if text in (label, label.split(" (")[0]):
            return index
    raise ValueError(f"--class must be a class index in [0, {len(labels)}) or one of the model's class names "
                     f"(e.g. {labels[0]!r}). Received: --class {text}")


def write_filter_table(path, view):
    """One row per filter: its norm, its norm over the largest, dead or not, and its
    high-frequency share."""
    largest = float(view.norms.max()) if view.norms.size else 0.0
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["filter", "norm", "relative_norm", "dead", "high_frequency"])
        for i, (norm, dead, high) in enumerate(zip(view.norms, view.dead, view.high_frequency)):
            writer.writerow([i, f"{norm:.6g}", f"{norm / largest if largest else 0:.4f}", int(dead), f"{high:.4f}"])
    return path


def _default_output(args, info):
    if os.path.isdir(args.weights):
        return os.path.join(args.weights, "visualize")
    return os.path.join("runs", "visualize", info.name)


def _stems(paths):
    seen, stems = {}, []
    for path in paths:
        stem = os.path.splitext(os.path.basename(path))[0]
        seen[stem] = seen.get(stem, 0) + 1
        stems.append(stem if seen[stem] == 1 else f"{stem}_{seen[stem]}")
    return stems


def _filters(args, loaded, folder, out):
    from keras_cnns.visualize import maps, pictures

    info, model, prep = loaded.info, loaded.model, loaded.preprocessing
    panels = [(info.name, maps.filters(model), prep.channel_order == "BGR")]
    name = info.name
    if args.compare:
        other = _load_compared(args)
        title = other.info.name if other.info.name != info.name else f"{info.name}_2"
        panels.append((title, maps.filters(other.model), other.preprocessing.channel_order == "BGR"))
        name = f"{info.name}_vs_{title}"
    for title, view, _ in panels:
        table = write_filter_table(os.path.join(folder, f"{title}_filters.csv"), view)
        print(f"{title} {pictures.describe_filters(view)}; per filter: {table}", file=out)
    path = pictures.save_filters(os.path.join(folder, f"{name}_filters.png"), panels)
    print(f"filters: {path}", file=out)


def _load_compared(args):
    from keras_cnns.predict import load

    if os.path.exists(args.compare):
        return load(None, args.compare)
    weights = args.compare_weights or args.weights
    return load(args.compare, weights, image_size=args.image_size)


def _image_views(args, loaded, views, folder, out, err):
    from keras_cnns.predict import read_images
    from keras_cnns.visualize import maps, pictures

    model, prep, labels = loaded.model, loaded.preprocessing, loaded.labels
    chosen = class_index(args.class_name, labels)
    stems = dict(zip(args.images, _stems(args.images)))
    done = 0
    for path, image in read_images(args.images, prep, model.input_shape[1], err):
        done += 1
        stem = stems[path]
        pixels = prep.pixels(image)
        probs = np.asarray(maps.probabilities(model, image[None]))[0]
        target = int(np.argmax(probs)) if chosen is None else chosen
        title = f"{labels[target]} ({probs[target]:.1%})"
        written = []
        if "features" in views:
            layers = [args.layer] if args.layer else None
            for view in maps.features(model, image, layers=layers, top=args.top):
                written.append(pictures.save_features(
                    os.path.join(folder, f"{stem}_features_{view.layer.replace('/', '_')}.png"), pixels, view,
                    f"{os.path.basename(path)}: {title}"))
        if "gradcam" in views:
            layer = args.layer or maps.gradcam_layer(model)
            heat = maps.gradcam(model, image, target, layer)
            written.append(pictures.save_gradcam(os.path.join(folder, f"{stem}_gradcam.png"), pixels, heat,
                                                 f"Grad-CAM at {layer}: {title}"))
        if "occlusion" in views:
            scan = maps.occlusion_scan(model, image, target, patch=args.patch, stride=args.stride)
            written.append(pictures.save_occlusion(os.path.join(folder, f"{stem}_occlusion.png"), pixels, scan,
                                                   f"occlusion: {title}"))
        print(f"{path}: {title}", file=out)
        for picture in written:
            print(f"  {picture}", file=out)
    return len(args.images) - done


def run(args, out, err):
    """The ``visualize`` command; ``args`` from ``add_arguments``. Returns the exit status."""
    from keras_cnns.predict import load

    try:
        views = parse_views(args.what) if args.what else (VIEWS if args.images else ("filters",))
        needs_images = [view for view in views if view != "filters"]
        if needs_images and not args.images:
            raise ValueError(f"{', '.join(needs_images)} need image files. Received: --what {','.join(views)} "
                             "and no image")
        if "filters" not in views and args.compare:
            raise ValueError(f"--compare puts two models' filters side by side: add filters to --what. "
                             f"Received: --what {','.join(views)}")
        for flag in ("patch", "stride", "top"):
            value = getattr(args, flag)
            if value is not None and value < 1:
                raise ValueError(f"--{flag} must be a positive int. Received: --{flag} {value}")
        loaded = load(args.arch, args.weights, args.num_classes, args.image_size, args.alpha, args.labels)
        class_index(args.class_name, loaded.labels)
        folder = args.output or _default_output(args, loaded.info)
        os.makedirs(folder, exist_ok=True)
        if "filters" in views:
            _filters(args, loaded, folder, out)
        failed = _image_views(args, loaded, views, folder, out, err) if needs_images else 0
    except (ValueError, OSError, ImportError) as e:
        print(f"error: {e}", file=err)
        return 2
    return 1 if failed else 0


def add_arguments(parser):
    from keras_cnns.predict import add_model_arguments

    parser.add_argument("images", nargs="*", help="image files (JPEG, PNG, GIF, BMP, WebP)")
    add_model_arguments(parser)
    parser.add_argument("--what", default=None, metavar="VIEWS",
                        help="comma-separated views: filters (the first convolution's kernels), features (the "
                        "most active channels of each feature layer), gradcam, occlusion (default: all four with "
                        "images, filters without)")
    parser.add_argument("--layer", default=None, metavar="NAME",
                        help="the layer of gradcam and features (default: the last feature layer larger than 1x1 for "
                        "gradcam, every feature layer for features)")
    parser.add_argument("--class", dest="class_name", default=None, metavar="C",
                        help="class index or name for gradcam and occlusion (default: the predicted class)")
    parser.add_argument("--output", default=None, metavar="DIR",
                        help="folder of the PNGs (default: RUN/visualize for a run, else runs/visualize/ARCH)")
    parser.add_argument("--compare", default=None, metavar="A2",
                        help="a second model's filters beside the first: a run folder, or a registered name "
                        "with --compare-weights")
    parser.add_argument("--compare-weights", default=None, metavar="W",
                        help="the weights of --compare NAME (default: --weights, e.g. imagenet)")
    parser.add_argument("--patch", type=int, default=None, metavar="P",
                        help="occlusion: the grey square's side in pixels (default: a seventh of the image)")
    parser.add_argument("--stride", type=int, default=None, metavar="S",
                        help="occlusion: pixels between the square's positions (default: half the patch)")
    parser.add_argument("--top", type=int, default=16, metavar="N", help="features: channels per layer (default 16)")
