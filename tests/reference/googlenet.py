"""GoogLeNet (Inception v1) and BN-Inception.

PARAMS / TOTAL / MACS: shared/reference/architectures.md, master table: "GoogLeNet,
paper-faithful" (6,998,552; 1.583 GMACs; 13,378,280 and 1.591 with the two auxiliary
heads) and "BN-Inception without conv bias" (11,285,224 trainable, Keras total
11,305,256, 2.033 GMACs; the Cadene Caffe port with conv bias has 11,295,240), and
"GoogLeNet torchvision pretrained" for googlenet_bn (6,624,904 trainable, 6,639,464 in
all, 1.498 GMACs: torchvision's ``GoogLeNet_Weights`` meta; min_size 15, torchvision's).
SPATIAL: Table 1 of Szegedy et al. (2014) and Figure 5 of Ioffe and Szegedy (2015) at
224. The block examples' parameter counts are worked out by hand.
"""

from keras_cnns import layers as blocks

PARAMS = {"googlenet": 6_998_552, "googlenet_bn": 6_624_904, "bn_inception": 11_285_224}
PARAMS_AUX = {"googlenet": 13_378_280}
TOTAL = {"bn_inception": 11_305_256, "googlenet_bn": 6_639_464}  # googlenet has no batch norm: total = trainable
MACS = {"googlenet": "1.583", "googlenet_bn": "1.498", "bn_inception": "2.033"}
MIN_SIZE = {"googlenet_bn": 15}
MACS_AUX = {"googlenet": "1.591"}
FEATURES = {"googlenet": 1024, "googlenet_bn": 1024, "bn_inception": 1024}
SPATIAL = {
    "googlenet": {
        "conv1": 112, "pool1": 56, "conv2": 56, "pool2": 28, "inception_3a": 28, "inception_3b": 28,
        "pool3": 14, "inception_4a": 14, "inception_4e": 14, "pool4": 7, "inception_5a": 7, "inception_5b": 7,
    },
    "bn_inception": {
        "conv1": 112, "pool1": 56, "conv2": 56, "pool2": 28, "inception_3a": 28, "inception_3b": 28,
        "inception_3c": 14, "inception_4a": 14, "inception_4d": 14, "inception_4e": 7, "inception_5b": 7,
    },
}
BLOCKS = {
    "InceptionModule": [
        # bias, no norm: 1x1 4*2+2, reduce 4*3+3, 3x3 9*3*4+4, reduce 4*1+1, 5x5 25*1*2+2,
        # proj 4*2+2 = 10 + 15 + 112 + 5 + 52 + 10; channels 2 + 4 + 2 + 2
        (lambda: blocks.InceptionModule(2, 3, 4, 1, 2, 2), (2, 5, 5, 4), (2, 5, 5, 10), 204),
        # no bias, batch norm (2 per channel): 3*2+4, 3*3+6, 9*3*4+8, 3*2+4, 25*2*2+4, 3*2+4.
        # (A 1-channel reduction before a batch-normalized convolution would leave its
        # gamma without gradient: the next batch norm cancels its scale.)
        (
            lambda: blocks.InceptionModule(2, 3, 4, 2, 2, 2, use_bias=False, norm="batch"),
            (2, 4, 4, 3),
            (2, 4, 4, 10),
            10 + 15 + 116 + 10 + 104 + 10,
        ),
    ],
    "BNInceptionModule": [
        # 1x1 4*2+4, reduce 4*3+6, 3x3 9*3*4+8, double reduce 4*2+4, 9*2*2+4, 9*2*2+4, proj 4*2+4
        (
            lambda: blocks.BNInceptionModule(2, 3, 4, 2, 2, 2),
            (2, 5, 5, 4),
            (2, 5, 5, 10),
            12 + 18 + 116 + 12 + 40 + 40 + 12,
        ),
        # reduction at an odd size: 5 -> 3 in every branch; channels 4 + 2 + 4 passed through;
        # reduce 4*3+6, 3x3/2 9*3*4+8, double reduce 4*2+4, 9*2*2+4, 3x3/2 9*2*2+4
        (
            lambda: blocks.BNInceptionModule(0, 3, 4, 2, 2, 0, pool="max", strides=2),
            (2, 5, 5, 4),
            (2, 3, 3, 10),
            18 + 116 + 12 + 40 + 40,
        ),
    ],
    "InceptionAux": [
        # 8x8 -> 5x5/3 pool 2x2; conv 4*4+4; fc (2*2*4)*6+6; classifier 6*3+3
        (lambda: blocks.InceptionAux(3, filters=4, units=6), (2, 8, 8, 4), (2, 3), 20 + 102 + 21),
        # 14x14 -> 4x4 (the paper's); conv 6*8 + BN 16; fc (4*4*8)*16+16; classifier 16*5+5
        (
            lambda: blocks.InceptionAux(5, filters=8, units=16, use_bias=False, norm="batch"),
            (2, 14, 14, 6),
            (2, 5),
            64 + 2064 + 85,
        ),
    ],
}

#: Depth: "The network is 22 layers deep when counting only layers with parameters" (Section 5).
DEPTH = {"googlenet": 22, "googlenet_bn": 22}
