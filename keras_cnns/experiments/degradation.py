"""The degradation experiment: the ResNet paper's Figure 6 on a laptop.

He et al. (2015, section 4.2, Figure 6) train plain networks of 20 to 56 layers on
CIFAR-10: the deeper ones end with a *higher training error*, which overfitting cannot
explain (degradation); residual networks of the same layers train better as they get
deeper. ``python -m keras_cnns experiment degradation`` trains ``plainD`` and
``resnetD`` for each depth D with one recipe and one seed through train.py's own
``train`` (each run in its own folder under ``--output``, so an interrupted experiment
resumes where it stopped and a finished run is not trained again), then writes:

- ``degradation.png``: Figure 6's layout, training error thin and validation error
  bold per epoch, plain networks on the left, residual ones on the right;
- ``degradation.csv``: one row per model and epoch;
- a printed table and the verdict: whether the deepest plain network ends with a higher
  training error than the shallowest, and whether the residual networks do not.

The recipe is the paper's CIFAR one (SGD, momentum 0.9, lr 0.1, weight decay 1e-4, batch
128, the ``cifar`` augmentation) with its two divisions by 10 at 50 % and 75 % of the
epochs, where the paper has them (32k and 48k of 64k iterations).
"""

import csv
import dataclasses
import json
import os

from keras_cnns.models import model_info
from keras_cnns.models.registry import list_models

CLAIM = (
    "He et al. 2015, Figure 6: a deeper plain network ends with a higher training error than a shallower one "
    "(degradation); residual networks of the same layers do not."
)
DEFAULT_DEPTHS = (20, 56)
#: The default run: the bundled digits at CIFAR's size, within 10 minutes on 2 CPU cores.
#: The digits' 1,437 training images make 11 steps of the paper's batch of 128 per epoch,
#: too few for batch norm's moving statistics: they train at batch 32 (45 steps).
DEFAULT_EPOCHS, DEFAULT_SIZE, DIGITS_BATCH = 10, 32, 32
KINDS = ("plain", "resnet")


@dataclasses.dataclass
class Curve:
    """One model's errors per epoch, in %."""

    model: str
    kind: str
    depth: int
    train_error: list
    val_error: list

    @property
    def final(self):
        return self.train_error[-1], self.val_error[-1]


@dataclasses.dataclass
class Result:
    """What ``run`` measured: the curves, and the verdict on the claim."""

    curves: list
    epochs: int
    dataset: str

    def _ends(self, kind):
        curves = sorted((c for c in self.curves if c.kind == kind), key=lambda c: c.depth)
        return curves[0], curves[-1]

    def _gap(self, kind):
        """The deepest network's final training error minus the shallowest one's, in points."""
        shallow, deep = self._ends(kind)
        return deep.final[0] - shallow.final[0]

    @property
    def plain_degrades(self):
        """Whether the deepest plain network ends with a higher training error than the shallowest."""
        return self._gap("plain") > 0

    @property
    def residual_degrades(self):
        """Whether the deepest residual network ends with a higher training error than the shallowest."""
        return self._gap("resnet") > 0

    def verdict(self):
        """Lines saying what the measurement shows about ``CLAIM``."""
        lines = []
        for kind, degrades, label in (("plain", self.plain_degrades, "plain"), ("resnet", self.residual_degrades, "residual")):
            shallow, deep = self._ends(kind)
            gap = self._gap(kind)
            what = "degradation" if degrades else "no degradation"
            lines.append(f"{label}: {deep.model} ends at {deep.final[0]:.2f}% training error, {shallow.model} at "
                         f"{shallow.final[0]:.2f}% ({gap:+.2f} points): {what}")
        holds = self.plain_degrades and not self.residual_degrades
        lines.append("verdict: the claim holds at this budget" if holds else
                     "verdict: the claim does not show at this budget" + (
                         "" if self.plain_degrades else " (the deeper plain network did not train worse)"))
        return lines


def _check_depths(depths):
    allowed = [int(name[len("plain"):]) for name in list_models("plain*")]
    depths = tuple(depths)
    if len(depths) < 2 or len(set(depths)) != len(depths) or not all(d in allowed for d in depths):
        raise ValueError(
            f"Expected two or more distinct depths among {allowed} (the registered plainN and resnetN). "
            f"Received: depths={depths!r}"
        )
    return tuple(sorted(depths))


def _config(arch, folder, *, dataset, epochs, seed, image_size, batch_size, data_dir, verbose):
    from keras_cnns.training import resolve

    # The paper's recipe for every network, its divisions at 50 % and 75 % of the run.
    values = dict(arch=arch, dataset=dataset, epochs=epochs, seed=seed, image_size=image_size, output=folder,
                  recipe="paper", export=False, verbose=verbose, warmup_epochs=0,
                  schedule="step", schedule_args=dict(milestones=[epochs / 2, epochs * 3 / 4], gamma=0.1))
    if batch_size is not None:  # the recipe's lr at its batch, scaled linearly (Goyal et al. 2017)
        recipe = model_info(arch).recipe
        values.update(batch_size=batch_size, lr=recipe.lr * batch_size / recipe.batch_size)
    if data_dir is not None:
        values["data_dir"] = data_dir
    return resolve(values)


