import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _fresh_keras_state():
    """Each test starts from the same seed and frees the models of the last one."""
    keras.utils.set_random_seed(0)
    yield
    keras.backend.clear_session(free_memory=True)
