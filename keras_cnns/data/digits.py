"""``sklearn_digits``: scikit-learn's handwritten digits as a tensorflow-datasets builder.

The default dataset of ``train.py`` must work offline, so it is one that ships inside a
package: scikit-learn's copy of the UCI optical-recognition digits (``load_digits``:
1,797 grayscale 8x8 images of 0-9 written by 43 people, pixel values 0-16). Served
through this builder, it is prepared, cached and split like any tfds dataset::

    import tensorflow_datasets as tfds
    import keras_cnns.data.digits  # registers the builder

    train = tfds.load("sklearn_digits", split="train", as_supervised=True, download=True)

Pixels are scaled to 0-255 (``round(v * 255 / 16)``). The fixed split puts every fifth
image in ``test`` (360 images) and the others in ``train`` (1,437).
"""

import numpy as np
import tensorflow_datasets as tfds

NUM_CLASSES = 10


class SklearnDigits(tfds.core.GeneratorBasedBuilder):
    """scikit-learn's 8x8 handwritten digits (UCI optical recognition of digits)."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "scikit-learn's load_digits, pixels scaled to 0-255, 1-in-5 test split."}

    def _info(self):
        return tfds.core.DatasetInfo(
            builder=self,
            description=(
                "1,797 8x8 grayscale images of handwritten digits 0-9 (UCI ML optical "
                "recognition of handwritten digits, as shipped by scikit-learn)."
            ),
            features=tfds.features.FeaturesDict(
                {
                    "image": tfds.features.Image(shape=(8, 8, 1)),
                    "label": tfds.features.ClassLabel(names=[str(d) for d in range(NUM_CLASSES)]),
                }
            ),
            supervised_keys=("image", "label"),
            homepage="https://archive.ics.uci.edu/dataset/80/optical+recognition+of+handwritten+digits",
            citation=(
                "@misc{alpaydin1998digits, author={Alpaydin, E. and Kaynak, C.}, "
                "title={Optical Recognition of Handwritten Digits}, year={1998}, "
                "howpublished={UCI Machine Learning Repository}}"
            ),
        )

    def _split_generators(self, dl_manager):
        del dl_manager  # nothing to download: the data is in scikit-learn
        return {"train": self._generate_examples(test=False), "test": self._generate_examples(test=True)}

    def _generate_examples(self, test):
        from sklearn.datasets import load_digits

        digits = load_digits()
        images = np.round(digits.images * (255.0 / 16.0)).astype(np.uint8)[..., None]
        for index, (image, label) in enumerate(zip(images, digits.target)):
            if (index % 5 == 0) == test:
                yield index, {"image": image, "label": int(label)}
