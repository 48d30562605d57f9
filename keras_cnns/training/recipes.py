"""Training recipes: each family's paper recipe, and a quick one for small data.

A ``Recipe`` is data (``keras_cnns.models.spec``), declared by each family module next
to its variants: ``model_info(name).recipe`` is the paper recipe of the model's family;
``recipe(name, "quick")`` the small-data one. ``train.py --recipe paper|quick`` starts
from it and any option given on the command line overrides a field.

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

from keras_cnns.models import ModelInfo, model_info
from keras_cnns.models.spec import OPTIMIZERS, SCHEDULES, Recipe

__all__ = ["OPTIMIZERS", "QUICK", "Recipe", "SCHEDULES", "recipe"]

#: Small data, few epochs (the bundled digits): AdamW with warm-up and cosine decay.
#: GoogLeNet (no batch norm) on digits at 64x64 with train.py, 10 epochs, about 2 minutes
#: on 2 CPU cores, inputs standardized with the ImageNet mean and std: 98.9 % top-1 at
#: lr 1e-3 (95 % from epoch 5), first epoch's mean loss 2.56. Measured on Caffe's 0-255
#: inputs before: 97.8-98.6 % at lr 1e-3 (first epoch's loss about 21), 98.3 % at 2e-3
#: (95 % only from epoch 8); SGD at lr 0.05 diverged and at 0.01 reached 69 %.
QUICK = Recipe(
    optimizer="adamw", lr=1e-3, momentum=0.9, weight_decay=1e-4, batch_size=64, epochs=10,
    schedule="cosine", warmup_epochs=1, label_smoothing=0.0, augment="none", clipnorm=2.0,
    source="keras_cnns: a starting point for small datasets and a few epochs on a CPU",
    notes="Gradients clipped at norm 2.0: without it GoogLeNet's first epochs can diverge.",
)
KINDS = ("paper", "quick")


def recipe(model, kind="paper"):
    """The ``"paper"`` or ``"quick"`` recipe of a registered model (a name or its
    ``ModelInfo``); the quick one keeps the paper's auxiliary-loss weight."""
    info = model if isinstance(model, ModelInfo) else model_info(model)
    if kind not in KINDS:
        raise ValueError(f"Expected a recipe kind 'paper' or 'quick'. Received: kind={kind!r}")
    if kind == "quick":
        return QUICK.replace(aux_loss_weight=info.recipe.aux_loss_weight)
    return info.recipe
