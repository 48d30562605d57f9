"""``python train.py`` and ``python -m keras_cnns train``: options in, a trained run out."""

import sys


def _duration(seconds):
    minutes, seconds = divmod(int(round(seconds)), 60)
    return f"{minutes} min {seconds} s" if minutes else f"{seconds} s"


def main(argv=None, prog="train.py"):
    """Parses ``argv``, trains, prints the final summary; returns the exit status
    (0 done, 1 stopped on a NaN loss, 2 bad input, with a one-line reason)."""
    from keras_cnns.training.config import parser

    args = parser(prog).parse_args(argv)
    from keras_cnns.training import NanLossError, resolve, train

    try:
        config = resolve(args)
        metrics = train(config)
    except (ValueError, OSError) as error:
        print(f"{prog}: error: {error}", file=sys.stderr)
        return 2
    except NanLossError as error:
        print(f"{prog}: error: {error}", file=sys.stderr)
        return 1
    print(
        f"{config.arch} on {config.dataset}: top-1 {metrics['top1']:.1%}, top-5 {metrics['top5']:.1%}, "
        f"validation loss {metrics['loss']:.4f} after {config.epochs} epochs ({_duration(metrics['seconds'])})"
    )
    exported = ", saved_model/" if config.export else ""
    print(f"outputs in {config.output}: config.json, run.json, last.keras, best.keras, history.csv, logs/, "
          f"curves.png, metrics.json{exported}")
    return 0
