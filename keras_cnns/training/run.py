"""One training run: data, model, optimizer, ``model.fit`` under a strategy, outputs.

``train(config)`` is what ``python train.py`` calls; it returns the final validation
metrics. The run's folder receives ``config.json``, ``last.keras``, ``best.keras``,
``history.csv``, ``logs/`` (TensorBoard), ``curves.png``, ``metrics.json`` and
``saved_model/`` (the inference model, without auxiliary heads), ``run.json`` (the
``RunRecord``: classes, preprocessing, input size, starting weights, which ``predict``,
``evaluate``, ``export`` and ``--weights RUN`` read) and ``backup/`` while it trains.
A run may start from pretrained weights and freeze its backbone for a while
(``keras_cnns.training.finetune``).
"""

import dataclasses
import json
import os
import shutil
import time

import keras
import tensorflow as tf

from keras_cnns.data import load_dataset
from keras_cnns.models import inference_model, model_info
from keras_cnns.training import callbacks as cbs
from keras_cnns.training import finetune
from keras_cnns.training.config import RESUMABLE, TrainConfig, check, default_output, latest_output
from keras_cnns.training.schedules import Plateau, make_schedule, warmup_start
from keras_cnns.training.strategy import (
    build_before_fit,
    describe_devices,
    make_strategy,
    synchronize_batch_norm,
    worker,
)
from keras_cnns.weights import RunRecord, write_run
from keras_cnns.weights.base import reset_classifier


class NanLossError(RuntimeError):
    """Training stopped on a NaN or infinite loss; ``reason`` says where ("the loss
    became nan at step 5")."""

    def __init__(self, message, reason=""):
        super().__init__(message)
        self.reason = reason


def _output_folder(config):
    if config.resume and not config.output:
        found = latest_output(config.arch)
        if found is None:
            raise ValueError(f"--resume found no earlier run in runs/{config.arch}-*: pass --output DIR. Received: resume=True")
        return found
    return config.output or default_output(config.arch)


def _resumed_config(config, folder):
    path = os.path.join(folder, "config.json")
    if not os.path.exists(path):
        raise ValueError(f"--resume needs the config.json of an earlier run in {folder}. Received: output={folder!r}")
    with open(path) as f:
        saved = TrainConfig(**json.load(f))
    changed = {
        f.name: (getattr(saved, f.name), getattr(config, f.name))
        for f in dataclasses.fields(config)
        if f.name not in RESUMABLE and getattr(saved, f.name) != getattr(config, f.name)
        and getattr(config, f.name) is not None
    }
    # Options left to their defaults on the command line fall back to the saved run's.
    explicit = {k: v for k, v in changed.items() if config._given is None or k in config._given}
    if explicit:
        listing = ", ".join(f"{k}={new!r} (run: {old!r})" for k, (old, new) in explicit.items())
        raise ValueError(f"A resumed run keeps its configuration; only {sorted(RESUMABLE - {'resume'})} may change. Received: {listing}")
    given = config._given or set()
    kept = {name: getattr(config if name in given else saved, name) for name in RESUMABLE - {"resume", "output"}}
    return dataclasses.replace(saved, **kept, resume=True, output=folder)


def _optimizer(config, schedule, model):
    """The run's optimizer; with a ``backbone_lr_scale`` other than 1, its scaled twin
    (``finetune.BackboneScaledLR``), the classifiers' weights at the full rate."""
    options = dict(clipnorm=config.clipnorm) if config.clipnorm else {}
    if config.optimizer in ("sgd", "nesterov"):
        kind = keras.optimizers.SGD
        options.update(momentum=config.momentum, nesterov=config.optimizer == "nesterov")
    elif config.optimizer == "rmsprop":
        kind = keras.optimizers.RMSprop
        options.update(rho=config.rmsprop_rho, momentum=config.momentum, epsilon=config.rmsprop_epsilon)
    elif config.optimizer == "adam":
        kind = keras.optimizers.Adam
    else:
        kind = keras.optimizers.AdamW
        options.update(weight_decay=config.weight_decay)
    if config.backbone_lr_scale != 1:
        kind = finetune.SCALED[kind]
        options.update(backbone_lr_scale=config.backbone_lr_scale, head=finetune.head_paths(model))
    return kind(schedule, **options)


