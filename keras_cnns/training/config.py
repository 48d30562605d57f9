"""The resolved configuration of a training run, and the command line that fills it.

Values come, lowest priority first, from the model's recipe (``--recipe paper|quick``,
``keras_cnns.training.recipes``), then a ``--config`` file (YAML or JSON: the keys are
the option names, with ``-`` or ``_``), then the options given on the command line.
The result is a ``TrainConfig``, saved as ``config.json`` in the run's folder.
"""

import argparse
import dataclasses
import json
import os

from keras_cnns.data.augment import PRESETS
from keras_cnns.models import model_info
from keras_cnns.training.recipes import KINDS, OPTIMIZERS, SCHEDULES, recipe

STRATEGIES = ("auto", "default", "mirrored", "multiworker")
#: Square size the bundled 8x8 digits are trained at, unless --image-size says otherwise.
DIGITS_SIZE = 64


@dataclasses.dataclass
class TrainConfig:
    """Everything a run needs; ``train.py --help`` documents each field."""

    arch: str
    dataset: str = "digits"
    data_dir: str = None
    download: bool = False
    image_size: int = None
    num_classes: int = None
    #: Keyword arguments of the architecture's builder (a config file's, e.g. a search's
    #: ``best.json``): ``{"convs": [...], "fc_units": [2048, 2048]}`` for AlexNet.
    model_args: dict = None
    #: Starting weights: a tag of the architecture's weights, a .weights.h5 or .keras
    #: file, or a run folder (its best.keras); None trains from scratch.
    weights: str = None
    freeze_epochs: int = 0
    backbone_lr_scale: float = 1.0
    bn_frozen: bool = False
    recipe: str = None
    epochs: int = None
    batch_size: int = None
    optimizer: str = None
    lr: float = None
    momentum: float = None
    weight_decay: float = None
    schedule: str = None
    schedule_args: dict = None
    warmup_epochs: int = None
    label_smoothing: float = None
    dropout: float = None
    augment: str = None
    randaugment: list = None
    random_erasing: float = 0.0
    mixup: float = 0.0
    cutmix: float = 0.0
    aux_loss_weight: float = None
    clipnorm: float = None
    rmsprop_rho: float = None
    rmsprop_epsilon: float = None
    seed: int = 0
    output: str = None
    resume: bool = False
    save_every: int = None
    export: bool = True
    strategy: str = "auto"
    cpu_replicas: int = None
    mixed_precision: bool = False
    jit_compile: bool = False
    verbose: str = "auto"
    #: Not a field: the names ``resolve`` got from the command line or a config file.
    _given = None

    def to_json(self):
        return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True)


FIELDS = {f.name for f in dataclasses.fields(TrainConfig)}
#: Fields a resumed run may change (the rest must match the saved config.json).
RESUMABLE = {"epochs", "resume", "output", "verbose", "data_dir", "download", "save_every", "export"}


