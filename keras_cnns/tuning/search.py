"""One search: keras-tuner over a ``CNNHyperModel``, in a folder it can resume from.

``run_search(config, ...)`` is what ``python tuning/search.py`` calls. The folder holds
``search.json`` (the search's settings), keras-tuner's ``oracle.json`` and one
``trial_N/`` per trial (its ``trial.json``, best-epoch ``checkpoint.weights.h5``,
``history.csv``, TensorBoard ``logs/`` and, while it trains, ``backup/``), and, at the
end, ``results.csv``, ``best.json``, ``search.png`` and ``best.keras``.

Started again on the same folder, the search continues: keras-tuner reloads its trials
(finished ones are not run again; a larger ``max_trials`` adds new ones) and a trial
that was interrupted resumes from its backup.

Distributed search is keras-tuner's chief/worker mode: the chief (``chief="HOST:PORT"``)
runs the oracle, a gRPC server on that address, and writes the results; each worker
(``worker="HOST:PORT"``, the chief's address) asks it for trials and trains them under
its own ``tf.distribute`` strategy.
"""

import json
import os
import shutil
import socket

import keras
import keras_tuner
import tensorflow as tf
from keras_tuner.engine.tuner import maybe_distribute

from keras_cnns.tuning import results
from keras_cnns.tuning.hypermodel import OBJECTIVE, CNNHyperModel, SkippedTrial, skipped

TUNERS = ("random", "hyperband", "bayesian")
_KERASTUNER_ENV = ("KERASTUNER_TUNER_ID", "KERASTUNER_ORACLE_IP", "KERASTUNER_ORACLE_PORT")
#: What may differ when a search is started again on its folder.
RESTARTABLE = ("max_trials",)


class _SkipInvalid:
    """Oracle mixin: keras-tuner stops a search after ``max_consecutive_failed_trials``
    failed trials in a row; invalid and diverged trials are skipped, not failures."""

    def _check_consecutive_failures(self):
        consecutive = 0
        for trial_id in self.end_order:
            trial = self.trials[trial_id]
            if trial.status == "FAILED" and skipped(trial.message):
                continue
            consecutive = consecutive + 1 if trial.status == "FAILED" else 0
            if consecutive == self.max_consecutive_failed_trials:
                raise RuntimeError(f"{consecutive} trials in a row failed; the last one:\n{trial.message or ''}")


class RandomSearchOracle(_SkipInvalid, keras_tuner.oracles.RandomSearchOracle):
    pass


class HyperbandOracle(_SkipInvalid, keras_tuner.oracles.HyperbandOracle):
    pass


class BayesianOptimizationOracle(_SkipInvalid, keras_tuner.oracles.BayesianOptimizationOracle):
    pass


class Tuner(keras_tuner.Tuner):
    """keras-tuner's Tuner for a ``CNNHyperModel``: the space is declared without
    building a model (the spaces have no conditional scopes), and ``results.csv`` is
    rewritten after every trial when ``results_path`` is set."""

    results_path = None

    def run_trial(self, trial, *args, **kwargs):
        try:
            return super().run_trial(trial, *args, **kwargs)
        except SkippedTrial as e:
            self._skipped = (trial.trial_id, e)
            raise

    def _populate_initial_space(self):
        hp = self.oracle.get_space()
        self.hypermodel.declare_hyperparameters(hp)
        self.oracle.update_space(hp)

    def on_trial_end(self, trial):
        trial_id, skip = getattr(self, "_skipped", (None, None))
        if trial_id == trial.trial_id:  # keras-tuner kept the traceback: say why it was skipped
            trial.message = skip.record()
        self._skipped = (None, None)
        super().on_trial_end(trial)
        if self.results_path:
            results.write_csv(results.rows(self.oracle, self.hypermodel.space.all_knobs), self.results_path)

    def restore(self, hp, trial_id, distribute=True):
        """The model of ``hp`` with the weights and optimizer state of trial
        ``trial_id``'s best epoch (keras-tuner's checkpoint), built under the search's
        strategy, or with ``distribute=False`` outside it (no collective ops: the other
        workers of a multi-worker strategy may be gone)."""
        with maybe_distribute(self.distribution_strategy if distribute else None):
            model = self.hypermodel.build(hp)
            model.optimizer.build(model.trainable_variables)  # the checkpoint holds its state too
            model.load_weights(self._get_checkpoint_fname(trial_id))
        return model