def _weight_decay(model, optimizer, config):
    """The papers' weight decay: an L2 penalty on the kernels whose gradient is
    ``weight_decay * w`` (Caffe, TF-slim, torch); AdamW's is decoupled. Biases and
    batch-norm parameters are not decayed."""
    vectors = [v for v in model.trainable_variables if len(v.shape) < 2]
    if config.optimizer == "adamw":
        optimizer.exclude_from_weight_decay(var_list=vectors)
        return
    if config.weight_decay:
        for variable in model.trainable_variables:
            if len(variable.shape) >= 2:
                variable.regularizer = keras.regularizers.L2(config.weight_decay / 2)


def _model(config, info, num_classes, channels):
    """The training model: ``info``'s builder with ``config.model_args`` (the builder's
    own keyword arguments, e.g. a search's widths, checked by ``check``), and auxiliary
    heads when ``config.aux_loss_weight`` asks for them and the input is large enough
    (``info.aux_min_size``); the note says why they were left out, or is None."""
    options = dict(config.model_args or {}, num_classes=num_classes,
                   input_shape=(config.image_size, config.image_size, channels), data_format="channels_last")
    if config.weights is not None:
        options["weights"] = config.weights  # the classifier is rebuilt when the classes differ
    if config.dropout is not None:
        options["dropout"] = config.dropout
    note = None
    if config.aux_loss_weight:
        size = config.image_size
        if info.aux_min_size is None:
            note = f"{info.name} has no auxiliary classifiers: aux_loss_weight ignored"
        elif size < info.aux_min_size:
            note = (f"no auxiliary classifiers at {size}x{size} ({info.name}'s need an input of at least "
                    f"{info.aux_min_size}x{info.aux_min_size})")
        else:
            options["aux_logits"] = True
    return info.builder(**options), note


def _metrics(soft):
    if soft:
        return [keras.metrics.CategoricalAccuracy(name="accuracy"), keras.metrics.TopKCategoricalAccuracy(5, name="top5")]
    return [keras.metrics.SparseCategoricalAccuracy(name="accuracy"), keras.metrics.SparseTopKCategoricalAccuracy(5, name="top5")]


def _distribute_options(dataset):
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return dataset.with_options(options)


def train(config, log=print, extra_callbacks=()):
    """Trains ``config.arch`` as ``config`` says; returns ``{"top1", "top5", "loss", ...}``.

    Args:
        config: a ``TrainConfig`` (``keras_cnns.training.resolve``).
        log: where the run's one-line messages go.
        extra_callbacks: more Keras callbacks, called after the run's own.

    Raises:
        ValueError: a bad option, before anything is trained.
        NanLossError: the loss became NaN or infinite (the last good backup and
            checkpoints are kept).
    """
    started = time.time()
    folder = _output_folder(config)
    if config.resume:
        config = _resumed_config(config, folder)
    elif os.path.exists(os.path.join(folder, cbs.BACKUP, "training_metadata.json")):
        raise ValueError(f"{folder} already holds a run: continue it with --resume or pick another --output. Received: output={folder!r}")
    config.output = folder
    info = model_info(config.arch)
    check(config, info)  # a config of another version, or changed since resolve
    worker_info = worker()

    strategy = make_strategy(config.strategy, config.cpu_replicas)
    replicas = strategy.num_replicas_in_sync
    if config.batch_size % replicas:
        raise ValueError(
            f"The global batch must divide by the {replicas} replicas. Received: batch_size={config.batch_size}"
        )
    keras.utils.set_random_seed(config.seed)
    previous_policy = keras.config.dtype_policy()
    if config.mixed_precision:
        keras.config.set_dtype_policy("mixed_float16" if tf.config.list_logical_devices("GPU") else "mixed_bfloat16")
    try:
        return _train(config, info, strategy, replicas, worker_info, started, log, list(extra_callbacks))
    finally:
        keras.config.set_dtype_policy(previous_policy)


