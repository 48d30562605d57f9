"""The command line.

``python -m keras_cnns list [PATTERN] [--pretrained [TAG]]``: the registered models, with
the tags of the weights each loads (``imagenet``, ``torchvision``).
``python -m keras_cnns report NAME [--input-size S] [--expand [N]] [--format text|markdown|csv|json]``:
a model's layer table and totals (``keras_cnns.analysis``).
``python -m keras_cnns compare [--format markdown|csv] [--plot FILE.png]``: every registered
architecture side by side, the README's model table (``keras_cnns.compare``).
``python -m keras_cnns diagram NAME --out FILE.png [--block LAYER]``: a drawing of the model or
of one block (``keras_cnns.diagram``).
``python -m keras_cnns predict --arch NAME --weights imagenet|FILE IMAGE...``: top-5 classes
(``keras_cnns.predict``).
``python -m keras_cnns evaluate RUN | --arch NAME --weights W --dataset SPEC``: top-1, top-5,
loss, per-class scores and a confusion matrix (``keras_cnns.evaluate``).
``python -m keras_cnns visualize --weights W [IMAGE ...] --what filters,features,gradcam,occlusion``:
first-layer filters, feature maps, Grad-CAM and occlusion maps as PNGs (``keras_cnns.visualize``).
``python -m keras_cnns export RUN | --arch NAME --weights W --format saved_model,onnx,litert``:
the inference model in each format, checked by its runtime (``keras_cnns.export``).
``python -m keras_cnns experiment degradation [--depths 20,56] [--dataset SPEC] [--epochs N] [--output DIR]``:
the ResNet paper's Figure 6, plain against residual networks (``keras_cnns.experiments.degradation``).
``python -m keras_cnns experiment factorization [--channels C] [--size S] [--format text|markdown|csv]``:
the arithmetic of the designs measured on built layers (``keras_cnns.experiments.factorization``).
``python -m keras_cnns train --arch NAME [options]``: the same as ``python train.py``
(``keras_cnns.training``).
``python -m keras_cnns tune --arch NAME [options]``: the same as ``python tuning/search.py``
(``keras_cnns.tuning``).
"""

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _list(args):
    from keras_cnns import compare, list_models, model_info

    if args.pretrained:
        tag = True if args.pretrained == "any" else args.pretrained
        print(compare.format_weights(args.pattern, tag, args.format))
        return 0
    names = list_models(args.pattern)
    print(f"{'name':<22} {'year':>4} {'input':>5} {'params':>13} {'GMACs':>9}  weights")
    for info in map(model_info, names):
        weights = " ".join(info.tags)
        print(f"{info.name:<22} {info.year:>4} {info.default_size:>5} {info.params:>13,} {info.macs:>9g}  {weights}".rstrip())
    return 0


def _report(args):
    from keras_cnns import analysis, create_model, model_info

    info = model_info(args.name)
    kwargs = {}
    if args.input_size is not None:
        if args.input_size < info.min_size:
            raise ValueError(f"{args.name} needs an input of at least {info.min_size}x{info.min_size}. "
                             f"Received: input_size={args.input_size}")
        kwargs["input_shape"] = (args.input_size, args.input_size, info.channels)
    model = create_model(args.name, **kwargs)
    print(analysis.format_report(analysis.model_report(model, expand=args.expand), args.format))
    return 0


def _compare(args):
    from keras_cnns import compare

    print(compare.format_comparison(args.pattern, args.format))
    if args.plot:
        compare.plot_comparison(args.plot, args.pattern)
        print(f"Plot: {args.plot}", file=sys.stderr)
    return 0


def _diagram(args):
    from keras_cnns import create_model, diagram

    model = create_model(args.name)
    print(diagram.draw(model, args.out, block=args.block, expand=args.expand))
    return 0


def _predict(args):
    from keras_cnns.predict import run

    return run(args, sys.stdout, sys.stderr)


def _evaluate(args):
    from keras_cnns.evaluate import run

    return run(args, sys.stdout, sys.stderr)


def _export(args):
    from keras_cnns.export import run

    return run(args, sys.stdout, sys.stderr)


def _visualize(args):
    from keras_cnns.visualize.command import run

    return run(args, sys.stdout, sys.stderr)


def _depths(text):
    try:
        return tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated ints such as 20,56. Received: {text!r}") from None


def _degradation(args):
    from keras_cnns.experiments import degradation

    print(degradation.CLAIM)
    result = degradation.run(
        args.depths, dataset=args.dataset, epochs=args.epochs, output=args.output, seed=args.seed,
        image_size=args.image_size, batch_size=args.batch_size, data_dir=args.data_dir, verbose=args.verbose,
    )
    print("\n".join(degradation.table(result)))
    print("\n".join(result.verdict()))
    print(f"outputs: {os.path.join(args.output, 'degradation.png')}, {os.path.join(args.output, 'degradation.csv')}")
    return 0


def _factorization(args):
    from keras_cnns.experiments import factorization

    print(factorization.format_table(factorization.rows(channels=args.channels, size=args.size), args.format))
    return 0


