"""Blocks shared by every family: examples for the block-layer harness."""

from keras_cnns import layers as blocks

BLOCKS = {
    "ConvBNAct": [
        # 3*3*4*8 kernel + 8 gamma + 8 beta
        (lambda: blocks.ConvBNAct(8, 3, strides=2, padding=1), (2, 9, 9, 4), (2, 5, 5, 8), 304),
        # grouped, biased, no norm: 3*3*(4/2)*8 + 8
        (lambda: blocks.ConvBNAct(8, 3, groups=2, use_bias=True, norm=None), (2, 6, 6, 4), (2, 6, 6, 8), 152),
    ],
    # gamma and beta of 7 channels (the moving statistics are not trainable)
    "FusedBatchNormalization": [
        (lambda: blocks.FusedBatchNormalization(epsilon=1e-5), (2, 5, 5, 7), (2, 5, 5, 7), 14),
    ],
    "LocalResponseNormalization": [
        (lambda: blocks.LocalResponseNormalization(), (2, 5, 5, 7), (2, 5, 5, 7), 0),
    ],
    "PaddedMaxPool2D": [
        (lambda: blocks.PaddedMaxPool2D(3, 2, ceil_mode=True), (2, 26, 26, 3), (2, 13, 13, 3), 0),
        (lambda: blocks.PaddedMaxPool2D(3, 2, padding=1), (2, 7, 7, 3), (2, 4, 4, 3), 0),
    ],
    "ClassifierHead": [
        # flatten 2*2*3 -> 6 -> 5: (12*6 + 6) + (6*5 + 5)
        (lambda: blocks.ClassifierHead(5, pooling="flatten", hidden_units=(6,), dropout=0.5), (2, 2, 2, 3), (2, 5), 113),
        (lambda: blocks.ClassifierHead(5, pooling="max", classifier_activation=None), (2, 3, 3, 4), (2, 5), 25),
        # without predictions (a model's head): flatten 2*2*3 -> 6, 12*6 + 6
        (lambda: blocks.ClassifierHead(None, pooling="flatten", hidden_units=(6,)), (2, 2, 2, 3), (2, 6), 78),
    ],
    "OutputActivation": [
        (lambda: blocks.OutputActivation("softmax"), (2, 5), (2, 5), 0),
    ],
}
