"""How images are prepared for a model: a ``Preprocessing`` record and its normalization.

Preprocessing belongs to weights (each weights descriptor carries the one its weights
were trained with) and, for a model trained from scratch, to the run that trains it.
The data pipeline, ``predict`` and ``preprocess_input`` all take this record, never a
model name.
"""

import dataclasses

import keras
import numpy as np


@dataclasses.dataclass(frozen=True)
class Preprocessing:
    """How images are prepared for a model, in 0-255 pixel units.

    ``x = (pixels[..., order] - mean) / std`` after resizing the shorter side to
    ``size / crop_pct`` and center-cropping ``size`` (evaluation).

    Attributes:
        mean: per-channel mean, in pixel units (its length is the channel count).
        std: per-channel standard deviation, in pixel units (1: no scaling).
        channel_order: ``"RGB"`` or ``"BGR"`` (Caffe's), for 3-channel images.
        crop_pct: the evaluation crop's share of the resized shorter side.
        interpolation: the resize's interpolation.
    """

    mean: tuple
    std: tuple
    channel_order: str = "RGB"
    crop_pct: float = 0.875
    interpolation: str = "bilinear"

    def __post_init__(self):
        if len(self.mean) != len(self.std) or not self.mean:
            raise ValueError(
                f"Expected `mean` and `std` of the same non-zero length. Received: mean={self.mean}, std={self.std}"
            )
        if self.channel_order not in ("RGB", "BGR"):
            raise ValueError(f"Expected `channel_order` to be 'RGB' or 'BGR'. Received: channel_order={self.channel_order!r}")
        if not 0 < self.crop_pct <= 1:
            raise ValueError(f"Expected `crop_pct` in (0, 1]. Received: crop_pct={self.crop_pct!r}")

    @property
    def channels(self):
        """The number of channels the images must have."""
        return len(self.mean)

    def describe(self):
        """The preprocessing in a few words, for listings.

        >>> IMAGENET_CAFFE.describe()
        'BGR minus mean (103.939, 116.779, 123.68), center crop 0.875, bilinear'
        >>> IMAGENET_INCEPTION.describe()
        'RGB to [-1, 1], center crop 0.875, bilinear'
        >>> IMAGENET_RGB.describe()
        'RGB ImageNet mean and std, center crop 0.875, bilinear'
        """
        order = self.channel_order if self.channels == 3 else f"{self.channels} channel(s)"
        numbers = lambda values: "(" + ", ".join(f"{v:g}" for v in values) + ")"  # noqa: E731
        if all(s == 1 for s in self.std):
            scaling = f"minus mean {numbers(self.mean)}"
        elif all(m == s == 127.5 for m, s in zip(self.mean, self.std)):
            scaling = "to [-1, 1]"
        elif (self.mean, self.std) == (IMAGENET_RGB.mean, IMAGENET_RGB.std):
            scaling = "ImageNet mean and std"
        else:
            scaling = f"mean {numbers(self.mean)}, std {numbers(self.std)}"
        return f"{order} {scaling}, center crop {self.crop_pct:.4g}, {self.interpolation}"

    def normalize(self, images):
        """``(images[..., order] - mean) / std`` for images in 0-255, channels last.

        NumPy arrays, lists and tuples give a float32 NumPy array, tensors a float32
        tensor (``keras.ops``, so inside ``tf.data`` too). The input is never modified.

        >>> Preprocessing(mean=(127.5,) * 3, std=(127.5,) * 3).normalize([[0.0, 127.5, 255.0]])
        array([[-1.,  0.,  1.]], dtype=float32)
        """
        shape = tuple(images.shape if hasattr(images, "shape") else np.shape(images))
        if not shape or shape[-1] != self.channels:
            raise ValueError(
                f"This preprocessing is for images with {self.channels} channels (last axis). "
                f"Received: images.shape={shape}"
            )
        mean = np.asarray(self.mean, "float32")
        std = np.asarray(self.std, "float32")
        bgr = self.channel_order == "BGR" and self.channels == 3
        if isinstance(images, (np.ndarray, list, tuple)):
            x = np.asarray(images, dtype="float32")
            return ((x[..., ::-1] if bgr else x) - mean) / std
        x = keras.ops.cast(images, "float32")
        if bgr:
            x = keras.ops.flip(x, axis=-1)
        return (x - mean) / std

    def pixels(self, images):
        """The inverse of ``normalize``: NumPy images back in 0-255, RGB order.

        >>> Preprocessing(mean=(127.5,) * 3, std=(127.5,) * 3).pixels([[-1.0, 0.0, 1.0]])
        array([[  0. , 127.5, 255. ]], dtype=float32)
        """
        x = np.asarray(images, "float32") * np.asarray(self.std, "float32") + np.asarray(self.mean, "float32")
        return x[..., ::-1] if self.channel_order == "BGR" and self.channels == 3 else x


#: ImageNet mean and std of RGB scaled to [0, 1] (torchvision, timm), in pixel units: the
#: scale-free default for a model trained from scratch.
IMAGENET_RGB = Preprocessing(mean=(123.675, 116.28, 103.53), std=(58.395, 57.12, 57.375))
#: Caffe: BGR with the ImageNet mean subtracted, no scaling (keras.applications' "caffe" mode).
IMAGENET_CAFFE = Preprocessing(mean=(103.939, 116.779, 123.68), std=(1.0, 1.0, 1.0), channel_order="BGR")
#: RGB scaled to [-1, 1] (TF-slim, keras.applications' "tf" mode).
IMAGENET_INCEPTION = Preprocessing(mean=(127.5, 127.5, 127.5), std=(127.5, 127.5, 127.5))
#: CIFAR-10's training-set per-channel mean and std in pixel units, as Facebook's Torch
#: training code for CIFAR-10 states them (datasets/cifar10.lua); no evaluation crop.
CIFAR10_RGB = Preprocessing(mean=(125.3, 123.0, 113.9), std=(63.0, 62.1, 66.7), crop_pct=1.0)