def add_arguments(parser, exclude=()):
    """Adds train.py's options to ``parser``, in groups, but for the ``exclude``d ones
    (option strings). Every default is None so that ``resolve`` can tell an option
    given from one left out."""

    def group(title):
        added = parser.add_argument_group(title)
        add = added.add_argument
        added.add_argument = lambda *flags, **options: None if set(flags) & set(exclude) else add(*flags, **options)
        return added

    model = group("model")
    model.add_argument("--arch", help="registry name (`python -m keras_cnns list`); required unless --config names it")
    model.add_argument("--num-classes", type=int, metavar="N", help="classes (default: the dataset's)")
    model.add_argument("--dropout", type=float, metavar="P", help="dropout before the classifier (default: the recipe's)")
    tune = group("fine-tuning (from pretrained weights)")
    tune.add_argument("--weights", metavar="W", help="start from weights: a tag of the architecture's (imagenet, "
                      "torchvision, ...), a .weights.h5 or .keras file, or a run folder; the classifier is rebuilt "
                      "for the dataset's classes when they differ")
    tune.add_argument("--freeze-epochs", type=int, metavar="N",
                      help="train only the classifier for the first N epochs, the backbone frozen (batch norm in "
                      "inference mode), then everything; -1: frozen for the whole run, a linear probe (default 0: "
                      "nothing frozen, as timm)")
    tune.add_argument("--backbone-lr-scale", type=float, metavar="S",
                      help="the backbone's learning rate is S times the classifier's once unfrozen (default 1.0: one "
                      "rate, as timm's and keras.io's fine-tuning; 0.1 is the usual gentler choice)")
    tune.add_argument("--bn-frozen", action="store_true", default=None,
                      help="keep every batch-norm layer in inference mode, scale and offset fixed, for the whole run "
                      "(keras.io's fine-tuning recipe, for small batches; default off: the statistics adapt to the "
                      "new images)")
    data = group("data")
    data.add_argument("--dataset", metavar="SPEC", help="digits (bundled, default), tfds:NAME, folder:PATH or synthetic[:classes=,examples=]")
    data.add_argument("--data-dir", metavar="DIR", help="tensorflow-datasets folder")
    data.add_argument("--download", action="store_true", default=None, help="let tensorflow-datasets download a tfds: dataset")
    data.add_argument("--image-size", type=int, metavar="S", help=f"square input size (default: the model's; {DIGITS_SIZE} for digits)")
    data.add_argument("--augment", choices=PRESETS, help="augmentation preset (default: the recipe's)")
    data.add_argument("--randaugment", type=int, nargs=2, metavar=("N", "M"), help="RandAugment: N ops of magnitude M")
    data.add_argument("--random-erasing", type=float, metavar="P", help="probability of erasing a rectangle")
    data.add_argument("--mixup", type=float, metavar="ALPHA", help="MixUp alpha (0: off)")
    data.add_argument("--cutmix", type=float, metavar="ALPHA", help="CutMix alpha (0: off)")
    optim = group("optimization (each overrides the recipe)")
    optim.add_argument("--recipe", choices=("paper", "quick"), help="paper or quick (default: quick on digits and synthetic, else paper)")
    optim.add_argument("--epochs", type=int, metavar="N", help="training epochs")
    optim.add_argument("--batch-size", type=int, metavar="N", help="global batch, split across replicas")
    optim.add_argument("--optimizer", choices=OPTIMIZERS)
    optim.add_argument("--lr", type=float, metavar="LR", help="initial learning rate")
    optim.add_argument("--momentum", type=float, metavar="M", help="SGD or RMSProp momentum")
    optim.add_argument("--weight-decay", type=float, metavar="WD", help="L2 coefficient (decoupled for adamw)")
    optim.add_argument("--schedule", choices=SCHEDULES, help="learning-rate schedule")
    optim.add_argument("--warmup-epochs", type=int, metavar="N", help="epochs of linear warm-up")
    optim.add_argument("--label-smoothing", type=float, metavar="E", help="probability mass spread over all classes")
    optim.add_argument("--aux-loss-weight", type=float, metavar="W", help="weight of each auxiliary classifier's loss (0: none)")
    optim.add_argument("--clipnorm", type=float, metavar="NORM", help="clip each gradient to this norm (0: off)")
    run = group("run")
    run.add_argument("--config", metavar="FILE", help="YAML or JSON file of option values (e.g. a search's best)")
    run.add_argument("--seed", type=int, help="seed of the weights, the shuffling and the augmentation (default 0)")
    run.add_argument("--output", metavar="DIR", help="run folder (default: runs/ARCH-DATE)")
    run.add_argument("--resume", action="store_true", default=None, help="continue the run in --output (default: the latest runs/ARCH-*)")
    run.add_argument("--save-every", type=int, metavar="STEPS", help="also back up every STEPS steps (default: every epoch)")
    run.add_argument("--verbose", choices=("auto", "0", "1", "2"), help="Keras fit verbosity")
    run.add_argument("--no-export", dest="export", action="store_false", default=None,
                     help="skip the SavedModel export of the inference model")
    dist = group("distribution and speed")
    dist.add_argument("--strategy", choices=STRATEGIES, help="auto: MirroredStrategy over several GPUs, else default")
    dist.add_argument("--cpu-replicas", type=int, metavar="N", help="split the CPU into N logical devices (testing)")
    dist.add_argument("--mixed-precision", action="store_true", default=None, help="float16 on GPU, bfloat16 elsewhere")
    dist.add_argument("--jit-compile", action="store_true", default=None, help="compile with XLA")
    return parser


