import gc
import itertools
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import pytest  # noqa: E402

_tests = itertools.count(1)
#: The slowest tests (whole training runs) start first, so that pytest-xdist's workers
#: finish together instead of one running them alone at the end.
FIRST = ("tests/test_train.py", "tests/test_tuning.py")


def pytest_collection_modifyitems(items):
    items.sort(key=lambda item: item.nodeid.split("::")[0] not in FIRST)


@pytest.fixture
def cheap_init(monkeypatch):
    """Zeros for the truncated-normal draws of He-normal kernel initialization.

    For tests that overwrite every weight (conversions, transfers) or only read shapes:
    TensorFlow's truncated normal sampler is most of the time it takes to build a large
    model (VGG-19: 7 s of 8). Other initializers are untouched.
    """
    import tensorflow as tf
    from keras.src.backend.tensorflow import random

    def zeros(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
        return tf.zeros(shape, dtype or "float32")

    monkeypatch.setattr(random, "truncated_normal", zeros)


@pytest.fixture(autouse=True)
def _fresh_keras_state():
    """Each test starts from the same seed and frees the models of the last one.

    A full garbage collection costs half a second once TensorFlow (and torch) are
    loaded: it runs every 25 tests, or as soon as the process has grown by more than
    ``GC_GROWTH`` bytes since the last one (the models of a few tests at 224x224), rather
    than after each. Growth, not size: freed memory mostly stays with the process, so a
    size threshold, once crossed, would collect after every test. Keras'
    ``clear_session`` is told not to run one itself (it does by default).
    """
    keras.utils.set_random_seed(0)
    yield
    keras.backend.clear_session(free_memory=False)
    if next(_tests) % 25 == 0 or _resident_bytes() > _collected_at[0] + GC_GROWTH:
        gc.collect()
        _collected_at[0] = _resident_bytes()


#: Growth of resident memory after which a test's teardown collects garbage.
GC_GROWTH = 2 << 30
_collected_at = [0]


def _resident_bytes():
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        return _collected_at[0] + GC_GROWTH + 1  # unknown: collect
