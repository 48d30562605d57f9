"""The command line.

``python -m keras_cnns list [PATTERN] [--pretrained] [--format markdown]``: the registered models.
``python -m keras_cnns predict --arch NAME --weights imagenet|FILE IMAGE...``: top-5 classes
(``keras_cnns.predict``).
``python -m keras_cnns train --arch NAME [options]``: the same as ``python train.py``
(``keras_cnns.training``).
``python -m keras_cnns tune --arch NAME [options]``: the same as ``python tuning/search.py``
(``keras_cnns.tuning``).
"""

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def markdown_table(pattern=None):
    """The README's model table, one line a row, generated from the registry."""
    from keras_cnns import list_models, model_info

    lines = [
        "| model | paper | input (min) | trainable params | GMACs | ImageNet weights |",
        "|---|---|---|---:|---:|---|",
    ]
    for info in map(model_info, list_models(pattern)):
        authors = info.paper.split(". ")[0]
        weights = f"keras.applications.{info.keras_application}" if info.keras_application else ""
        lines.append(
            f"| `{info.name}` | [{authors} {info.year}]({info.url}) | "
            f"{info.default_size} ({info.min_size}) | {info.params:,} | {info.macs:g} | {weights} |"
        )
    return lines


def _list(args):
    from keras_cnns import list_models, model_info

    if args.format == "markdown":
        print("\n".join(markdown_table(args.pattern)))
        return 0
    infos = [model_info(name) for name in list_models(args.pattern, pretrained=args.pretrained)]
    print(f"{'name':<22} {'year':>4} {'input':>5} {'params':>13} {'GMACs':>9}  weights")
    for info in infos:
        weights = "imagenet" if info.keras_application else ""
        print(f"{info.name:<22} {info.year:>4} {info.default_size:>5} {info.params:>13,} {info.macs:>9g}  {weights}")
    return 0


def _predict(args):
    from keras_cnns.predict import run

    return run(args, sys.stdout, sys.stderr)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m keras_cnns")
    commands = parser.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("list", help="list the registered models")
    listing.add_argument("pattern", nargs="?", default=None, help='fnmatch pattern, e.g. "resnet*"')
    listing.add_argument("--format", choices=("text", "markdown"), default="text", help="output format")
    listing.add_argument("--pretrained", action="store_true", help="only the models with ImageNet weights")
    listing.set_defaults(run=_list)
    predicting = commands.add_parser("predict", help="classify image files")
    from keras_cnns.predict import add_arguments

    add_arguments(predicting)
    predicting.set_defaults(run=_predict)
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
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