def read_config_file(path):
    """The option values of a YAML or JSON file, keys normalized to field names."""
    try:
        with open(path) as f:
            text = f.read()
    except OSError as e:
        raise ValueError(f"Cannot read the config file: {e.strerror}. Received: config={path!r}") from None
    try:
        if path.endswith(".json"):
            values = json.loads(text)
        else:
            import yaml

            values = yaml.safe_load(text)
    except Exception as e:  # json.JSONDecodeError, yaml.YAMLError
        reason = str(e).splitlines()[0]
        raise ValueError(f"The config file is not valid {'JSON' if path.endswith('.json') else 'YAML'} ({reason}). Received: config={path!r}") from None
    if values is None:
        values = {}
    if not isinstance(values, dict):
        raise ValueError(f"Expected the config file to hold a mapping of option names to values. Received: config={path!r}")
    values = {str(k).replace("-", "_"): v for k, v in values.items()}
    unknown = sorted(set(values) - FIELDS)
    if unknown:
        raise ValueError(f"Unknown options {unknown} in the config file; the options are {sorted(FIELDS)}. Received: config={path!r}")
    return values


#: Builder arguments that options of their own set; ``model_args`` may not.
RESERVED_ARGS = ("num_classes", "input_shape", "input_tensor", "include_top", "pooling", "weights", "aux_logits", "dropout")


def check(config, info):
    """Raises ValueError, in one line naming the value, for a ``TrainConfig`` that cannot
    train ``info`` (the arch's ``ModelInfo``): an option out of range, a builder argument
    it does not take, an input under its minimum."""
    checks = [
        ("epochs", config.epochs, lambda v: isinstance(v, int) and v >= 1, "a positive int"),
        ("batch_size", config.batch_size, lambda v: isinstance(v, int) and v >= 1, "a positive int"),
        ("lr", config.lr, lambda v: isinstance(v, (int, float)) and v > 0, "a positive number"),
        ("momentum", config.momentum, lambda v: 0 <= v < 1, "in [0, 1)"),
        ("weight_decay", config.weight_decay, lambda v: v >= 0, "non-negative"),
        ("warmup_epochs", config.warmup_epochs, lambda v: isinstance(v, int) and 0 <= v < config.epochs, "an int in [0, epochs)"),
        ("label_smoothing", config.label_smoothing, lambda v: 0 <= v < 1, "in [0, 1)"),
        ("aux_loss_weight", config.aux_loss_weight, lambda v: v >= 0, "non-negative"),
        ("mixup", config.mixup, lambda v: v >= 0, "non-negative"),
        ("cutmix", config.cutmix, lambda v: v >= 0, "non-negative"),
        ("cpu_replicas", config.cpu_replicas, lambda v: v is None or (isinstance(v, int) and v >= 1), "a positive int"),
        ("save_every", config.save_every, lambda v: v is None or (isinstance(v, int) and v >= 1), "a positive int"),
        ("clipnorm", config.clipnorm, lambda v: v is None or v >= 0, "non-negative (0: no clipping)"),
    ]
    for name, value, ok, what in checks:
        try:
            good = ok(value) and not isinstance(value, bool)
        except TypeError:
            good = False
        if not good:
            raise ValueError(f"Expected `{name}` to be {what}. Received: {name}={value!r}")
    for name, value, ok, what in (
        ("freeze_epochs", config.freeze_epochs, lambda v: isinstance(v, int) and -1 <= v <= config.epochs,
         f"an int from -1 (the whole run) to epochs ({config.epochs})"),
        ("backbone_lr_scale", config.backbone_lr_scale, lambda v: isinstance(v, (int, float)) and v >= 0,
         "a non-negative number"),
    ):
        if isinstance(value, bool) or not ok(value):
            raise ValueError(f"Expected `{name}` to be {what}. Received: {name}={value!r}")
    if config.weights is None and (config.freeze_epochs or config.backbone_lr_scale != 1 or config.bn_frozen):
        raise ValueError(
            "--freeze-epochs, --backbone-lr-scale and --bn-frozen fine-tune pretrained weights: give --weights. "
            f"Received: weights=None, freeze_epochs={config.freeze_epochs}, "
            f"backbone_lr_scale={config.backbone_lr_scale}, bn_frozen={config.bn_frozen}"
        )
    if config.weights is not None:
        descriptor, path = info.resolve_weights(config.weights)  # raises for an unknown tag, listing the tags
        if path is not None and not os.path.exists(path):
            raise ValueError(f"No weights file or run folder at that path. Received: weights={config.weights!r}")
        if descriptor is None:
            raise ValueError(
                f"Expected `weights` to be a tag of {info.name}'s weights ({', '.join(info.tags) or 'none'}), a "
                f".weights.h5 or .keras file or a run folder. Received: weights={config.weights!r}"
            )
    if config.model_args is not None and not isinstance(config.model_args, dict):
        raise ValueError(f"Expected `model_args` to be a mapping of builder arguments. Received: model_args={config.model_args!r}")
    reserved = sorted(set(config.model_args or {}) & set(RESERVED_ARGS))
    if reserved:
        raise ValueError(f"model_args may not set {reserved}: they have options of their own. "
                         f"Received: model_args={config.model_args!r}")
    for name, value in {**(config.model_args or {}), **({"dropout": config.dropout} if config.dropout is not None else {})}.items():
        if name not in info.arguments:
            raise ValueError(f"{info.name} has no {name} to set. Received: {name}={value!r}")
    for name, value, allowed in (
        ("optimizer", config.optimizer, OPTIMIZERS),
        ("schedule", config.schedule, SCHEDULES),
        ("augment", config.augment, PRESETS),
        ("strategy", config.strategy, STRATEGIES),
    ):
        if value not in allowed:
            raise ValueError(f"Expected `{name}` to be one of {list(allowed)}. Received: {name}={value!r}")
    if config.image_size is not None and config.image_size < info.min_size:
        raise ValueError(
            f"Input size must be at least {info.min_size}x{info.min_size} for {info.name}. "
            f"Received: image_size={config.image_size}"
        )
    if config.cpu_replicas and config.cpu_replicas > 1 and config.strategy not in ("auto", "mirrored"):
        raise ValueError(
            "--cpu-replicas N > 1 splits the CPU for MirroredStrategy: use --strategy auto or mirrored. "
            f"Received: strategy={config.strategy!r}, cpu_replicas={config.cpu_replicas}"
        )


