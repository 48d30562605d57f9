"""Learning-rate schedules with linear warm-up, as functions of the optimizer's step.

``step``, ``exponential`` and ``cosine`` are a ``WarmupSchedule``: the learning rate is a
pure function of ``optimizer.iterations``, so a resumed run continues exactly. ``plateau``
depends on the validation loss: the optimizer keeps a plain learning rate (a variable
saved with the optimizer) that ``Plateau`` lowers, and whose warm-up it sets step by step.
"""

import math

import keras
from keras import ops

from keras_cnns.layers._base import register


@register
class WarmupSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warm-up, then a step, exponential or cosine decay (per epoch, in steps).

    Args:
        lr: learning rate after warm-up.
        steps_per_epoch: optimizer steps per epoch.
        epochs: length of the run, in epochs (cosine decays to 0 at its end).
        kind: "step", "exponential", "cosine" or "constant".
        warmup_epochs: epochs of linear warm-up from ``lr / warmup_steps`` to ``lr``.
        gamma: factor of "step" and "exponential".
        every: epochs between two "step" decays, or the epochs over which "exponential"
            multiplies the rate by ``gamma`` (smoothly).
        milestones: epochs at which "step" multiplies by ``gamma`` (instead of ``every``),
            or, with ``values``, switches to the next value.
        values: the learning rates between ``milestones`` (one more than milestones).
        warmup_start: the epoch the warm-up starts at (a fine-tuning run's unfreezing:
            the warm-up protects pretrained weights, which a frozen backbone needs not);
            before it the rate is ``lr``, and the decay starts after the warm-up.

    Examples:

    >>> schedule = WarmupSchedule(0.1, steps_per_epoch=10, epochs=90, kind="step", milestones=(30, 60))
    >>> [round(float(schedule(epoch * 10)), 4) for epoch in (0, 29, 30, 60)]
    [0.1, 0.1, 0.01, 0.001]
    """

    def __init__(self, lr, steps_per_epoch, epochs, kind="constant", warmup_epochs=0, gamma=0.1,
                 every=None, milestones=None, values=None, warmup_start=0):
        if kind not in ("step", "exponential", "cosine", "constant"):
            raise ValueError(f"Expected `kind` to be 'step', 'exponential', 'cosine' or 'constant'. Received: kind={kind!r}")
        if kind == "step" and not (every or milestones):
            raise ValueError(f"A step schedule needs `every` or `milestones`. Received: every={every}, milestones={milestones}")
        if values is not None and len(values) != len(milestones or ()) + 1:
            raise ValueError(f"Expected one more value than milestones. Received: milestones={milestones}, values={values}")
        self.lr = float(lr)
        self.steps_per_epoch = int(steps_per_epoch)
        self.epochs = int(epochs)
        self.kind = kind
        self.warmup_epochs = int(warmup_epochs)
        self.gamma = float(gamma)
        self.every = every
        self.milestones = list(milestones) if milestones is not None else None
        self.values = [float(v) for v in values] if values is not None else None
        self.warmup_start = int(warmup_start)

    def __call__(self, step):
        step = ops.cast(step, "float32")
        epoch = step / self.steps_per_epoch
        start = float(self.warmup_start * self.steps_per_epoch)
        warmup = float(self.warmup_epochs * self.steps_per_epoch)
        lr = ops.convert_to_tensor(self.lr, "float32")
        if self.kind == "step" and self.values is not None:
            lr = ops.convert_to_tensor(self.values[0], "float32")
            for milestone, value in zip(self.milestones, self.values[1:]):
                lr = ops.where(epoch >= milestone, value, lr)
        elif self.kind == "step" and self.milestones:
            passed = sum(ops.cast(epoch >= m, "float32") for m in self.milestones)
            lr = self.lr * ops.power(self.gamma, passed)
        elif self.kind == "step":
            lr = self.lr * ops.power(self.gamma, ops.floor(epoch / self.every))
        elif self.kind == "exponential":
            lr = self.lr * ops.power(self.gamma, epoch / self.every)
        elif self.kind == "cosine":
            total = max(1.0, self.epochs * self.steps_per_epoch - warmup - start)
            progress = ops.clip((step - warmup - start) / total, 0.0, 1.0)
            lr = 0.5 * self.lr * (1.0 + ops.cos(math.pi * progress))
        if warmup:
            lr = ops.where((step >= start) & (step < start + warmup), self.lr * (step - start + 1.0) / warmup, lr)
        return lr

    def get_config(self):
        return dict(lr=self.lr, steps_per_epoch=self.steps_per_epoch, epochs=self.epochs, kind=self.kind,
                    warmup_epochs=self.warmup_epochs, gamma=self.gamma, every=self.every,
                    milestones=self.milestones, values=self.values, warmup_start=self.warmup_start)


def warmup_start(config):
    """The epoch a run's warm-up starts at: a fine-tuning run warms up when its backbone
    starts training (``--freeze-epochs N``), any other run at once."""
    return max(0, config.freeze_epochs or 0)


def make_schedule(config, steps_per_epoch):
    """The optimizer's learning rate: a ``WarmupSchedule``, or a float for ``plateau``."""
    if config.schedule == "plateau":
        return config.lr
    args = dict(config.schedule_args or {})
    if config.schedule == "step" and not (args.get("every") or args.get("milestones")):
        args.setdefault("every", max(1, config.epochs // 3))  # a step schedule given without its steps
    if config.schedule == "exponential":
        args.setdefault("gamma", 0.94)
        args.setdefault("every", 2)
    allowed = {"gamma", "every", "milestones", "values"}
    unknown = sorted(set(args) - allowed)
    if unknown:
        raise ValueError(f"Unknown schedule_args {unknown} for schedule {config.schedule!r}; allowed: {sorted(allowed)}. Received: schedule_args={config.schedule_args}")
    return WarmupSchedule(config.lr, steps_per_epoch, config.epochs, config.schedule, config.warmup_epochs,
                          warmup_start=warmup_start(config), **args)


class Plateau(keras.callbacks.Callback):
    """The plateau schedule: warm-up per step, then the learning rate times ``factor``
    when the validation loss has not improved for ``patience`` epochs.

    Unlike ``keras.callbacks.ReduceLROnPlateau`` its counters are part of the run's
    backup (``get_state``/``set_state``), so a resumed run lowers the rate when the
    uninterrupted one would.
    """

    def __init__(self, lr, steps_per_epoch, warmup_epochs=0, factor=0.1, patience=5, min_lr=0.0,
                 monitor="val_loss", min_delta=1e-4, warmup_start=0):
        super().__init__()
        self.lr, self.steps_per_epoch, self.warmup_epochs = lr, steps_per_epoch, warmup_epochs
        self.warmup_start = warmup_start  # the epoch the warm-up starts at (WarmupSchedule's)
        self.factor, self.patience, self.min_lr = factor, patience, min_lr
        self.monitor, self.min_delta = monitor, min_delta
        self.best, self.wait = math.inf, 0

    def get_state(self):
        return {"best": self.best, "wait": self.wait}

    def set_state(self, state):
        self.best, self.wait = state["best"], state["wait"]

    def on_train_batch_begin(self, batch, logs=None):
        step = int(self.model.optimizer.iterations.numpy()) - self.warmup_start * self.steps_per_epoch
        warmup = self.warmup_epochs * self.steps_per_epoch
        if 0 <= step < warmup:
            self.model.optimizer.learning_rate.assign(self.lr * (step + 1) / warmup)
        elif step == warmup and warmup:
            self.model.optimizer.learning_rate.assign(self.lr)

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is None or epoch < self.warmup_start + self.warmup_epochs:
            return
        if value < self.best - self.min_delta:
            self.best, self.wait = float(value), 0
            return
        self.wait += 1
        if self.wait >= self.patience:
            lr = float(self.model.optimizer.learning_rate.numpy())
            new = max(lr * self.factor, self.min_lr)
            self.model.optimizer.learning_rate.assign(new)
            print(f"\nEpoch {epoch + 1}: validation loss stalled for {self.wait} epochs, learning rate {lr:.3g} -> {new:.3g}")
            self.wait = 0
