"""``CNNHyperModel``: a keras-tuner HyperModel of any registered architecture.

It builds its trials from the registry and trains them with ``keras_cnns.training``:
``build(hp)`` turns the hyperparameter values into a ``TrainConfig`` (the search's base
configuration with the trial's values) and compiles the model ``train.py`` would;
``fit(hp, model, ...)`` loads the data at the trial's batch size and augmentation and
trains with train.py's callbacks, backing up into the trial's folder after every epoch,
so that an interrupted trial resumes where it stopped.

A trial whose values cannot make a model (a kernel and stride that make a feature map
vanish at the input size, a batch that does not divide by the replicas) raises
``SkippedTrial("invalid: ...")``; one whose loss becomes NaN raises
``SkippedTrial("diverged: ...")``. keras-tuner records either as a failed trial, with
the ``SkippedTrial.record`` as its message (``keras_cnns.tuning.search.Tuner``), and the
search goes on.
"""

import dataclasses
import json
import os
import shutil
import time

import keras
import keras_tuner
import tensorflow as tf

from keras_cnns.models import model_info
from keras_cnns.training import NanLossError
from keras_cnns.training import callbacks as cbs
from keras_cnns.training.config import check
from keras_cnns.training.run import compile_model, fit, load_data
from keras_cnns.tuning.spaces import get_space, training_fields

#: What keras-tuner maximizes: the best epoch's validation top-1 accuracy.
OBJECTIVE = "val_accuracy"
#: Hyperparameters keras-tuner's Hyperband adds to every trial.
HYPERBAND_PREFIX = "tuner/"


class SkippedTrial(keras_tuner.errors.FailedTrialError):
    """A trial skipped for what its values are: ``invalid`` (no model can be built or
    trained with them) or ``diverged`` (the loss became NaN or infinite)."""

    def __init__(self, kind, reason):
        super().__init__(f"{kind}: {reason}")
        self.kind, self.reason = kind, reason

    def record(self):
        """The trial message that says so: a JSON record (``skipped``), which the search's
        tuner puts in place of the traceback keras-tuner keeps for a failed trial. The
        message is the one field of a trial that reaches the oracle, on the chief too."""
        return json.dumps({"skipped": self.kind, "reason": self.reason})


def skipped(message):
    """``(kind, reason)`` of a trial message that is a ``SkippedTrial.record``, or None."""
    try:
        record = json.loads(message or "")
    except ValueError:  # a traceback: the trial failed
        return None
    return (record["skipped"], record["reason"]) if isinstance(record, dict) and "skipped" in record else None


class _Objective(keras.callbacks.Callback):
    """With auxiliary heads Keras names the main accuracy ``val_head_accuracy``: copy it
    to ``val_accuracy``, the objective keras-tuner's callbacks read."""

    def __init__(self, key):
        super().__init__()
        self.key = key

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None and self.key in logs:
            logs[OBJECTIVE] = logs[self.key]


