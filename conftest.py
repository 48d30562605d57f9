"""The root conftest: loaded before any test module or doctest (tests/ and keras_cnns/)."""

import importlib.util

import pytest

# torchvision before TensorFlow: torchvision imports Triton (with the CUDA builds of
# torch), whose LLVM crashes the process when TensorFlow's is already loaded.
try:
    import torchvision  # noqa: F401
except ImportError:  # the torch extra is not installed; its tests skip
    pass


#: The doctests that need torch and torchvision.
TORCH_DOCTESTS = ("keras_cnns/models/convert.py::keras_cnns.models.convert.from_torchvision",)


def pytest_collection_modifyitems(items):
    """Without the torch extra, the doctests that convert torchvision models skip."""
    if importlib.util.find_spec("torch") is None:
        skip = pytest.mark.skip(reason='torch is not installed: pip install "keras-cnns[torch]"')
        for item in items:
            if item.nodeid.startswith(TORCH_DOCTESTS):
                item.add_marker(skip)
