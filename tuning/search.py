"""Search a model's hyperparameters: ``python tuning/search.py --arch NAME [options]``.

``--arch alexnet --space zfnet`` searches AlexNet's first layer, widths and training
settings as Zeiler and Fergus found ZFNet. ``--help`` lists the options;
``keras_cnns.tuning`` does the work (``python -m keras_cnns tune`` is the same command).
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # a clone without pip install
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from keras_cnns.tuning.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
