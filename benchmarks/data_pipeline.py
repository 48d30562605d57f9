"""Input pipeline benchmark: does tf.data keep the model fed?

Two measurements on a generated folder of JPEGs (500x375, like ImageNet's typical photo):

1. Images per second of the training pipeline alone (decode, augment, normalize,
   batch) for each augmentation preset at 224x224.
2. Training throughput of a model fed by the real pipeline against the same model fed
   from tensors already in memory; the target is at least 90 %.

Every figure is timed over epochs after the first (model.fit traces its step function
in the first epoch) or over batches after a warm-up batch. Usage::

    python benchmarks/data_pipeline.py [--model resnet50] [--images 256] [--epochs 3]
        [--batch-size 32] [--dtype-policy float32]

Prints a Markdown section for benchmarks/RESULTS.md, machine details included.
"""

import argparse
import os
import platform
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import keras_cnns  # noqa: E402
from keras_cnns.data import augment, load_dataset  # noqa: E402


def make_folder(root, count, classes=4, size=(375, 500)):
    """``count`` JPEGs of smooth random colour fields (compressing like photos)."""
    rng = np.random.default_rng(0)
    for i in range(count):
        folder = os.path.join(root, f"class{i % classes}")
        os.makedirs(folder, exist_ok=True)
        coarse = rng.integers(0, 256, (size[0] // 25, size[1] // 25, 3)).astype("float32")
        image = tf.image.resize(coarse, size, method="bicubic") + rng.normal(0, 8, (*size, 3))
        jpeg = tf.io.encode_jpeg(tf.cast(tf.clip_by_value(image, 0, 255), tf.uint8), quality=90)
        tf.io.write_file(os.path.join(folder, f"{i:05d}.jpg"), jpeg)


def pipeline_rate(spec, preset, model, batch_size, batches):
    data = load_dataset(spec, preprocessing=keras_cnns.model_info(model).preprocessing, image_size=224,
                        batch_size=batch_size, preset=preset, cache=False)
    iterator = iter(data.train.repeat())
    next(iterator)  # warm-up: builds the pipeline, fills the prefetch buffer
    start = time.perf_counter()
    for _ in range(batches):
        next(iterator)
    return batches * batch_size / (time.perf_counter() - start)


class EpochTimes(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.times = []

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.times.append(time.perf_counter() - self.start)


def training_rate(model_name, dataset, steps, batch_size, epochs, classes):
    keras.utils.set_random_seed(0)
    model = keras_cnns.create_model(model_name, num_classes=classes, input_shape=(224, 224, 3))
    model.compile(optimizer=keras.optimizers.SGD(0.01, momentum=0.9), loss="sparse_categorical_crossentropy")
    timer = EpochTimes()
    model.fit(dataset, epochs=epochs, steps_per_epoch=steps, callbacks=[timer], verbose=0, shuffle=False)
    return steps * batch_size / np.mean(timer.times[1:])  # the first epoch traces


def machine():
    cpu = platform.processor() or "unknown CPU"
    if os.path.exists("/proc/cpuinfo"):
        names = [line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")]
        cpu = names[0] if names else cpu
    gpus = tf.config.list_physical_devices("GPU")
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30 if hasattr(os, "sysconf") else 0
    return (
        f"{cpu}, {os.cpu_count()} cores visible, {memory:.0f} GiB memory, {len(gpus)} GPU; "
        f"Python {platform.python_version()}, "
        f"TensorFlow {tf.__version__}, Keras {keras.__version__}"
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="resnet50")
    parser.add_argument("--images", type=int, default=256, help="JPEGs in the generated folder")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--batches", type=int, default=6, help="timed batches per preset")
    parser.add_argument("--epochs", type=int, default=3, help="training epochs (the first is not timed)")
    parser.add_argument("--steps", type=int, default=2, help="training steps per epoch")
    parser.add_argument("--dtype-policy", default="float32", help="e.g. mixed_bfloat16")
    args = parser.parse_args(argv)
    keras.config.set_dtype_policy(args.dtype_policy)

    with tempfile.TemporaryDirectory() as root:
        make_folder(root, args.images)
        spec = f"folder:{root}"
        print(f"## Input pipeline ({time.strftime('%Y-%m-%d')})\n\nMachine: {machine()}.\n")
        print(f"Pipeline alone: {args.images} JPEGs of 500x375, 224x224 output, batch {args.batch_size}, "
              f"{args.batches} batches after a warm-up batch.\n")
        print("| preset | images/s |\n|---|---:|")
        for preset in augment.PRESETS:
            print(f"| {preset} | {pipeline_rate(spec, preset, args.model, args.batch_size, args.batches):.0f} |", flush=True)

        data = load_dataset(spec, preprocessing=keras_cnns.model_info(args.model).preprocessing, image_size=224,
                            batch_size=args.batch_size, preset="resnet")
        real = training_rate(args.model, data.train.repeat(), args.steps, args.batch_size, args.epochs, data.num_classes)
        images, labels = next(iter(data.train))
        memory = tf.data.Dataset.from_tensors((images, labels)).repeat()  # one batch, already in memory
        held = training_rate(args.model, memory, args.steps, args.batch_size, args.epochs, data.num_classes)
        print(f"\nTraining {args.model} at 224x224 ({args.dtype_policy}, batch {args.batch_size}, "
              f"{args.steps} steps an epoch, epochs 2-{args.epochs} timed):\n")
        print("| fed by | images/s |\n|---|---:|")
        print(f"| tensors in memory | {held:.2f} |\n| folder pipeline, preset resnet | {real:.2f} |")
        print(f"\nPipeline / in-memory: {real / held:.1%} (target: at least 90 %).")


if __name__ == "__main__":
    main()
