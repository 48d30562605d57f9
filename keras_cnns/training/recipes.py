"""Training recipes: each family's paper recipe, and a quick one for small data.

A ``Recipe`` is data: ``train.py --recipe paper|quick`` starts from it and any option
given on the command line overrides a field. ``model_info(name).recipe`` is the paper
recipe of the model's family; ``recipe(name, "quick")`` the small-data one.

Learning-rate schedules (``schedule`` and ``schedule_args``):

- ``step``: multiply by ``gamma`` every ``every`` epochs, or at each epoch of
  ``milestones``.
- ``plateau``: multiply by ``factor`` when the validation loss has not improved for
  ``patience`` epochs (the papers' "divided by 10 when the validation error stops
  improving").
- ``exponential``: multiply by ``gamma`` every ``every`` epochs, smoothly.
- ``cosine``: cosine decay to 0 over the run.

Each can start with ``warmup_epochs`` of linear warm-up. Where a paper trained with many
machines or GPUs, ``batch_size`` is the global batch it reports, and ``epochs`` the
length of its schedule; where it leaves a value out, the value is the authors' released
code's, and ``notes`` says so.
"""

import dataclasses

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
        schedule_args: dict, see the module docstring.
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

    def replace(self, **changes):
        """A copy with some fields changed; unknown fields raise ValueError."""
        unknown = sorted(set(changes) - {f.name for f in dataclasses.fields(self)})
        if unknown:
            raise ValueError(f"Unknown recipe fields {unknown}. Received: {changes}")
        return dataclasses.replace(self, **changes)


_PLATEAU = dict(factor=0.1, patience=5)
_SLIM_RMSPROP = dict(
    optimizer="rmsprop", lr=0.045, momentum=0.9, rmsprop_rho=0.9, rmsprop_epsilon=1.0,
    schedule="exponential", schedule_args=dict(gamma=0.94, every=2), augment="inception",
)

