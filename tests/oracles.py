"""Comparisons with other implementations (torchvision, timm, pretrainedmodels, OpenCV):
the same random images for both, and agreement to 1e-4 relative."""

import keras
import numpy as np


def images(size, seed=0, batch=2, scale=1.0):
    """Random NCHW images for PyTorch and the same as NHWC for Keras."""
    x = (np.random.default_rng(seed).standard_normal((batch, 3, size, size)) * scale).astype("float32")
    return x, x.transpose(0, 2, 3, 1)


def torch_outputs(module, x):
    """A PyTorch module's outputs for the NCHW array ``x``, as NumPy."""
    import torch

    with torch.no_grad():
        return module(torch.from_numpy(x)).numpy()


def keras_outputs(model, x):
    """A Keras model's inference outputs for ``x``, as NumPy."""
    return keras.ops.convert_to_numpy(model(x, training=False))


def assert_close(ours, theirs, label="outputs"):
    """Agreement to 1e-4 relative to the largest output of ``theirs``; returns the error."""
    ours = keras.ops.convert_to_numpy(ours)
    assert ours.shape == theirs.shape, label
    scale = np.abs(theirs).max()
    assert scale > 0, label
    error = np.abs(ours - theirs).max() / scale
    assert error <= 1e-4, f"{label}: max relative error {error:.2e}"
    return error
