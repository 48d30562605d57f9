"""tf.distribute for train.py: which strategy, synchronized batch norm, multi-worker.

- ``auto``: ``MirroredStrategy`` over every visible GPU when there are several (or over
  ``cpu_replicas`` logical CPUs), else the default strategy.
- ``mirrored``: ``MirroredStrategy`` over the GPUs, or the logical CPUs.
- ``multiworker``: ``MultiWorkerMirroredStrategy`` from the ``TF_CONFIG`` environment
  variable, one process per machine.

Create one strategy per process, before any other TensorFlow op (logical CPU devices
can only be set up then).
"""

import json
import os

import keras
import tensorflow as tf


def split_cpu(replicas):
    """Splits the CPU into ``replicas`` logical devices; must run before any TF op."""
    cpu = tf.config.list_physical_devices("CPU")[0]
    current = tf.config.get_logical_device_configuration(cpu)
    if current is not None and len(current) == replicas:
        return
    try:
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * replicas)
    except RuntimeError:
        raise ValueError(
            "--cpu-replicas must be set up before TensorFlow runs anything: run train.py in a "
            f"fresh process. Received: cpu_replicas={replicas}"
        ) from None


def make_strategy(name="auto", cpu_replicas=None):
    """The ``tf.distribute.Strategy`` that ``name`` means on this machine."""
    if cpu_replicas and cpu_replicas > 1:
        split_cpu(cpu_replicas)
    if name == "multiworker":  # before anything that starts TensorFlow's runtime
        if not os.environ.get("TF_CONFIG"):
            raise ValueError(
                "--strategy multiworker reads the cluster from the TF_CONFIG environment "
                "variable, which is not set. Received: TF_CONFIG=None"
            )
        try:
            json.loads(os.environ["TF_CONFIG"])
        except ValueError:
            raise ValueError(f"TF_CONFIG is not valid JSON. Received: TF_CONFIG={os.environ['TF_CONFIG']!r}") from None
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
        _patch_multiworker_metrics()
        return strategy
    gpus = tf.config.list_logical_devices("GPU")
    if gpus:
        devices = [d.name for d in gpus]
    else:
        devices = [d.name for d in tf.config.list_logical_devices("CPU")][: max(1, cpu_replicas or 1)]
    if name == "mirrored" or (name == "auto" and len(devices) > 1):
        return tf.distribute.MirroredStrategy(devices)
    return tf.distribute.get_strategy()


#: How to get TensorFlow's CUDA libraries (pyproject's ``gpu`` extra: ``tensorflow[and-cuda]``).
GPU_EXTRA = 'pip install -e ".[gpu]"'


def _cpu_only_reason():
    """Why TensorFlow sees no GPU, as far as this process can tell."""
    import ctypes

    if not tf.test.is_built_with_cuda():
        return "this TensorFlow build has no CUDA support"
    hidden = os.environ.get("CUDA_VISIBLE_DEVICES")
    if hidden is not None and hidden.strip() in ("", "-1"):
        return f"CUDA_VISIBLE_DEVICES={hidden!r} hides every GPU"
    try:
        ctypes.CDLL("libcuda.so.1")
    except OSError:
        return "no NVIDIA driver: libcuda.so.1 cannot be loaded"
    return (f"the NVIDIA driver loads, but TensorFlow's CUDA libraries are missing or do not match it "
            f"(install them with {GPU_EXTRA}; TensorFlow's log above names the library)")


def describe_devices(strategy):
    """One line saying what ``strategy`` trains on: the GPUs by name, or "CPU only" with
    the reason TensorFlow has no GPU, so that a box whose CUDA is broken does not train on
    its CPU unnoticed.

    >>> import tensorflow as tf
    >>> describe_devices(tf.distribute.get_strategy())  # doctest: +SKIP
    'devices: CPU only; no GPU because no NVIDIA driver: libcuda.so.1 cannot be loaded'
    """
    replicas = strategy.num_replicas_in_sync
    kind = type(strategy).__name__
    over = f" ({kind}, {replicas} replicas)" if replicas > 1 else ""
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        names = [tf.config.experimental.get_device_details(gpu).get("device_name", gpu.name) for gpu in gpus]
        counted = ", ".join(f"{names.count(name)} x {name}" for name in dict.fromkeys(names))
        return f"devices: {counted}{over}"
    return f"devices: CPU only{over}; no GPU because {_cpu_only_reason()}"


def worker():
    """``(index, count, is_chief)`` of this process in TF_CONFIG's cluster (0, 1, True alone)."""
    config = json.loads(os.environ.get("TF_CONFIG") or "{}")
    cluster, task = config.get("cluster", {}), config.get("task", {})
    workers = len(cluster.get("worker", [])) + len(cluster.get("chief", []))
    kind, index = task.get("type", "worker"), int(task.get("index", 0))
    if not workers:
        return 0, 1, True
    chief = kind == "chief" or (kind == "worker" and index == 0 and "chief" not in cluster)
    return index + (1 if kind == "worker" and "chief" in cluster else 0), workers, chief


def synchronize_batch_norm(model):
    """Turns on ``synchronized`` in every BatchNormalization layer of ``model``.

    Under MirroredStrategy, Keras 3's BatchNormalization normalizes each replica's share of
    the batch with its own statistics and keeps per-replica moving averages that drift
    apart; synchronized, the mean and variance are those of the global batch, as on one
    device. The attribute is read when the layer is called, so this works on a built model.
    """
    count = 0
    for layer in model._flatten_layers(include_self=False, recursive=True):
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.synchronized = True
            count += 1
    return count


def build_before_fit(model, element_spec):
    """Builds the compiled model's metrics, losses and optimizer from ``element_spec``.

    Keras 3.15's ``fit`` builds them under a strategy by drawing a real batch from the
    training iterator and averaging it across replicas (``_maybe_symbolic_build``). Under
    MultiWorkerMirroredStrategy that average fails outside a replica context
    (keras-team/keras#20585), and in every case it consumes the first batch of the epoch,
    which a resumed run would then skip. Building from the dataset's shapes first, then
    turning that step off for this model instance, avoids both.
    """
    strategy = model.distribute_strategy
    with strategy.scope():
        model._symbolic_build(data_batch=element_spec)
    if hasattr(model, "_maybe_symbolic_build"):  # the Keras 3.15 trainer method
        model._maybe_symbolic_build = lambda iterator=None, data_batch=None: None


def _patch_multiworker_metrics():
    """Lets Keras 3.15's ``fit`` report metrics under MultiWorkerMirroredStrategy.

    Keras averages each step's scalar metrics across workers with
    ``strategy.reduce("MEAN", value, axis=0)``, which fails on a scalar
    (keras-team/keras#20585). This averages them with ``axis=None`` instead, and leaves
    every other case to Keras. Applied once, only when a multi-worker strategy exists.
    """
    from keras.src.backend.tensorflow import trainer

    original = getattr(trainer, "reduce_per_replica", None)
    if original is None or getattr(original, "_keras_cnns_patch", False):
        return

    def reduce_per_replica(values, strategy, reduction):
        if reduction in ("auto", "mean") and trainer._collective_all_reduce_multi_worker(strategy):
            return keras.tree.map_structure(lambda v: strategy.reduce("MEAN", v, axis=None), values)
        return original(values, strategy, reduction)

    reduce_per_replica._keras_cnns_patch = True
    trainer.reduce_per_replica = reduce_per_replica