def preprocessing(config, info):
    """How the run prepares its images: as its starting weights expect (their
    descriptor's, a run's own), else as a model trained from scratch
    (``info.preprocessing``)."""
    descriptor, _ = info.resolve_weights(config.weights)
    return descriptor.preprocessing if descriptor is not None else info.preprocessing


def load_data(config, info):
    """The run's ``Data``, its class count and training steps per epoch; fills in
    ``config.image_size`` (the model's default when not given). Images are prepared as
    ``preprocessing(config, info)`` says, whatever the augmentation."""
    config.image_size = config.image_size or info.default_size
    data = load_dataset(
        config.dataset, image_size=config.image_size, preprocessing=preprocessing(config, info),
        batch_size=config.batch_size,
        preset=config.augment, randaugment=tuple(config.randaugment) if config.randaugment else None,
        random_erasing=config.random_erasing, mixup_alpha=config.mixup, cutmix_alpha=config.cutmix,
        label_smoothing=config.label_smoothing, seed=config.seed, data_dir=config.data_dir,
        download=bool(config.download),
    )
    if config.num_classes is not None and config.num_classes < data.num_classes:
        raise ValueError(f"{config.dataset} has {data.num_classes} classes. Received: num_classes={config.num_classes}")
    steps = data.train_count // config.batch_size
    if steps == 0:
        raise ValueError(f"{config.dataset} has {data.train_count} training examples, fewer than one batch. Received: batch_size={config.batch_size}")
    return data, config.num_classes or data.num_classes, steps


def compile_model(config, info, data, num_classes, steps):
    """The compiled training model and a note (or None) on auxiliary heads left out.

    Call it under the strategy's scope: under MirroredStrategy (whatever the number of
    replicas) batch norm is synchronized, so that 1 and N devices compute the same batch
    statistics the same way.
    """
    model, note = _model(config, info, num_classes, preprocessing(config, info).channels)
    record = getattr(info.resolve_weights(config.weights)[0], "record", None)
    if record is not None and record.num_classes == num_classes and tuple(record.class_names) != tuple(data.class_names):
        reset_classifier(model)  # a run's classifier of as many, but other, classes
        note = "; ".join(filter(None, [note, "a new classifier: the dataset's classes are not those of the run the weights come from"]))
    if tf.distribute.has_strategy():
        synchronize_batch_norm(model)
    if config.bn_frozen:  # never trained, so never in the optimizer
        finetune.set_trainable(model, backbone=True, bn_frozen=True)
    optimizer = _optimizer(config, make_schedule(config, steps), model)
    _weight_decay(model, optimizer, config)
    _compile(model, optimizer, config, data)
    return model, note


def _compile(model, optimizer, config, data):
    """Compiles ``model`` for the run; called again, with the same (built) optimizer,
    when the backbone is frozen or unfrozen."""
    outputs = len(model.outputs)
    loss = _loss(data)
    model.compile(
        optimizer=optimizer,
        loss=[loss] * outputs if outputs > 1 else loss,
        loss_weights=[1.0] + [config.aux_loss_weight] * (outputs - 1) if outputs > 1 else None,
        metrics=[_metrics(data.soft_labels)] + [[] for _ in range(outputs - 1)] if outputs > 1 else _metrics(data.soft_labels),
        jit_compile=bool(config.jit_compile),
        steps_per_execution=1,
    )


def _loss(data):
    return keras.losses.CategoricalCrossentropy() if data.soft_labels else keras.losses.SparseCategoricalCrossentropy()


