"""The vocabulary a family module declares itself with, besides its weights descriptors
(``keras_cnns.weights``): a training ``Recipe`` and a search ``Space``.

Both are data, read by generic engines: ``keras_cnns.training`` starts a run from a
variant's recipe, ``keras_cnns.tuning`` searches its space. They live here, below the
engines, so that a family module needs nothing from them.
"""

import dataclasses
import inspect
from typing import Callable

OPTIMIZERS = ("sgd", "nesterov", "rmsprop", "adam", "adamw")
SCHEDULES = ("step", "plateau", "exponential", "cosine")


@dataclasses.dataclass(frozen=True)
class Recipe:
    """How a model is trained.

    Attributes:
        optimizer: one of ``OPTIMIZERS`` ("nesterov" is SGD with Nesterov momentum).
        lr: initial learning rate at ``batch_size``.
        momentum: SGD momentum, or RMSProp's momentum.
        weight_decay: L2 penalty coefficient (as the papers state it).
        batch_size: global batch.
        epochs: training epochs.
        schedule: one of ``SCHEDULES``; ``schedule_args`` holds its parameters.
        schedule_args: dict, see ``keras_cnns.training.recipes``.
        warmup_epochs: epochs of linear warm-up.
        label_smoothing: label smoothing.
        dropout: dropout before the classifier, or None for the builder's default.
        augment: data augmentation preset (``keras_cnns.data.augment.PRESETS``).
        aux_loss_weight: weight of each auxiliary classifier's loss (GoogLeNet,
            Inception v3), 0 without auxiliary heads.
        rmsprop_rho, rmsprop_epsilon: RMSProp's decay and epsilon.
        clipnorm: clip each gradient to this norm, or None.
        source: where the recipe comes from.
        notes: what the source leaves out and where the value comes from instead.
    """

    optimizer: str
    lr: float
    momentum: float = 0.9
    weight_decay: float = 0.0
    batch_size: int = 256
    epochs: int = 90
    schedule: str = "step"
    schedule_args: dict = dataclasses.field(default_factory=dict)
    warmup_epochs: int = 0
    label_smoothing: float = 0.0
    dropout: float = None
    augment: str = "resnet"
    aux_loss_weight: float = 0.0
    rmsprop_rho: float = 0.9
    rmsprop_epsilon: float = 1.0
    clipnorm: float = None
    source: str = ""
    notes: str = ""

    def __post_init__(self):
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"Expected `optimizer` to be one of {list(OPTIMIZERS)}. Received: optimizer={self.optimizer!r}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"Expected `schedule` to be one of {list(SCHEDULES)}. Received: schedule={self.schedule!r}")

    def replace(self, **changes):
        """A copy with some fields changed; unknown fields raise ValueError."""
        unknown = sorted(set(changes) - {f.name for f in dataclasses.fields(self)})
        if unknown:
            raise ValueError(f"Unknown recipe fields {unknown}. Received: {changes}")
        return dataclasses.replace(self, **changes)


# --- Search spaces ---------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Choice:
    """A hyperparameter taking one of ``values`` (ints, floats or strings, numbers in
    increasing order: Bayesian optimization treats them as ordinal). ``default`` is
    the paper's value (None: the first)."""

    name: str
    values: tuple
    help: str = ""
    default: object = None

    def declare(self, hp, default=None):
        default = default if default in self.values else self.default
        return hp.Choice(self.name, list(self.values), default=default)

    def describe(self):
        return "{" + ", ".join(str(v) for v in self.values) + "}"


@dataclasses.dataclass(frozen=True)
class Boolean:
    """A hyperparameter that is True or False (keras-tuner's Choice would make them 1 and 0)."""

    name: str
    help: str = ""
    default: bool = False
    values = (True, False)

    def declare(self, hp, default=None):
        return hp.Boolean(self.name, default=default if isinstance(default, bool) else self.default)

    def describe(self):
        return "{True, False}"


@dataclasses.dataclass(frozen=True)
class Float:
    """A hyperparameter in ``[low, high]``, sampled uniformly or, with ``log``, log-uniformly."""

    name: str
    low: float
    high: float
    log: bool = False
    step: float = None
    help: str = ""

    def declare(self, hp, default=None):
        default = default if isinstance(default, (int, float)) and self.low <= default <= self.high else None
        return hp.Float(self.name, self.low, self.high, step=self.step, sampling="log" if self.log else "linear",
                        default=default)

    def describe(self):
        return f"[{self.low:g}, {self.high:g}]" + (" log" if self.log else "")


#: The training knobs every space searches besides its own. Each name is a
#: ``TrainConfig`` field, except ``randaugment_magnitude``: RandAugment with 2 operations
#: of that magnitude (0: off).
TRAINING = (
    Choice("optimizer", ("sgd", "adamw"), "SGD with momentum, or AdamW"),
    Float("lr", 1e-4, 1e-1, log=True, help="initial learning rate"),
    Float("weight_decay", 1e-6, 1e-3, log=True, help="L2 penalty (decoupled for AdamW)"),
    Choice("label_smoothing", (0.0, 0.1), "label smoothing"),
    Choice("randaugment_magnitude", (0, 5, 10), "augmentation strength: RandAugment magnitude, 2 operations (0: off)"),
    Choice("batch_size", (32, 64, 128), "global batch (HyperModel.fit)"),
)
#: Dropout before the classifier: a knob of every space whose builders take ``dropout``
#: (it sets the run's ``TrainConfig.dropout``, not a builder argument).
DROPOUT = Float("dropout", 0.0, 0.6, step=0.1, help="dropout before the classifier")


def same_name_arguments(*names):
    """A ``Space.model`` for knobs that are builder arguments of the same name."""
    return lambda info, values: (info.name, {name: values[name] for name in names})


def builder_defaults(info):
    """The keyword defaults of a registered variant's builder (its tables, for instance)."""
    parameters = inspect.signature(info.builder).parameters.values()
    return {p.name: p.default for p in parameters if p.default is not inspect.Parameter.empty}


@dataclasses.dataclass(frozen=True)
class Space:
    """A search space: the architecture knobs of the variants that declare it.

    Attributes:
        name: the ``--space`` name.
        knobs: the architecture knobs (``Choice``, ``Boolean``, ``Float``), plus
            ``DROPOUT`` where the builders take a dropout rate.
        model: ``(ModelInfo, values) -> (arch, model_args)``: the registered variant a
            trial builds (it may be another of the family: a depth knob) and the
            keyword arguments of its builder.
        doc: one line for ``--help`` and the README.
    """

    name: str
    knobs: tuple
    model: Callable = dataclasses.field(repr=False, compare=False)
    doc: str = ""

    @property
    def all_knobs(self):
        """The space's knobs, then the training knobs (``TRAINING``)."""
        return self.knobs + TRAINING