class HyperbandTuner(Tuner, keras_tuner.Hyperband):
    """keras-tuner's Hyperband (its ``run_trial``) on a given oracle; a trial that
    continues another starts from that trial's weights and optimizer state."""

    def __init__(self, oracle, **kwargs):
        keras_tuner.Tuner.__init__(self, oracle=oracle, **kwargs)

    def _build_hypermodel(self, hp):
        if "tuner/trial_id" in hp.values:
            return self.restore(hp, hp.values["tuner/trial_id"])
        return keras_tuner.Tuner._build_hypermodel(self, hp)


def _oracle(kind, config, max_trials, factor):
    # keras-tuner draws a random seed for a false one: seed 0 would not repeat itself.
    common = dict(objective=keras_tuner.Objective(OBJECTIVE, "max"), seed=config.seed + 1)
    if kind == "random":
        return RandomSearchOracle(max_trials=max_trials or 10, **common)
    if kind == "bayesian":
        # keras-tuner's default starts with 3 random trials per hyperparameter (45 for the
        # zfnet space): a third of the trials, at least 2, leaves the rest to the model.
        trials = max_trials or 10
        return BayesianOptimizationOracle(max_trials=trials, num_initial_points=max(2, trials // 3), **common)
    if kind == "hyperband":
        oracle = HyperbandOracle(max_epochs=config.epochs, factor=factor, **common)
        oracle.max_trials = max_trials  # None: as many as Hyperband's brackets make
        return oracle
    raise ValueError(f"Expected `tuner` to be one of {list(TUNERS)}. Received: tuner={kind!r}")


def address(value, name):
    """``(host, port)`` of a ``HOST:PORT`` string."""
    host, _, port = str(value).rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"Expected `{name}` to be HOST:PORT, e.g. 10.0.0.1:8000. Received: {name}={value!r}")
    return host, port


def _distribute(chief, worker, tuner_id):
    """Sets keras-tuner's chief/worker environment; returns the role."""
    if chief and worker:
        raise ValueError(f"A process is the chief or a worker, not both. Received: chief={chief!r}, worker={worker!r}")
    if not (chief or worker):
        if tuner_id:
            raise ValueError(f"--tuner-id names a worker: give --worker HOST:PORT too. Received: tuner_id={tuner_id!r}")
        return "local"
    host, port = address(chief or worker, "chief" if chief else "worker")
    identity = "chief" if chief else (tuner_id or f"worker-{socket.gethostname()}")
    if worker and "chief" in identity:
        raise ValueError(f"keras-tuner takes a tuner id containing 'chief' for the chief. Received: tuner_id={identity!r}")
    os.environ.update(dict(zip(_KERASTUNER_ENV, (identity, host, port))))
    return "chief" if chief else "worker"


def _settings(config, space, tuner, max_trials, fixed, factor):
    train = {k: v for k, v in json.loads(config.to_json()).items() if k not in results.RUNTIME_FIELDS}
    return dict(config=train, space=space, tuner=tuner, max_trials=max_trials, fixed=fixed, factor=factor)


def _check_restart(folder, settings):
    """A search started again on its folder keeps its settings, but for ``max_trials``."""
    path = os.path.join(folder, "search.json")
    if not os.path.exists(path):
        if os.path.exists(os.path.join(folder, "oracle.json")):
            raise ValueError(f"{folder} holds a keras-tuner project without search.json. Received: output={folder!r}")
        return
    with open(path) as f:
        saved = json.load(f)
    changed = []
    for key in sorted(set(saved) | set(settings)):
        if key in RESTARTABLE:
            continue
        old, new = saved.get(key), settings.get(key)
        if key == "config":
            changed += [f"{k}={new.get(k)!r} (search: {old.get(k)!r})" for k in sorted(set(old) | set(new))
                        if old.get(k) != new.get(k)]
        elif old != new:
            changed.append(f"{key}={new!r} (search: {old!r})")
    if changed:
        raise ValueError(
            f"{folder} holds another search; start it again with its own options (only --max-trials may change) "
            f"or pick another --output. Received: {', '.join(changed)}"
        )


def default_output(arch, space):
    """``runs/tune-ARCH-SPACE``: the same command finds its search again."""
    return os.path.join("runs", f"tune-{arch}-{space}")


def run_search(config, *, space=None, tuner="random", max_trials=None, output=None, fixed=None, factor=3,
               chief=None, worker=None, tuner_id=None, log=print, extra_callbacks=()):
    """Searches the hyperparameters of ``config.arch``; returns the results table.

    Args:
        config: the base ``TrainConfig`` (``keras_cnns.training.resolve``): dataset,
            image size, recipe, epochs per trial, strategy and every value the
            search does not vary.
        space: a space name (``keras_cnns.tuning.SPACES``), or None for the
            architecture's own.
        tuner: ``"random"``, ``"hyperband"`` or ``"bayesian"``.
        max_trials: trials to run (random and Bayesian: 10 when None; Hyperband:
            a cap on its brackets' trials). Bayesian optimization draws the first
            third of them (at least 2) at random.
        output: the search's folder (default ``runs/tune-ARCH-SPACE``).
        fixed: dict of knob values not to search.
        factor: Hyperband's reduction factor.
        chief: ``HOST:PORT`` to serve the oracle on (distributed search).
        worker: the chief's ``HOST:PORT`` (distributed search).
        tuner_id: this worker's id (default ``worker-HOSTNAME``); a worker started
            again with its id continues its trial.
        log: where one-line messages go.
        extra_callbacks: more Keras callbacks for every trial (deep-copied by keras-tuner).

    Returns:
        The results table, one dict per trial (None on a worker).
    """
    hypermodel = CNNHyperModel(config, space=space, fixed=fixed, log=log)
    if max_trials is not None and (isinstance(max_trials, bool) or not isinstance(max_trials, int) or max_trials < 1):
        raise ValueError(f"Expected `max_trials` to be a positive int. Received: max_trials={max_trials!r}")
    _oracle(tuner, config, max_trials, factor)  # an unknown tuner fails here, before anything is written
    environment = {name: os.environ.get(name) for name in _KERASTUNER_ENV}
    try:
        return _run(config, hypermodel, tuner, max_trials, output, factor, _distribute(chief, worker, tuner_id),
                    log, extra_callbacks)
    finally:  # the next search in this process is not a chief or worker unless it says so
        for name, value in environment.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _run(config, hypermodel, tuner, max_trials, output, factor, role, log, extra_callbacks):
    from keras_cnns.models import model_info
    from keras_cnns.training.strategy import make_strategy, worker as tf_worker

    space = hypermodel.space.name
    folder = os.path.abspath(output or default_output(config.arch, space))
    index, _, tf_chief = tf_worker()
    if role != "worker" and not tf_chief:  # a multi-worker strategy's other workers keep their own project
        folder = os.path.join(folder, f"worker{index}")
    writes = role != "worker" and tf_chief
    settings = _settings(config, space, tuner, max_trials, hypermodel.fixed, factor)
    if writes:
        _check_restart(folder, settings)
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, "search.json"), "w") as f:
            json.dump(settings, f, indent=2, sort_keys=True)

    strategy = None
    if role != "chief":
        strategy = make_strategy(config.strategy, config.cpu_replicas)
        hypermodel.check_data()
        if strategy is tf.distribute.get_strategy():
            strategy = None  # the default strategy: keras-tuner needs no scope
    previous_policy = keras.config.dtype_policy()
    if config.mixed_precision:
        keras.config.set_dtype_policy("mixed_float16" if tf.config.list_logical_devices("GPU") else "mixed_bfloat16")
    try:
        cls = HyperbandTuner if tuner == "hyperband" else Tuner
        search = cls(oracle=_oracle(tuner, config, max_trials, factor), hypermodel=hypermodel,
                     directory=os.path.dirname(folder), project_name=os.path.basename(folder),
                     distribution_strategy=strategy, overwrite=False)
        if role == "local" and writes:
            search.results_path = os.path.join(folder, "results.csv")
        replicas = strategy.num_replicas_in_sync if strategy else 1
        size = config.image_size or model_info(config.arch).default_size
        who = {"local": "", "chief": "chief of the ", "worker": "worker of the "}[role]
        log(f"{who}search of {config.arch} ({space} space, {tuner}) on {config.dataset} at "
            f"{size}x{size}, {config.epochs} epochs a trial"
            + (f", {replicas} replicas" if replicas > 1 else "") + f"; output in {_shown(folder)}")
        verbose = config.verbose if config.verbose == "auto" else int(config.verbose)
        search.search(callbacks=list(extra_callbacks), verbose=verbose)
        if not writes:
            log("worker done" if role == "worker" else f"done (worker {index}: the chief writes the results)")
            return None
        return _finish(search, hypermodel, folder, log)
    finally:
        keras.config.set_dtype_policy(previous_policy)


