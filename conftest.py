"""The root conftest: loaded before any test module or doctest (tests/ and keras_cnns/)."""

import importlib.util

import pytest

# torchvision before TensorFlow: torchvision imports Triton (with the CUDA builds of
# torch), whose LLVM crashes the process when TensorFlow's is already loaded.
try:
    import torchvision  # noqa: F401
except ImportError:  # the torch extra is not installed; its tests skip
    pass


def pytest_collection_modifyitems(items):
    """Without the torch extra, the doctests of keras_cnns/torchvision.py skip."""
    if importlib.util.find_spec("torch") is None:
        skip = pytest.mark.skip(reason='torch is not installed: pip install "keras-cnns[torch]"')
        for item in items:
            if item.nodeid.startswith("keras_cnns/torchvision.py"):
                item.add_marker(skip)
