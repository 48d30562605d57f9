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
    parser.add_argument("--num-classes", type=int, default=1000, help="number of classes (default: 1000)")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    import keras_cnns

    try:
        info = keras_cnns.model_info(args.arch)
        size = args.image_size or info.default_size
        model = keras_cnns.create_model(args.arch, input_shape=(size, size, 3), num_classes=args.num_classes)
    except ValueError as error:
        print(f"train.py: error: {error}", file=sys.stderr)
        return 2
    model.summary()
    print(f"{info.name}: {info.paper} ({info.year})")
    trainable = sum(int(w.numpy().size) for w in model.trainable_weights)
    print(f"input {size}x{size}x3: {trainable:,} trainable parameters "
          f"({model.count_params():,} with batch-norm statistics), "
          f"{keras_cnns.count_macs(model) / 1e9:.3f} G multiply-adds")
    if info.deviations:
        print(f"deviations from the paper: {info.deviations}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
