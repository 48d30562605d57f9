"""Train a keras_cnns model: ``python train.py --arch NAME [options]``.

With only ``--arch googlenet`` it trains GoogLeNet on the bundled ``digits`` dataset with
the quick recipe. ``--help`` lists the options; ``keras_cnns.training`` does the work
(``python -m keras_cnns train`` is the same command).
"""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from keras_cnns.training.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
