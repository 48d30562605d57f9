"""The ResNet paper's CIFAR-10 networks and their plain twins (He et al. 2015, section 4.2).

PARAMS: trainable parameters at 10 classes, batch norm's gamma and beta included (the
issue's figures; the paper's Table 6 rounds them to 0.27M, 0.46M, 0.66M, 0.85M, 1.7M and
19.4M); a plain network has its twin's count (option A shortcuts have no parameters).
MACS: multiply-adds at 32x32 as the network-pruning literature counts them (ResNet-56
125.49M and ResNet-110 252.89M, e.g. Lin et al. 2020 "HRank", Table 1; Li et al. 2017
"Pruning Filters for Efficient ConvNets", Table 1: 1.25E8 and 2.53E8; ResNet-20 40.55M
and ResNet-32 68.86M in the same literature), the paper's layout for ResNet-44 and
ResNet-1202. SPATIAL: section 4.2's maps of 32, 16 and 8. DEPTH: 6n + 2.
"""

BLOCKS_PER_STAGE = {20: 3, 32: 5, 44: 7, 56: 9, 110: 18, 1202: 200}
_PARAMS = {20: 269_722, 32: 464_154, 44: 658_586, 56: 853_018, 110: 1_727_962, 1202: 19_421_274}
_MACS = {20: "0.04055", 32: "0.06886", 44: "0.09717", 56: "0.12549", 110: "0.25289", 1202: "2.82924"}
_PLAIN = (20, 32, 44, 56)

PARAMS = {f"resnet{d}": n for d, n in _PARAMS.items()} | {f"plain{d}": _PARAMS[d] for d in _PLAIN}
MACS = {f"resnet{d}": m for d, m in _MACS.items()} | {f"plain{d}": _MACS[d] for d in _PLAIN}
FEATURES = {name: 64 for name in PARAMS}
NUM_CLASSES = {name: 10 for name in PARAMS}
DEPTH = {name: int(name.lstrip("resnetplain")) for name in PARAMS}
#: count_params(): the trainable ones plus the moving mean and variance of every batch
#: norm: the stem's 16 channels and, in each stage, 2n of its width (16, 32, 64).
TOTAL = {name: PARAMS[name] + 2 * (16 + 2 * BLOCKS_PER_STAGE[depth] * (16 + 32 + 64)) for name, depth in DEPTH.items()}
SPATIAL = {
    "resnet20": {"conv1": 32, "conv2_block3": 32, "conv3_block1": 16, "conv3_block3": 16, "conv4_block3": 8},
    "plain56": {"conv1": 32, "conv2_block9": 32, "conv3_block9": 16, "conv4_block9": 8},
}