def _experiment_parsers(commands):
    experiment = commands.add_parser("experiment", help="the papers' claims as experiments: degradation, factorization")
    experiments = experiment.add_subparsers(dest="experiment", required=True)
    degrading = experiments.add_parser(
        "degradation", help="train plainD and resnetD for each depth: the ResNet paper's Figure 6")
    degrading.add_argument("--depths", type=_depths, default=(20, 56), metavar="D,D",
                           help="depths of the plainD / resnetD pairs, among 20, 32, 44, 56 (default 20,56)")
    degrading.add_argument("--dataset", default="digits", metavar="SPEC",
                           help="digits (bundled, default), tfds:cifar10 (prepared), folder:PATH ...")
    degrading.add_argument("--epochs", type=int, default=None, metavar="N", help="epochs of each network (default 10)")
    degrading.add_argument("--batch-size", type=int, default=None, metavar="N",
                           help="global batch; lr 0.1 scaled by N/128 (default 32 on digits, else the paper's 128)")
    degrading.add_argument("--image-size", type=int, default=32, metavar="S", help="square input size (default 32)")
    degrading.add_argument("--seed", type=int, default=0, help="seed of every run (default 0)")
    degrading.add_argument("--data-dir", metavar="DIR", help="tensorflow-datasets folder")
    degrading.add_argument("--output", default="runs/degradation", metavar="DIR",
                           help="the experiment's folder: a run per network (resumed if interrupted) and the outputs")
    degrading.add_argument("--verbose", default="2", choices=("0", "1", "2", "auto"), help="Keras' fit verbosity")
    degrading.set_defaults(run=_degradation)
    factoring = experiments.add_parser("factorization", help="parameters, multiply-adds and receptive fields of "
                                       "factorized and reduced designs, measured on built layers")
    factoring.add_argument("--channels", type=int, default=64, metavar="C", help="channels of the convolution rows (default 64)")
    factoring.add_argument("--size", type=int, default=56, metavar="S", help="map size of the convolution rows (default 56)")
    factoring.add_argument("--format", choices=("text", "markdown", "csv"), default="text")
    factoring.set_defaults(run=_factorization)


def main(argv=None):
    from keras_cnns.models import weight_tags

    parser = argparse.ArgumentParser(prog="python -m keras_cnns")
    commands = parser.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("list", help="list the registered models")
    listing.add_argument("pattern", nargs="?", default=None, help='fnmatch pattern, e.g. "resnet*"')
    listing.add_argument(
        "--pretrained",
        nargs="?",
        const="any",
        choices=("any", *weight_tags()),
        help="list the weights of the models (of that tag: \"imagenet\" is each model's best ImageNet weights, "
        "\"bvlc\", \"timm\", \"torchvision\" ... those of one source): source, top-1, license, preprocessing",
    )
    listing.add_argument("--format", choices=("text", "markdown", "csv"), default="text",
                         help="with --pretrained: text, Markdown (the README's table of weights) or CSV")
    listing.set_defaults(run=_list)
    reporting = commands.add_parser("report", help="a model's layer table: shapes, parameters, multiply-adds")
    reporting.add_argument("name", help="registered model name")
    reporting.add_argument("--input-size", type=int, default=None, help="square input size (default: the model's)")
    reporting.add_argument("--expand", type=int, nargs="?", const=1, default=0, metavar="LEVELS",
                           help="also list the layers inside blocks, LEVELS deep (default when given: 1)")
    reporting.add_argument("--format", choices=("text", "markdown", "csv", "json"), default="text")
    reporting.set_defaults(run=_report)
    comparing = commands.add_parser("compare", help="every architecture: year, depth, size, cost, paper error")
    comparing.add_argument("pattern", nargs="?", default=None, help='fnmatch pattern, e.g. "resnet*"')
    comparing.add_argument("--format", choices=("markdown", "csv"), default="markdown")
    comparing.add_argument("--plot", metavar="FILE.png", help="also plot error against multiply-adds")
    comparing.set_defaults(run=_compare)
    drawing = commands.add_parser("diagram", help="draw a model or one block (needs pydot and Graphviz)")
    drawing.add_argument("name", help="registered model name")
    drawing.add_argument("--out", required=True, metavar="FILE.png", help="image (.png, .svg, .pdf) or .dot file")
    drawing.add_argument("--block", metavar="LAYER", help="draw this layer of the model (e.g. inception_3a) inside")
    drawing.add_argument("--expand", action="store_true", help="draw nested models expanded")
    drawing.set_defaults(run=_diagram)
    predicting = commands.add_parser("predict", help="classify image files")
    from keras_cnns.predict import add_arguments

    add_arguments(predicting)
    predicting.set_defaults(run=_predict)
    evaluating = commands.add_parser("evaluate", help="top-1, top-5, per-class scores and confusion of a model on a dataset")
    from keras_cnns.evaluate import add_arguments as evaluate_arguments

    evaluate_arguments(evaluating)
    evaluating.set_defaults(run=_evaluate)
    exporting = commands.add_parser("export", help="export the inference model (SavedModel, ONNX, LiteRT), checked by each runtime")
    from keras_cnns.export import add_arguments as export_arguments

    export_arguments(exporting)
    exporting.set_defaults(run=_export)
    visualizing = commands.add_parser(
        "visualize", help="first-layer filters, feature maps, Grad-CAM and occlusion maps as PNG files")
    from keras_cnns.visualize.command import add_arguments as visualize_arguments

    visualize_arguments(visualizing)
    visualizing.set_defaults(run=_visualize)
    _experiment_parsers(commands)
    training = commands.add_parser("train", add_help=False, help="train a model (python train.py; train --help)")
    training.add_argument("options", nargs=argparse.REMAINDER)
    tuning = commands.add_parser("tune", add_help=False, help="search hyperparameters (python tuning/search.py; tune --help)")
    tuning.add_argument("options", nargs=argparse.REMAINDER)
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["train"]:  # train.py's own parser, with its groups and --help
        from keras_cnns.training.cli import main as train

        return train(argv[1:], prog="python -m keras_cnns train")
    if argv[:1] == ["tune"]:
        from keras_cnns.tuning.cli import main as tune

        return tune(argv[1:], prog="python -m keras_cnns tune")
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except (ValueError, ImportError) as error:  # bad input or a missing extra: one line, no traceback
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