def fit(model, config, data, steps, *, folder, backup_dir, history, chief, initial_epoch=0, initial_step=0,
        extra=(), verbose="auto", checkpoints=True):
    """Trains the compiled ``model`` from (``initial_epoch``, ``initial_step``) to
    ``config.epochs`` with the run's callbacks: NaN guard, plateau schedule,
    ``last.keras`` / ``best.keras`` in ``folder`` (chief, with ``checkpoints``),
    ``history`` (CSV), TensorBoard logs (chief) and the backup in ``backup_dir``, then
    ``extra``. A resume in the middle of an epoch finishes that epoch first.

    With ``config.freeze_epochs`` the epochs run in phases (``finetune.phases``): the
    optimizer is built over every trainable weight first, then the model is recompiled
    with the backbone frozen or not at each phase's start, the same optimizer carrying
    its state (and the schedule its step count) across.

    Raises:
        NanLossError: the loss became NaN or infinite.
    """
    outputs = len(model.outputs)

    def labels_for_outputs(dataset):
        dataset = dataset.map(lambda x, y: (x, (y,) * outputs)) if outputs > 1 else dataset
        return _distribute_options(dataset)

    validation = labels_for_outputs(data.validation)
    spec = labels_for_outputs(data.epochs(0, 1)).element_spec
    build_before_fit(model, spec)  # the optimizer, over every weight that will train

    guard = cbs.NanGuard()
    plateau = None
    if config.schedule == "plateau":
        plateau = Plateau(config.lr, steps, config.warmup_epochs, **(config.schedule_args or {}),
                          warmup_start=warmup_start(config))
    saving = chief and checkpoints
    monitor = "val_accuracy" if outputs == 1 else f"val_{model.output_names[0]}_accuracy"
    best = cbs.Checkpoints(folder, monitor=monitor, guard=guard)
    states = {"checkpoints": best, **({"plateau": plateau} if plateau else {})}

    def callbacks(step_offset):
        backup = cbs.Backup(backup_dir, save_freq=config.save_every or "epoch", states=states, guard=guard,
                            step_offset=step_offset)
        # The backup comes last: it saves the state the others reached at the epoch's end.
        listed = [guard, *([plateau] if plateau else []), *([best] if saving else []),
                  cbs.HistoryCSV(history, initial_epoch), backup]
        if chief:
            listed.append(keras.callbacks.TensorBoard(os.path.join(folder, "logs")))
        return listed + list(extra)

    for start, stop, frozen in finetune.phases(config):
        if initial_epoch >= stop or guard.bad:
            continue
        if config.freeze_epochs:
            finetune.set_trainable(model, backbone=not frozen, bn_frozen=config.bn_frozen)
            _compile(model, model.optimizer, config, data)
            build_before_fit(model, spec)  # the new metrics
        if initial_step:  # finish the interrupted epoch first
            rest = labels_for_outputs(data.epochs(initial_epoch, initial_epoch + 1).skip(initial_step))
            model.fit(rest, validation_data=validation, epochs=initial_epoch + 1, initial_epoch=initial_epoch,
                      steps_per_epoch=steps - initial_step, callbacks=callbacks(initial_step), verbose=verbose,
                      shuffle=False)
            initial_epoch, initial_step = initial_epoch + 1, 0
        if initial_epoch < stop and not guard.bad:
            train_data = labels_for_outputs(data.epochs(initial_epoch, stop))
            model.fit(train_data, validation_data=validation, epochs=stop, initial_epoch=initial_epoch,
                      steps_per_epoch=steps, callbacks=callbacks(0), verbose=verbose, shuffle=False)
            initial_epoch = stop
    if guard.bad:
        raise NanLossError(
            f"Training stopped: {guard.bad}. The last good weights are in {backup_dir}"
            + (f" and {folder}/last.keras" if saving else "") + "; lower --lr or set --clipnorm, then --resume.",
            reason=guard.bad,
        )