def _finish(search, hypermodel, folder, log):
    """Writes results.csv, best.json, search.png and best.keras; prints the table."""
    knobs = hypermodel.space.all_knobs
    table = results.rows(search.oracle, knobs)
    results.write_csv(table, os.path.join(folder, "results.csv"))
    log(results.format_table(table))
    results.plot(table, knobs, os.path.join(folder, "search.png"),
                 title=f"{hypermodel.base.arch}, {hypermodel.space.name} space, on {hypermodel.base.dataset}")
    best = [trial for trial in search.oracle.get_best_trials(1) if trial.status == "COMPLETED"]
    outputs = "results.csv, search.png"
    if best:
        trial = best[0]
        config = hypermodel.trial_config(trial.hyperparameters)
        results.write_config(results.best_config(config), os.path.join(folder, "best.json"))
        _save_best_model(search, hypermodel, trial, config, folder, log)
        log(f"best: trial {trial.trial_id}, {OBJECTIVE} {trial.score:.4f}: "
            f"python train.py --config {_shown(os.path.join(folder, 'best.json'))}")
        outputs += ", best.json, best.keras"
    else:
        log("no trial completed: no best.json or best.keras")
    log(f"outputs in {_shown(folder)}: {outputs}")
    return table


def _shown(path):
    """``path`` relative to the working folder when it is inside it."""
    relative = os.path.relpath(path)
    return path if relative.startswith("..") else relative


def _save_best_model(search, hypermodel, trial, config, folder, log):
    """``best.keras``: the best trial's model at its best epoch, restored from its
    checkpoint, or trained again with its configuration where the checkpoint is on
    another machine (a worker without a shared folder)."""
    from keras_cnns.training import train

    path = os.path.join(folder, "best.keras")
    if os.path.exists(search._get_checkpoint_fname(trial.trial_id)):
        model = search.restore(trial.hyperparameters, trial.trial_id, distribute=False)
    else:
        log(f"the checkpoint of trial {trial.trial_id} is not in {folder}: training it again")
        run = os.path.join(folder, "best-run")
        config.output, config.resume, config.export = run, os.path.exists(os.path.join(run, "config.json")), False
        train(config, log=log)
        model = keras.saving.load_model(os.path.join(run, "best.keras"), compile=False)
    model.save(path + ".tmp.keras")
    os.replace(path + ".tmp.keras", path)
    shutil.rmtree(os.path.join(folder, "best-run", "backup"), ignore_errors=True)