class CNNHyperModel(keras_tuner.HyperModel):
    """A keras-tuner ``HyperModel`` of a registered architecture and a search space.

    Args:
        config: the base ``TrainConfig`` (``keras_cnns.training.resolve``): the
            architecture, dataset, recipe, epochs and every value a trial does not set.
        space: a ``Space`` name (``keras_cnns.tuning.SPACES``) or None for the
            architecture's own (``zfnet`` for AlexNet).
        fixed: dict of knob values not to search (e.g. ``{"conv1_kernel": 7}``). The
            knobs ``config`` was given a value for (``resolve({"lr": 0.01, ...})``, a
            command-line option, a config file) are fixed too.
        log: where one-line messages go.

    Examples:

    >>> import keras_tuner
    >>> from keras_cnns.training import resolve
    >>> hypermodel = CNNHyperModel(resolve({"arch": "alexnet", "epochs": 2}), space="zfnet", fixed={"towers": 1})
    >>> hp = keras_tuner.HyperParameters()
    >>> hypermodel.declare_hyperparameters(hp)
    >>> config = hypermodel.trial_config(hp)   # the defaults: AlexNet on one tower
    >>> config.arch, config.optimizer, config.lr, [row[4] for row in config.model_args["convs"]]
    ('alexnet', 'adamw', 0.001, [1, 1, 1, 1, 1])
    """

    def __init__(self, config, space=None, fixed=None, log=print):
        self.info = model_info(config.arch)
        self.space = get_space(space, config.arch)
        super().__init__(name=f"{config.arch}-{self.space.name}")
        self.base = config
        self.fixed = {**self._given(), **(fixed or {})}
        self.log = log
        unknown = sorted(set(fixed or {}) - {knob.name for knob in self.space.all_knobs})
        if unknown:
            raise ValueError(f"Unknown knobs {unknown}; the {self.space.name} space has "
                             f"{[knob.name for knob in self.space.all_knobs]}. Received: fixed={fixed}")
        self._data = None

    def _given(self):
        """The knobs of the space that the base configuration was given a value for."""
        given = self.base._given or set()
        knobs = {knob.name for knob in self.space.all_knobs}
        fixed = {name: getattr(self.base, name) for name in knobs & given}
        if "randaugment" in given and "randaugment_magnitude" in knobs:
            fixed["randaugment_magnitude"] = self.base.randaugment[1] if self.base.randaugment else 0
        return fixed

    def _defaults(self):
        """A knob's default is the base configuration's value where it has one."""
        base = dataclasses.asdict(self.base)
        base["randaugment_magnitude"] = self.base.randaugment[1] if self.base.randaugment else 0
        return base

    def values(self, hp):
        """Declares the space in ``hp`` (fixed knobs as ``Fixed``) and returns its values."""
        defaults = self._defaults()
        values = {}
        for knob in self.space.all_knobs:
            if knob.name in self.fixed:
                values[knob.name] = hp.Fixed(knob.name, self.fixed[knob.name])
            else:
                values[knob.name] = knob.declare(hp, defaults.get(knob.name))
        return values

    def declare_hyperparameters(self, hp):
        self.values(hp)

    def trial_config(self, hp):
        """The ``TrainConfig`` of the trial with values ``hp`` (raises ``SkippedTrial``
        when the values make no valid configuration)."""
        return self._trial(hp)[0]

    def _trial(self, hp):
        """The trial's ``TrainConfig`` and the ``ModelInfo`` of its architecture."""
        values = self.values(hp)
        arch, model_args = self.space.model(self.info, values)
        info = model_info(arch)
        epochs = hp.values.get(f"{HYPERBAND_PREFIX}epochs", self.base.epochs)
        config = dataclasses.replace(
            self.base, arch=arch, model_args={**(self.base.model_args or {}), **model_args} or None,
            image_size=self.base.image_size or info.default_size, epochs=epochs,
            warmup_epochs=min(self.base.warmup_epochs, epochs - 1), **training_fields(values, self.base),
        )
        config._given = self.base._given
        try:
            check(config, info)
        except ValueError as e:
            raise SkippedTrial("invalid", str(e)) from None
        return config, info

    def _load(self, config, info):
        """The data of ``config`` (the last one is kept: build and fit share it)."""
        fields = ("dataset", "arch", "image_size", "batch_size", "augment", "randaugment", "random_erasing", "mixup",
                  "cutmix", "label_smoothing", "seed", "data_dir", "download")
        key = tuple(str(getattr(config, name)) for name in fields)
        if self._data is None or self._data[0] != key:
            self._data = (key, *load_data(config, info))
        return self._data[1:]

    def check_data(self):
        """Loads the dataset once, so that a missing one fails before any trial."""
        load_data(dataclasses.replace(self.base, batch_size=1), self.info)

    def build(self, hp):
        """The compiled model of the trial (under the tuner's strategy scope)."""
        config, info = self._trial(hp)
        try:
            data, num_classes, steps = self._load(config, info)
        except ValueError as e:  # e.g. fewer examples than one batch of this trial's size
            raise SkippedTrial("invalid", str(e).splitlines()[0]) from None
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        if config.batch_size % replicas:
            raise SkippedTrial("invalid", f"the global batch must divide by the {replicas} replicas. "
                                          f"Received: batch_size={config.batch_size}")
        keras.utils.set_random_seed(config.seed)  # each trial starts as train.py would
        try:
            model, note = compile_model(config, info, data, num_classes, steps)
        except ValueError as e:  # e.g. a feature map that vanishes at this input size
            raise SkippedTrial("invalid", str(e).splitlines()[0]) from None
        if note:
            self.log(f"note: {note}")
        return model

    def fit(self, hp, model, *args, callbacks=(), epochs=None, initial_epoch=0, verbose="auto", trial_dir=None,
            **kwargs):
        """Trains the trial's ``model`` as train.py does; returns the best epoch's
        ``val_accuracy`` (keras-tuner's objective) with its ``val_loss``, the epochs
        trained and the seconds taken.

        The data comes from the configuration's dataset spec, at the trial's
        ``batch_size``: positional data arguments are not accepted. ``epochs`` and
        ``initial_epoch`` are Hyperband's. With ``trial_dir`` (found from keras-tuner's
        own callback when not given) the trial backs up there after every epoch, and
        a trial started again resumes from its backup.
        """
        if args or kwargs:
            raise ValueError(
                "CNNHyperModel.fit reads its data from the configuration's dataset spec. "
                f"Received: {len(args)} positional arguments and {sorted(kwargs)}"
            )
        started = time.time()
        config, info = self._trial(hp)
        if epochs is not None:
            config.epochs = epochs
        data, num_classes, steps = self._load(config, info)
        trial_dir = trial_dir or _trial_dir(callbacks)
        backup_dir = os.path.join(trial_dir, cbs.BACKUP)
        saved = cbs.Backup.read(backup_dir)
        initial_step = 0
        if saved:
            initial_epoch, initial_step = saved["epoch"], saved["batch"]
            self.log(f"resuming the trial in {trial_dir} at epoch {initial_epoch + 1}"
                     + (f", step {initial_step}" if initial_step else ""))
        elif initial_epoch:  # Hyperband continues a trial: its schedule goes on from there
            model.optimizer.iterations.assign(initial_epoch * steps)
        extra = list(callbacks)
        if len(model.outputs) > 1:
            extra.insert(0, _Objective(f"val_{model.output_names[0]}_accuracy"))
        try:
            fit(model, config, data, steps, folder=trial_dir, backup_dir=backup_dir,
                history=os.path.join(trial_dir, "history.csv"), chief=True, initial_epoch=initial_epoch,
                initial_step=initial_step, extra=extra, verbose=verbose, checkpoints=False)
        except NanLossError as e:
            raise SkippedTrial("diverged", e.reason) from None
        rows = [row for row in cbs.read_history(os.path.join(trial_dir, "history.csv")) if row.get(_key(model))]
        if not rows:
            raise RuntimeError(f"The trial in {trial_dir} recorded no validation accuracy.")
        best = max(rows, key=lambda row: float(row[_key(model)]))
        shutil.rmtree(backup_dir, ignore_errors=True)  # finished: nothing left to resume
        return {OBJECTIVE: float(best[_key(model)]), "val_loss": float(best[_key(model).replace("accuracy", "loss")]),
                "epochs": float(config.epochs), "seconds": round(time.time() - started, 1)}


def _key(model):
    return OBJECTIVE if len(model.outputs) == 1 else f"val_{model.output_names[0]}_accuracy"


def _trial_dir(callbacks):
    """The trial's folder, from the ``TunerCallback`` keras-tuner passes to ``fit``."""
    for callback in callbacks:
        tuner, trial = getattr(callback, "tuner", None), getattr(callback, "trial", None)
        if tuner is not None and trial is not None:
            return tuner.get_trial_dir(trial.trial_id)
    raise ValueError("CNNHyperModel.fit needs trial_dir= outside a keras-tuner search. Received: trial_dir=None")

