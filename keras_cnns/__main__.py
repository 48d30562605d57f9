"""``python -m keras_cnns list [PATTERN]``: the registered models and their numbers."""

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _list(args):
    from keras_cnns import list_models, model_info

    print(f"{'name':<20} {'year':>4} {'input':>5} {'params':>13} {'GMACs':>7}")
    for name in list_models(args.pattern):
        info = model_info(name)
        print(f"{name:<20} {info.year:>4} {info.default_size:>5} {info.params:>13,} {info.macs:>7.3f}")
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m keras_cnns")
    commands = parser.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("list", help="list the registered models")
    listing.add_argument("pattern", nargs="?", default=None, help='fnmatch pattern, e.g. "resnet*"')
    listing.set_defaults(run=_list)
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
