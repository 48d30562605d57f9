"""DenseNet-BC on ImageNet (Huang et al., 2016, Table 1).

PARAMS and TOTAL: keras.applications DenseNet121/169/201 (trainable and count_params()
with weights=None), equal to torchvision's ``num_params``; DenseNet-161, torchvision's
``num_params`` (28,681,000) and the reference table's total; DenseNet-264, in neither
library, computed from Table 1 (shared/reference/architectures.md). MACS: torchvision's
``_ops`` (2.834 / 7.728 / 3.36 / 4.291) and the reference table's computation for DenseNet-264.
FEATURES: the channels after the last dense block, 64 + 32 * n halved at each
transition (1024 / 1664 / 1920 / 2688; DenseNet-161: 96 + 48 * n, 2208). MIN_SIZE: keras.applications' DenseNet minimum.
SPATIAL: the output sizes of Table 1 at 224. CIFAR_PARAMS: the paper's Table 2 networks
(10 classes, 32x32 input, exact counts computed in the reference table; Table 2 rounds
them to 1.0M and 0.8M); densenet_bc_100 is the second, its MACS computed from that layout
(the literature's "0.29 GFLOPs").
"""

from keras_cnns import layers as blocks

PARAMS = {
    "densenet121": 7_978_856,
    "densenet161": 28_681_000,
    "densenet169": 14_149_480,
    "densenet201": 20_013_928,
    "densenet264": 33_337_704,
    "densenet_bc_100": 769_162,  # Table 2's DenseNet-BC (L=100, k=12): CIFAR_PARAMS
}
TOTAL = {
    "densenet121": 8_062_504,
    "densenet161": 28_900_936,
    "densenet169": 14_307_880,
    "densenet201": 20_242_984,
    "densenet264": 33_736_232,
    "densenet_bc_100": 793_150,  # + the moving mean and variance of 11,994 batch-norm channels
}
MACS = {"densenet121": "2.834", "densenet161": "7.728", "densenet169": "3.360", "densenet201": "4.291", "densenet264": "5.752",
        "densenet_bc_100": "0.288"}
FEATURES = {"densenet121": 1024, "densenet161": 2208, "densenet169": 1664, "densenet201": 1920, "densenet264": 2688,
            "densenet_bc_100": 342}  # 24 + 16 * 12 halved, twice, then + 16 * 12
NUM_CLASSES = {"densenet_bc_100": 10}
MIN_SIZE = {"densenet121": 32, "densenet169": 32, "densenet201": 32}
SPATIAL = {
    "densenet121": {
        "conv1": 112,
        "pool1": 56,
        "conv2": 56,  # dense block (1)
        "pool2": 28,  # transition layer (1)
        "conv3": 28,
        "pool3": 14,
        "conv4": 14,
        "pool4": 7,
        "conv5": 7,
    },
}
#: Table 2: (depth L, growth rate k, DenseNet-BC) -> (exact trainable count, paper's "M").
CIFAR_PARAMS = {(40, 12, False): (1_019_722, "1.0"), (100, 12, True): (769_162, "0.8")}
BLOCKS = {
    "DenseLayer": [
        # BN 2*8, 1x1 conv 8*16, BN 2*16, 3x3 conv 9*16*4: 16 + 128 + 32 + 576
        (lambda: blocks.DenseLayer(4), (2, 6, 6, 8), (2, 6, 6, 12), 752),
        # no bottleneck: BN 2*6, 3x3 conv 9*6*3: 12 + 162
        (lambda: blocks.DenseLayer(3, bottleneck_width=None, dropout=0.2), (2, 5, 5, 6), (2, 5, 5, 9), 174),
    ],
    "DenseBlock": [
        # layer 1 on 8 channels: 16 + 8*8 + 16 + 9*8*4 = 384; layer 2 on 12: 24 + 12*8 + 16 + 288 = 424
        (lambda: blocks.DenseBlock(2, growth_rate=4, bottleneck_width=2), (2, 6, 6, 8), (2, 6, 6, 16), 808),
    ],
    "TransitionBlock": [
        # BN 2*10, 1x1 conv 10*5; 7 -> 3 (unpadded 2x2/2 pooling)
        (lambda: blocks.TransitionBlock(0.5), (2, 7, 7, 10), (2, 3, 3, 5), 70),
        # no compression: BN 2*6, 1x1 conv 6*6
        (lambda: blocks.TransitionBlock(1.0), (2, 8, 8, 6), (2, 4, 4, 6), 48),
    ],
}

#: Depth: the names count convolutions and the classifier (Table 1). Table 1's DenseNet-264
#: blocks (6-12-64-48) counted that way make 265, as the registry's deviations say.
DEPTH = {"densenet121": 121, "densenet161": 161, "densenet169": 169, "densenet201": 201, "densenet264": 265,
         "densenet_bc_100": 100}
