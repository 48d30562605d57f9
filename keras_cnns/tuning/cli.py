"""``python tuning/search.py`` and ``python -m keras_cnns tune``: a search from the command line."""

import argparse
import sys

from keras_cnns.tuning.search import TUNERS
from keras_cnns.tuning.spaces import SPACES

#: train.py options that mean nothing to a search (it always resumes; trials back up every epoch).
EXCLUDED = ("--resume", "--save-every", "--no-export")


def _space_list():
    return "; ".join(f"{name}: {space.doc}" for name, space in SPACES.items())


def parser(prog="tuning/search.py"):
    from keras_cnns.training.config import add_arguments

    built = argparse.ArgumentParser(
        prog=prog,
        description=(
            "Search a keras_cnns model's hyperparameters with keras-tuner, ZFNet-style: each trial trains "
            "as train.py does, with the trial's values. A train.py option given here fixes that "
            "hyperparameter; the others of the space are searched."
        ),
        epilog="Example: python tuning/search.py --arch alexnet --space zfnet --tuner random --max-trials 20 --epochs 5",
    )
    search = built.add_argument_group("search")
    search.add_argument("--space", choices=sorted(SPACES), help=f"search space (default: the architecture's). {_space_list()}")
    search.add_argument("--tuner", choices=TUNERS, default="random", help="keras-tuner algorithm (default: random)")
    search.add_argument("--max-trials", type=int, metavar="N", help="trials (default 10; Hyperband: its brackets')")
    search.add_argument("--fixed", action="append", default=[], metavar="KNOB=VALUE",
                        help="keep a hyperparameter of the space at a value (repeatable), e.g. conv1_kernel=7")
    search.add_argument("--factor", type=int, default=3, metavar="F", help="Hyperband's reduction factor (default 3)")
    search.add_argument("--chief", metavar="HOST:PORT", help="distributed search: serve the oracle on this address")
    search.add_argument("--worker", metavar="HOST:PORT", help="distributed search: run trials for the chief at this address")
    search.add_argument("--tuner-id", metavar="ID", help="this worker's id (default: worker-HOSTNAME); one per worker process")
    return add_arguments(built, exclude=EXCLUDED)


def parse_fixed(items):
    """``{"conv1_kernel": 7, "lrn": False}`` from ``["conv1_kernel=7", "lrn=false"]``."""
    fixed = {}
    for item in items:
        name, sep, text = item.partition("=")
        if not sep or not name:
            raise ValueError(f"Expected --fixed KNOB=VALUE. Received: fixed={item!r}")
        lowered = text.strip().lower()
        if lowered in ("true", "false"):
            value = lowered == "true"
        else:
            try:
                value = int(text)
            except ValueError:
                try:
                    value = float(text)
                except ValueError:
                    value = text
        fixed[name.strip().replace("-", "_")] = value
    return fixed


def options(args):
    """``(train options, search options)`` of parsed arguments."""
    values = vars(args).copy()
    search = {key: values.pop(key) for key in ("space", "tuner", "max_trials", "fixed", "factor", "chief", "worker", "tuner_id")}
    search["fixed"] = parse_fixed(search["fixed"])
    return values, search


def main(argv=None, prog="tuning/search.py"):
    """Parses ``argv`` and runs the search; returns the exit status (0 done, 2 bad input)."""
    args = parser(prog).parse_args(argv)
    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")  # every trial traces new functions: TF's retracing warnings say nothing here
    from keras_cnns.training import resolve
    from keras_cnns.tuning.search import run_search

    try:
        train_options, search = options(args)
        config = resolve(train_options)
        run_search(config, output=config.output, **search)
    except (ValueError, OSError) as error:
        print(f"{prog}: error: {error}", file=sys.stderr)
        return 2
    return 0