def _train(config, log):
    """Trains one network, resuming its folder's run; a finished run is only read."""
    from keras_cnns.training import train
    from keras_cnns.training.callbacks import BACKUP, read_history

    folder = config.output
    history = os.path.join(folder, "history.csv")
    saved = os.path.join(folder, "config.json")
    if os.path.exists(saved):
        with open(saved) as f:
            epochs = json.load(f).get("epochs")
        if epochs != config.epochs:
            raise ValueError(
                f"{folder} holds a run of {epochs} epochs: run with --epochs {epochs} (to finish or read it) "
                f"or pick another --output. Received: epochs={config.epochs}"
            )
    rows = read_history(history)
    if os.path.exists(os.path.join(folder, "metrics.json")) and len(rows) >= config.epochs:
        log(f"{config.arch}: finished earlier in {folder}")
    else:
        config.resume = os.path.exists(os.path.join(folder, BACKUP, "training_metadata.json"))
        train(config, log=log)
        rows = read_history(history)
    rows = rows[: config.epochs]
    return ([100 * (1 - float(r["accuracy"])) for r in rows], [100 * (1 - float(r["val_accuracy"])) for r in rows])


def run(depths=DEFAULT_DEPTHS, *, dataset="digits", epochs=None, output="runs/degradation", seed=0,
        image_size=DEFAULT_SIZE, batch_size=None, data_dir=None, verbose="2", log=print):
    """Trains ``plainD`` and ``resnetD`` for each depth and writes the experiment's outputs.

    Args:
        depths: the depths, two or more of the registered plain networks' (20, 32, 44, 56).
        dataset: a dataset spec (``keras_cnns.data.load_dataset``): "digits" (bundled),
            "tfds:cifar10" (the paper's, when prepared), a folder ...
        epochs: epochs of each run; None: ``DEFAULT_EPOCHS``.
        output: the experiment's folder: one run folder per network, and the outputs.
        seed: the seed of every run (initialization, data order, augmentation).
        image_size: square input size. Defaults to 32 (CIFAR's).
        batch_size: the global batch, with the paper's lr 0.1 at 128 scaled linearly;
            None: ``DIGITS_BATCH`` on the digits, else the paper's 128.
        data_dir: tensorflow-datasets folder.
        verbose: Keras' fit verbosity of each run ("auto", "0", "1", "2").
        log: where progress lines go.

    Returns:
        A ``Result``; ``degradation.png``, ``degradation.csv`` are in ``output``.
    """
    depths = _check_depths(depths)
    epochs = DEFAULT_EPOCHS if epochs is None else epochs
    if batch_size is None and dataset == "digits":
        batch_size = DIGITS_BATCH
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 2:
        raise ValueError(f"Expected `epochs` to be an int of at least 2. Received: epochs={epochs!r}")
    curves = []
    for depth in depths:
        for kind in KINDS:
            arch = f"{kind}{depth}"
            config = _config(arch, os.path.join(output, arch), dataset=dataset, epochs=epochs, seed=seed,
                             image_size=image_size, batch_size=batch_size, data_dir=data_dir, verbose=verbose)
            train_error, val_error = _train(config, log)
            curves.append(Curve(arch, kind, model_info(arch).depth, train_error, val_error))
    result = Result(curves, epochs, dataset)
    write_csv(result, os.path.join(output, "degradation.csv"))
    plot(result, os.path.join(output, "degradation.png"))
    return result


def write_csv(result, path):
    """``degradation.csv``: model, kind, depth, epoch, training and validation error (%)."""
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["model", "kind", "depth", "epoch", "train_error", "val_error"])
        for curve in result.curves:
            for epoch, (train, val) in enumerate(zip(curve.train_error, curve.val_error), start=1):
                writer.writerow([curve.model, curve.kind, curve.depth, epoch, f"{train:.4f}", f"{val:.4f}"])
    return path


def plot(result, path):
    """``degradation.png`` in the layout of the paper's Figure 6."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    colors = plt.get_cmap("tab10")
    for axis, kind, title in ((axes[0], "plain", "plain networks"), (axes[1], "resnet", "residual networks (ResNets)")):
        for i, curve in enumerate(c for c in result.curves if c.kind == kind):
            epochs = range(1, len(curve.train_error) + 1)
            name = f"{kind}-{curve.depth}"
            axis.plot(epochs, curve.train_error, color=colors(i), linewidth=0.9, linestyle="--")
            axis.plot(epochs, curve.val_error, color=colors(i), linewidth=2.4, label=name)
        axis.set_title(title)
        axis.set_xlabel("epoch")
        axis.grid(alpha=0.3)
        axis.legend(title="bold: validation, dashed: training")
    axes[0].set_ylabel("error (%)")
    top = max(max(c.train_error + c.val_error) for c in result.curves)
    axes[0].set_ylim(0, min(100, top * 1.05 + 1))
    figure.suptitle(f"Degradation (He et al. 2015, Figure 6) on {result.dataset}, {result.epochs} epochs")
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)
    return path


def table(result):
    """The final errors of each network, as text lines."""
    lines = [f"{'model':<10} {'depth':>5} {'training error (%)':>19} {'validation error (%)':>21} {'best validation (%)':>20}"]
    for curve in result.curves:
        train, val = curve.final
        lines.append(f"{curve.model:<10} {curve.depth:>5} {train:>19.2f} {val:>21.2f} {min(curve.val_error):>20.2f}")
    return lines
