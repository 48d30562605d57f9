"""Train a keras_cnns model: ``python train.py --arch NAME``.

Foundation stage: this builds the chosen architecture at its default input, checks it
against its registry metadata and prints its summary. Datasets, paper recipes and
tf.distribute training come with the data and training work (see the README).
"""

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", required=True, help="registry name; `python -m keras_cnns list` shows them")
    parser.add_argument("--image-size", type=int, default=None, help="input size (default: the model's)")
    parser.add_argument("--num-classes", type=int, default=None, help="number of classes (default: the model's)")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    import keras_cnns

    try:
        info = keras_cnns.model_info(args.arch)
        options = {} if args.num_classes is None else {"num_classes": args.num_classes}
        if args.image_size is not None:
            options["input_shape"] = (args.image_size, args.image_size, 3)
        model = keras_cnns.create_model(args.arch, **options)
    except ValueError as error:
        print(f"train.py: error: {error}", file=sys.stderr)
        return 2
    model.summary()
    print(f"{info.name}: {info.paper} ({info.year})")
    trainable = sum(int(w.numpy().size) for w in model.trainable_weights)
    macs = keras_cnns.count_macs(model) / 1e9
    print(f"input {'x'.join(map(str, model.input_shape[1:]))}: {trainable:,} trainable parameters "
          f"({model.count_params():,} with batch-norm statistics), {macs:.3f} G multiply-adds")
    if not options:  # the published configuration: compare with the registry
        if trainable != info.params or f"{macs:.3f}" != f"{info.macs:.3f}":
            print(f"train.py: error: expected {info.params:,} parameters and {info.macs} G "
                  "multiply-adds from the registry", file=sys.stderr)
            return 1
        print("parameters and multiply-adds match the published figures")
    if info.deviations:
        print(f"deviations from the paper: {info.deviations}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