def _train(config, info, strategy, replicas, worker_info, started, log, extra):
    index, _, chief = worker_info
    folder = config.output
    log(describe_devices(strategy))
    data, num_classes, steps = load_data(config, info)
    os.makedirs(folder, exist_ok=True)
    descriptor, _ = info.resolve_weights(config.weights)
    if chief:
        with open(os.path.join(folder, "config.json"), "w") as f:
            f.write(config.to_json())
        write_run(folder, RunRecord(
            arch=info.name, class_names=tuple(data.class_names), preprocessing=preprocessing(config, info),
            image_size=config.image_size, dataset=config.dataset, weights=config.weights,
            weights_label=descriptor.label if descriptor is not None else "", model_args=dict(config.model_args or {}),
        ))
    # Every worker backs up (saving is not collective); only the chief's files are the run's.
    backup_dir = os.path.join(folder, cbs.BACKUP if chief else f"{cbs.BACKUP}-worker{index}")
    os.makedirs(backup_dir, exist_ok=True)
    saved = cbs.Backup.read(backup_dir) if config.resume else None
    initial_epoch, initial_step = (saved["epoch"], saved["batch"]) if saved else (0, 0)

    with strategy.scope():
        model, note = compile_model(config, info, data, num_classes, steps)
    if note:
        log(f"note: {note}")
    outputs = len(model.outputs)
    history = os.path.join(folder if chief else backup_dir, "history.csv")
    verbose = config.verbose if config.verbose == "auto" else int(config.verbose)
    log(f"{info.name} on {config.dataset} ({data.train_count} training, {data.validation_count} validation images, "
        f"{num_classes} classes) at {config.image_size}x{config.image_size}: {config.recipe} recipe, "
        f"{config.optimizer} lr {config.lr:g}, {config.schedule} schedule, batch {config.batch_size} over "
        f"{replicas} replica{'s' if replicas > 1 else ''}, {config.epochs} epochs; output in {folder}")
    if descriptor is not None:
        frozen = {0: "", -1: "; backbone frozen for the whole run"}.get(
            config.freeze_epochs, f"; backbone frozen for {config.freeze_epochs} epoch{'s' if config.freeze_epochs > 1 else ''}")
        scale = f"; backbone lr x{config.backbone_lr_scale:g}" if config.backbone_lr_scale != 1 else ""
        log(f"from the {descriptor.label} weights ({descriptor.num_classes or '?'} classes)"
            + frozen + scale + ("; batch norm frozen" if config.bn_frozen else ""))
    if initial_epoch or initial_step:
        log(f"resuming at epoch {initial_epoch + 1}" + (f", step {initial_step}" if initial_step else ""))
    fit(model, config, data, steps, folder=folder, backup_dir=backup_dir, history=history, chief=chief,
        initial_epoch=initial_epoch, initial_step=initial_step, extra=extra, verbose=verbose)

    single = inference_model(model)
    rows = cbs.read_history(history)
    prefix = "val_" if outputs == 1 else f"val_{model.output_names[0]}_"
    last = rows[-1] if rows and int(rows[-1]["epoch"]) == config.epochs else {}
    if all(last.get(prefix + key) for key in ("accuracy", "top5", "loss")):  # the last epoch's validation
        scores = {key: float(last[prefix + key]) for key in ("accuracy", "top5", "loss")}
    else:  # nothing trained in this call (a finished run resumed)
        single.compile(loss=_loss(data), metrics=_metrics(data.soft_labels))
        scores = single.evaluate(_distribute_options(data.validation), verbose=0, return_dict=True)
    metrics = {"top1": float(scores["accuracy"]), "top5": float(scores["top5"]), "loss": float(scores["loss"]),
               "epochs": config.epochs, "seconds": round(time.time() - started, 1)}
    if chief:
        with open(os.path.join(folder, "metrics.json"), "w") as f:
            json.dump(metrics, f, indent=2)
        cbs.plot_curves(history, os.path.join(folder, "curves.png"), title=f"{info.name} on {config.dataset}")
        if config.export:
            export = os.path.join(folder, "saved_model")
            shutil.rmtree(export, ignore_errors=True)
            single.export(export, verbose=False)
    return metrics