#: The paper recipe of each family (``ModelInfo.family``).
PAPER = {
    "lenet": Recipe(
        optimizer="sgd", lr=5e-4, momentum=0.0, batch_size=1, epochs=20,
        schedule="step", schedule_args=dict(milestones=(2, 5, 8, 12), values=(5e-4, 2e-4, 1e-4, 5e-5, 1e-5)),
        augment="none", source="LeCun et al. 1998 (20 passes over the data; the global learning rate of each pass)",
        notes="The paper's optimizer is stochastic diagonal Levenberg-Marquardt; plain SGD here.",
    ),
    "alexnet": Recipe(
        optimizer="sgd", lr=0.01, momentum=0.9, weight_decay=5e-4, batch_size=128, epochs=90,
        schedule="plateau", schedule_args=_PLATEAU, dropout=0.5, augment="alexnet",
        source="Krizhevsky et al. 2012, section 5 (lr divided by 10 when the validation error stopped improving, 3 times in 90 cycles)",
        notes="ZFNet (Zeiler and Fergus 2013, section 3) trains the same way: SGD, batch 128, lr 0.01 annealed by hand, momentum 0.9, dropout 0.5, 70 epochs.",
    ),
    "nin": Recipe(
        optimizer="sgd", lr=0.01, momentum=0.9, weight_decay=5e-4, batch_size=128, epochs=90,
        schedule="plateau", schedule_args=_PLATEAU, dropout=0.5, augment="alexnet",
        source="Lin et al. 2013, section 4.1 (mini-batch SGD as Krizhevsky et al.; lr lowered by 10 when the accuracy stops improving)",
        notes="The paper gives no initial learning rate, batch or weight decay: AlexNet's.",
    ),
    "bn_inception": Recipe(
        optimizer="sgd", lr=0.0075, momentum=0.9, weight_decay=4e-5, batch_size=32, epochs=100,
        schedule="exponential", schedule_args=dict(gamma=round(0.96 ** 0.75, 4), every=1), dropout=0.0,
        augment="inception",
        source="Ioffe and Szegedy 2015, section 4.2.1 (BN-x5: lr 5 times Inception's 0.0015, no dropout, L2 reduced 5 times, lr decay 6 times faster)",
        notes="Inception's decay of 4 % every 8 epochs made 6 times faster: 0.96 every 4/3 epochs, 0.9698 per epoch.",
    ),
    "vgg": Recipe(
        optimizer="sgd", lr=0.01, momentum=0.9, weight_decay=5e-4, batch_size=256, epochs=74,
        schedule="plateau", schedule_args=_PLATEAU, dropout=0.5, augment="vgg",
        source="Simonyan and Zisserman 2014, section 3.1 (lr decreased by 10 three times, 74 epochs)",
    ),
    "googlenet": Recipe(
        optimizer="sgd", lr=0.01, momentum=0.9, weight_decay=2e-4, batch_size=32, epochs=250,
        schedule="step", schedule_args=dict(gamma=0.96, every=8), dropout=0.4, augment="inception",
        aux_loss_weight=0.3,
        source="Szegedy et al. 2014, sections 5-6 (momentum 0.9, lr decreased by 4 % every 8 epochs, auxiliary losses weighted 0.3)",
        notes="The paper trains asynchronously on a cluster; initial lr, batch and weight decay from Caffe's bvlc_googlenet solver.",
    ),
    "inception_v3": Recipe(
        **{**_SLIM_RMSPROP, "epochs": 100}, batch_size=32, weight_decay=4e-5, label_smoothing=0.1,
        dropout=0.2, aux_loss_weight=0.4,
        source="Szegedy et al. 2015, section 8 (RMSProp decay 0.9, epsilon 1.0, lr 0.045 decayed by 0.94 every 2 epochs, batch 32 per replica, label smoothing 0.1)",
        notes="Weight decay 4e-5 and auxiliary weight 0.4 from the authors' TF-slim training code; gradient clipping at 2.0 is not applied.",
    ),
    "inception_v4": Recipe(
        **{**_SLIM_RMSPROP, "epochs": 100}, batch_size=32, weight_decay=4e-5, dropout=0.2,
        source="Szegedy et al. 2016, section 4 (RMSProp decay 0.9, epsilon 1.0, lr 0.045 decayed by 0.94 every 2 epochs)",
        notes="Weight decay from TF-slim; the paper keeps dropout 0.8 keep-probability.",
    ),
    "densenet": Recipe(
        optimizer="nesterov", lr=0.1, momentum=0.9, weight_decay=1e-4, batch_size=256, epochs=90,
        schedule="step", schedule_args=dict(milestones=(30, 60), gamma=0.1), augment="resnet",
        source="Huang et al. 2016, section 4.2 (SGD, Nesterov momentum 0.9, lr 0.1 divided by 10 at epochs 30 and 60, weight decay 1e-4, batch 256)",
    ),
    "resnet": Recipe(
        optimizer="sgd", lr=0.1, momentum=0.9, weight_decay=1e-4, batch_size=256, epochs=90,
        schedule="plateau", schedule_args=_PLATEAU, augment="resnet",
        source="He et al. 2015, section 3.4 (lr 0.1 divided by 10 when the error plateaus, weight decay 1e-4, momentum 0.9, batch 256, no dropout)",
        notes="ResNeXt (Xie et al. 2016, section 4) trains the same way, following fb.resnet.torch.",
    ),
    "mobilenet": Recipe(
        optimizer="rmsprop", lr=0.045, momentum=0.9, weight_decay=4e-5, batch_size=96, epochs=200,
        schedule="exponential", schedule_args=dict(gamma=0.98, every=1), augment="inception",
        source="Sandler et al. 2018, section 6.1 (RMSProp decay and momentum 0.9, weight decay 4e-5, lr 0.045 decayed by 0.98 per epoch, batch 96 per worker)",
        notes="MobileNet v1 (Howard et al. 2017) says only RMSProp with little weight decay; both use MobileNetV2's recipe.",
    ),
}
#: Inception-ResNet is trained as Inception-v4, in the same paper.
PAPER["inception_resnet"] = PAPER["inception_v4"]

#: Small data, few epochs (the bundled digits): AdamW with warm-up and cosine decay.
#: GoogLeNet (no batch norm) on digits at 64x64 with train.py, 10 epochs, about 3 minutes
#: on 2 CPU cores: 97.8-98.6 % top-1 at lr 1e-3 (95 % from epoch 5 or 6), 98.3 % at 2e-3
#: (95 % only from epoch 8); SGD at lr 0.05 diverged and at 0.01 reached 69 %.
QUICK = Recipe(
    optimizer="adamw", lr=1e-3, momentum=0.9, weight_decay=1e-4, batch_size=64, epochs=10,
    schedule="cosine", warmup_epochs=1, label_smoothing=0.0, augment="none", clipnorm=2.0,
    source="keras_cnns: a starting point for small datasets and a few epochs on a CPU",
    notes="Gradients clipped at norm 2.0: without it GoogLeNet's first epochs can diverge.",
)


def recipe(name, kind="paper"):
    """The ``"paper"`` or ``"quick"`` recipe of registered model ``name``."""
    from keras_cnns.models import model_info

    info = model_info(name)
    if kind == "quick":
        return QUICK.replace(aux_loss_weight=PAPER[family(name)].aux_loss_weight)
    if kind != "paper":
        raise ValueError(f"Expected a recipe kind 'paper' or 'quick'. Received: kind={kind!r}")
    return PAPER[family(info.name)]


def family(name):
    """The recipe family of a registered model: its module, except BN-Inception, which
    shares GoogLeNet's module but not its training."""
    from keras_cnns.models import model_info

    return name if name == "bn_inception" else model_info(name).family
