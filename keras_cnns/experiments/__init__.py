"""The papers' claims as experiments: ``python -m keras_cnns experiment NAME``.

- ``degradation`` (``keras_cnns.experiments.degradation``): the ResNet paper's Figure 6.
  Plain networks train worse as they get deeper; residual networks of the same layers
  do not.
- ``factorization`` (``keras_cnns.experiments.factorization``): the arithmetic behind
  the designs (two 3x3 convolutions for a 5x5, 1x1 reductions, bottlenecks, asymmetric
  convolutions), measured on layers the package builds.
"""