def resolve(args):
    """The ``TrainConfig`` of parsed options (a namespace or dict of field values)."""
    given = {k: v for k, v in (vars(args) if not isinstance(args, dict) else args).items() if v is not None}
    file_values = read_config_file(given.pop("config")) if "config" in given else {}
    values = {**file_values, **given}
    unknown = sorted(set(values) - FIELDS)
    if unknown:
        raise ValueError(f"Unknown options {unknown}. Received: {values}")
    if "arch" not in values:
        raise ValueError("Expected an architecture: --arch NAME. Received: no --arch")
    info = model_info(values["arch"])
    values["arch"] = info.name
    weights = values.get("weights")
    if isinstance(weights, str) and weights not in info.tags and os.path.exists(os.path.expanduser(weights)):
        values["weights"] = os.path.abspath(os.path.expanduser(weights))  # a run resumed elsewhere finds it
    dataset = values.get("dataset", "digits")
    kind = values.get("recipe") or ("quick" if dataset == "digits" or dataset.startswith("synthetic") else "paper")
    if kind not in KINDS:
        raise ValueError(f"Expected `recipe` to be 'paper' or 'quick'. Received: recipe={kind!r}")
    base = recipe(info, kind)
    from_recipe = {
        f.name: getattr(base, f.name) for f in dataclasses.fields(base) if f.name in FIELDS and f.name != "recipe"
    }
    config = TrainConfig(**{**from_recipe, **values, "recipe": kind})
    if config.schedule_args is None or (config.schedule != base.schedule and "schedule_args" not in values):
        config.schedule_args = dict(base.schedule_args) if config.schedule == base.schedule else {}
    if "warmup_epochs" not in values and isinstance(config.epochs, int) and config.epochs >= 1:
        config.warmup_epochs = min(config.warmup_epochs, config.epochs - 1)  # a short run of a long recipe
    if config.image_size is None and dataset == "digits":
        config.image_size = max(DIGITS_SIZE, info.min_size)
    if isinstance(config.randaugment, (list, tuple)):
        config.randaugment = list(config.randaugment)
    check(config, info)
    config._given = set(values)
    return config


def parser(prog="train.py"):
    return add_arguments(
        argparse.ArgumentParser(
            prog=prog,
            description="Train a keras_cnns model with its paper's recipe (or the quick one) through model.fit.",
            epilog="Example: python train.py --arch googlenet   (GoogLeNet on the bundled digits, about 3 minutes on 2 CPU cores)",
        )
    )


def default_output(arch, root="runs"):
    import datetime

    return os.path.join(root, f"{arch}-{datetime.datetime.now():%Y%m%d-%H%M%S}")


def latest_output(arch, root="runs"):
    """The most recent ``runs/ARCH-*`` folder, or None."""
    if not os.path.isdir(root):
        return None
    runs = sorted(d for d in os.listdir(root) if d.startswith(f"{arch}-") and os.path.isdir(os.path.join(root, d)))
    return os.path.join(root, runs[-1]) if runs else None
