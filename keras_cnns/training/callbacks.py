"""The callbacks of a run: backup and resume, checkpoints, history, NaN guard, curves.

A run can be killed at any moment: ``Backup`` (Keras' ``BackupAndRestore``) saves the
weights and the optimizer state after every epoch, and every ``save_freq`` steps if
asked, with the epoch and step reached and the state of the other callbacks (the best
validation accuracy so far, the plateau counters). ``Backup.read`` tells train.py where
to resume before ``fit`` starts, so the data pipeline resumes at the same batch.
"""

import csv
import json
import math
import os
import shutil

import keras

BACKUP = "backup"


class NanGuard(keras.callbacks.Callback):
    """Stops training at the first NaN or infinite loss; ``bad`` tells the others not to save."""

    def __init__(self):
        super().__init__()
        self.bad = None

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            self.bad = f"the loss became {float(loss)} at step {int(self.model.optimizer.iterations.numpy())}"
            self.model.stop_training = True


class Backup(keras.callbacks.BackupAndRestore):
    """``BackupAndRestore`` that also saves the step within the epoch and other callbacks'
    state, skips saving after a NaN, and keeps its files when training stops on one.

    Args:
        backup_dir: folder of the backup.
        save_freq: "epoch", or an int: also save every that many steps.
        states: dict of name -> object with ``get_state()`` and ``set_state(state)``.
        guard: the run's ``NanGuard``.
        step_offset: steps of the current epoch done before this ``fit`` call (a run
            resumed in the middle of an epoch).
    """

    def __init__(self, backup_dir, save_freq="epoch", states=None, guard=None, step_offset=0):
        super().__init__(backup_dir, save_freq=save_freq, delete_checkpoint=False)
        self.states = states or {}
        self.guard = guard
        self.step_offset = step_offset
        self._step = step_offset

    @staticmethod
    def read(backup_dir):
        """``{"epoch", "batch", "states"}`` of the backup in ``backup_dir``, or None."""
        path = os.path.join(backup_dir, "training_metadata.json")
        if not os.path.exists(path) or not os.path.exists(os.path.join(backup_dir, "latest.weights.h5")):
            return None
        with open(path) as f:
            return {"batch": 0, "states": {}, **json.load(f)}

    def _seed_states(self):
        """The state variables of the layers' random-number generators (dropout):
        ``save_weights`` leaves them out, and a resumed run must draw the same masks."""
        return [v for v in self.model.variables if v.path.endswith("seed_generator_state")]

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        saved = self.read(self.backup_dir)
        for name, state in (saved or {}).get("states", {}).items():
            if name in self.states:
                self.states[name].set_state(state)
        seeds = (saved or {}).get("seeds", [])
        for variable, value in zip(self._seed_states(), seeds if len(seeds) == len(self._seed_states()) else []):
            variable.assign(value)

    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        self._step = self.step_offset + batch + 1
        if isinstance(self.save_freq, int) and self._step % self.save_freq == 0:
            self._save_model()

    def on_epoch_end(self, epoch, logs=None):
        self._current_epoch, self._step, self.step_offset = epoch + 1, 0, 0
        self._save_model()

    def _save_model(self):
        if self.guard is not None and self.guard.bad:
            return  # keep the last good backup
        os.makedirs(self.backup_dir, exist_ok=True)
        weights = self._weights_path + ".tmp.weights.h5"
        self.model.save_weights(weights, overwrite=True)
        metadata = {
            "epoch": self._current_epoch,
            "batch": self._step,
            "states": {name: obj.get_state() for name, obj in self.states.items()},
            "seeds": [keras.ops.convert_to_numpy(v).tolist() for v in self._seed_states()],
        }
        with open(self._training_metadata_path + ".tmp", "w") as f:
            json.dump(metadata, f)
        # Replace both files only once both are written: a kill leaves the old pair or the new.
        os.replace(weights, self._weights_path)
        os.replace(self._training_metadata_path + ".tmp", self._training_metadata_path)

    def on_train_end(self, logs=None):
        pass


class Checkpoints(keras.callbacks.Callback):
    """Saves ``last.keras`` after every epoch and copies it to ``best.keras`` when
    ``monitor`` improves. Both are the training model, with its optimizer (and its
    auxiliary heads: ``keras_cnns.inference_model`` drops them)."""

    def __init__(self, folder, monitor="val_accuracy", guard=None):
        super().__init__()
        self.folder, self.monitor, self.guard = folder, monitor, guard
        self.best = -math.inf

    def get_state(self):
        return {"best": self.best}

    def set_state(self, state):
        self.best = state["best"]

    def _save(self, name):
        path = os.path.join(self.folder, name)
        self.model.save(path + ".tmp.keras")
        os.replace(path + ".tmp.keras", path)

    def on_epoch_end(self, epoch, logs=None):
        if self.guard is not None and self.guard.bad:
            return
        self._save("last.keras")
        value = (logs or {}).get(self.monitor)
        if value is not None and value > self.best:
            self.best = float(value)
            best = os.path.join(self.folder, "best.keras")
            shutil.copyfile(os.path.join(self.folder, "last.keras"), best + ".tmp")
            os.replace(best + ".tmp", best)


class HistoryCSV(keras.callbacks.Callback):
    """``history.csv``: one row per epoch with the learning rate; on resume the rows of
    epochs that will be trained again are dropped, so no epoch appears twice."""

    def __init__(self, path, initial_epoch=0):
        super().__init__()
        self.path, self.initial_epoch = path, initial_epoch
        self.rows = []

    def on_train_begin(self, logs=None):
        self.rows = read_history(self.path)
        self.rows = [row for row in self.rows if int(row["epoch"]) <= self.initial_epoch]

    def on_epoch_end(self, epoch, logs=None):
        row = {"epoch": epoch + 1, "lr": float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))}
        row.update({k: float(v) for k, v in (logs or {}).items() if k not in ("learning_rate",)})
        self.rows = [r for r in self.rows if int(r["epoch"]) != epoch + 1] + [row]
        keys = list(dict.fromkeys(k for r in self.rows for k in r))
        with open(self.path + ".tmp", "w", newline="") as f:
            writer = csv.DictWriter(f, keys)
            writer.writeheader()
            writer.writerows(self.rows)
        os.replace(self.path + ".tmp", self.path)


def read_history(path):
    if not os.path.exists(path):
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def plot_curves(history_path, png_path, title=""):
    """Draws ``curves.png``: loss and top-1 accuracy per epoch, training and validation."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = read_history(history_path)
    if not rows:
        return
    epochs = [int(r["epoch"]) for r in rows]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, metric in zip(axes, ("loss", "accuracy")):
        for prefix, style in (("", "-"), ("val_", "--")):
            key = next((k for k in rows[0] if k.startswith(prefix) and k.endswith(metric)
                        and (prefix or not k.startswith("val_")) and "aux" not in k), None)
            if key:
                ax.plot(epochs, [float(r[key]) if r.get(key) not in (None, "") else math.nan for r in rows],
                        style, label=("validation" if prefix else "training"))
        ax.set_xlabel("epoch")
        ax.set_ylabel("top-1 accuracy" if metric == "accuracy" else metric)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(png_path, dpi=100)
    plt.close(fig)
