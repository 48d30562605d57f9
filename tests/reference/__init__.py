"""Numbers from outside the project, one module per model family, merged here.

Each family module defines, for its registered models:

* ``PARAMS``: trainable parameters at 1000 classes and the default input (torchvision's
  ``meta["num_params"]``, keras.applications' trainable count, or the paper's layer
  specification), as listed in the issues and in shared/reference/architectures.md;
* ``MACS``: forward multiply-adds in G at the default input (torchvision's ``_ops``,
  keras.applications computed, or the paper layout), as strings with the published
  decimals ("0.724", "0.000417"): the test rounds the count to that many decimals;
* ``FEATURES``: channels of the pooled features (include_top=False, pooling="avg");
* optionally ``TOTAL`` (``count_params()``: trainable + batch-norm moving statistics,
  where it differs from PARAMS), ``MIN_SIZE`` (a published minimum input), ``SPATIAL``
  (feature-map sizes from the papers' tables: ``{model: {layer: size}}``) and
  ``BLOCKS`` (examples for the block-layer harness:
  ``{class name: [(factory, input shape, output shape, trainable params), ...]}``, the
  parameter counts worked out by hand), ``CHANNELS`` and ``NUM_CLASSES`` (a model's
  default input channels and classes where they are not 3 and 1000, as LeNet-5's 1 and
  10; PARAMS and MACS are then at those defaults), ``DEPTH`` (weight layers on the
  longest path, where the paper states it).

Add a module for a new family; nothing else needs to change.
"""

import importlib
import pkgutil

PARAMS, MACS, FEATURES, TOTAL, MIN_SIZE, SPATIAL, BLOCKS, CHANNELS, NUM_CLASSES, DEPTH = {}, {}, {}, {}, {}, {}, {}, {}, {}, {}

for _info in pkgutil.iter_modules(__path__):
    _module = importlib.import_module(f"{__name__}.{_info.name}")
    for _table in ("PARAMS", "MACS", "FEATURES", "TOTAL", "MIN_SIZE", "SPATIAL", "BLOCKS", "CHANNELS", "NUM_CLASSES", "DEPTH"):
        _merged = globals()[_table]
        _own = getattr(_module, _table, {})
        assert not set(_own) & set(_merged), f"{_info.name}.{_table} repeats {set(_own) & set(_merged)}"
        _merged.update(_own)
