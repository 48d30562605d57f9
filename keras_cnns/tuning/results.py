"""A search's results: ``results.csv``, the printed table, ``best.json`` and ``search.png``."""

import csv
import json
import math
import os

from keras_cnns.tuning.hypermodel import HYPERBAND_PREFIX, OBJECTIVE, skipped

#: TrainConfig fields that say how a run is executed, not what it computes: left out of
#: best.json, and free to change when a search is started again.
RUNTIME_FIELDS = ("output", "resume", "verbose", "save_every", "export", "strategy", "cpu_replicas", "data_dir",
                  "download", "jit_compile")


def _metric(trial, name, best=False):
    if not trial.metrics.exists(name):
        return None
    value = trial.metrics.get_best_value(name) if best else trial.metrics.get_last_value(name)
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def status(trial):
    """``completed``, ``invalid``, ``diverged``, ``failed`` or ``running`` (interrupted).

    keras-tuner's own INVALID is a crashed trial waiting for a retry: ``failed`` here.
    """
    if trial.status == "COMPLETED":
        return "completed"
    if trial.status in ("FAILED", "INVALID"):
        kind = skipped(trial.message)
        return kind[0] if kind else "failed"
    return trial.status.lower()


def rows(oracle, knobs):
    """One dict per trial, in the order they were created."""
    table = []
    for trial in sorted(oracle.trials.values(), key=lambda t: int(t.trial_id)):
        values = trial.hyperparameters.values
        message = skipped(trial.message)
        if message is None and trial.status == "FAILED" and trial.message:
            message = ("", trial.message.strip().splitlines()[-1])
        row = {"trial": trial.trial_id, "status": status(trial)}
        row.update({knob.name: values.get(knob.name) for knob in knobs})
        row.update({
            OBJECTIVE: _metric(trial, OBJECTIVE, best=True),
            "epochs": _metric(trial, "epochs"),
            "seconds": _metric(trial, "seconds"),
            "message": message[1] if message else "",
        })
        if f"{HYPERBAND_PREFIX}epochs" in values:
            row["epochs"] = values[f"{HYPERBAND_PREFIX}epochs"]
        if row["epochs"] is not None:
            row["epochs"] = int(row["epochs"])
        table.append(row)
    return table


def write_csv(table, path):
    if not table:
        return
    with open(path + ".tmp", "w", newline="") as f:
        writer = csv.DictWriter(f, list(table[0]))
        writer.writeheader()
        writer.writerows({k: "" if v is None else v for k, v in row.items()} for row in table)
    os.replace(path + ".tmp", path)


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def format_table(table, width=48):
    """The results as an aligned text table (long messages cut to ``width``)."""
    if not table:
        return "no trials"
    keys = list(table[0])
    cells = [[_cell(row[k]) if k != "message" else _cell(row[k])[:width] for k in keys] for row in table]
    widths = [max(len(k), *(len(c[i]) for c in cells)) for i, k in enumerate(keys)]
    lines = ["  ".join(k.ljust(w) for k, w in zip(keys, widths)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(cell, widths)).rstrip() for cell in cells]
    return "\n".join(lines)


def best_config(config):
    """The fields of a trial's ``TrainConfig`` that ``train.py --config`` needs to train
    it again (runtime options and unset values left out)."""
    values = json.loads(config.to_json())
    return {k: v for k, v in values.items() if k not in RUNTIME_FIELDS and v is not None}


def write_config(values, path):
    """A JSON object with one key per line (``model_args`` tables stay readable)."""
    lines = [f"  {json.dumps(key)}: {json.dumps(values[key])}" for key in sorted(values)]
    with open(path + ".tmp", "w") as f:
        f.write("{\n" + ",\n".join(lines) + "\n}\n")
    os.replace(path + ".tmp", path)


def _influence(xs, ys):
    """How much the objective depends on a hyperparameter, in [0, 1]: the absolute
    Spearman correlation for numbers, the correlation ratio for categories."""
    if len(set(map(str, xs))) < 2:
        return 0.0
    if all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in xs):
        rank_x, rank_y = _ranks(xs), _ranks(ys)
        return abs(_correlation(rank_x, rank_y))
    groups = {}
    for x, y in zip(xs, ys):
        groups.setdefault(str(x), []).append(y)
    mean = sum(ys) / len(ys)
    total = sum((y - mean) ** 2 for y in ys)
    between = sum(len(g) * (sum(g) / len(g) - mean) ** 2 for g in groups.values())
    return math.sqrt(between / total) if total else 0.0


def _ranks(values):
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2
        i = j + 1
    return ranks


def _correlation(a, b):
    ma, mb = sum(a) / len(a), sum(b) / len(b)
    cov = sum((x - ma) * (y - mb) for x, y in zip(a, b))
    var = math.sqrt(sum((x - ma) ** 2 for x in a) * sum((y - mb) ** 2 for y in b))
    return cov / var if var else 0.0


def influential(table, knobs, count=3):
    """``(knob, influence)`` of the ``count`` knobs the objective depends on most, over
    the completed trials."""
    done = [row for row in table if row["status"] == "completed" and row[OBJECTIVE] is not None]
    if len(done) < 2:
        return []
    ys = [row[OBJECTIVE] for row in done]
    scored = [(_influence([row[k.name] for row in done], ys), k) for k in knobs]
    return [(knob, score) for score, knob in sorted(scored, key=lambda s: -s[0]) if score > 0][:count]


def plot(table, knobs, path, title=""):
    """``search.png``: the objective of each trial with the best so far, then the
    objective against the most influential hyperparameters."""
    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    top = influential(table, knobs)
    fig, axes = plt.subplots(1, 1 + len(top), figsize=(4.5 * (1 + len(top)), 4), squeeze=False)
    ax = axes[0][0]
    done = [(int(row["trial"]), row[OBJECTIVE]) for row in table if row["status"] == "completed" and row[OBJECTIVE] is not None]
    skipped_trials = [int(row["trial"]) for row in table if row["status"] in ("invalid", "diverged", "failed")]
    if done:
        ax.plot([t for t, _ in done], [v for _, v in done], "o", label="trial")
        best, so_far = -math.inf, []
        for _, value in done:
            best = max(best, value)
            so_far.append(best)
        ax.step([t for t, _ in done], so_far, where="post", label="best so far")
    if skipped_trials:
        ax.plot(skipped_trials, [0.0] * len(skipped_trials), "x", color="gray", label="invalid / diverged / failed")
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    ax.set_xlabel("trial")
    ax.set_ylabel(f"{OBJECTIVE} (best epoch)")
    ax.grid(alpha=0.3)
    ax.legend()
    completed = [row for row in table if row["status"] == "completed" and row[OBJECTIVE] is not None]
    for ax, (knob, influence) in zip(axes[0][1:], top):
        xs = [row[knob.name] for row in completed]
        numeric = all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in xs)
        positions = xs if numeric else [sorted(set(map(str, xs))).index(str(x)) for x in xs]
        ax.plot(positions, [row[OBJECTIVE] for row in completed], "o")
        if not numeric:
            labels = sorted(set(map(str, xs)))
            ax.set_xticks(range(len(labels)), labels)
        elif getattr(knob, "log", False):
            ax.set_xscale("log")
        ax.set_xlabel(knob.name)
        ax.set_title(f"influence {influence:.2f}", fontsize=10)
        ax.grid(alpha=0.3)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
