"""Workload zoo: shape-only definitions of the networks the literature reports on.

Each function transcribes one published architecture into the workload IR
and cites where it comes from. Binary layers follow larq's convention: the
sign of a layer's input is the layer's *input quantizer* (``input_bits=1``),
so there is no separate activation layer before a binary convolution.
Batch-norm parameter counts follow Keras (4 per channel, 3 with
``scale=False``), which is how larq zoo's published parameter counts are made.

``get(name)`` returns a fresh :class:`~hw_models.workload.Workload`;
``names()`` lists them.
"""

from __future__ import annotations

from collections.abc import Callable

from hw_models.errors import WorkloadError
from hw_models.workload import FLOAT_BITS, Workload, WorkloadBuilder, load_json

IMAGENET = (224, 224, 3)
MNIST = (28, 28, 1)
CIFAR10 = (32, 32, 3)


# ---------------------------------------------------------------------------
# FINN / BNN-PYNQ
# ---------------------------------------------------------------------------


def _finn_mlp(name: str, hidden: int) -> Workload:
    b = WorkloadBuilder(name, MNIST, input_bits=1, source="Umuroglu et al., FINN, FPGA 2017, table 1 (arXiv 1612.07119)")
    b.note("Input pixels are binarized before the network, as FINN / BNN-PYNQ feed MNIST to SFC and LFC.")
    b.flatten()
    for _ in range(3):
        b.dense(hidden, weight_bits=1, input_bits=1)
        b.bn()
    b.dense(10, weight_bits=1, input_bits=1)
    b.bn()
    return b.build()


def sfc() -> Workload:
    """FINN SFC: binary MLP 784-256-256-256-10 (Umuroglu et al., FINN, FPGA 2017, table 1)."""
    return _finn_mlp("sfc", 256)


def lfc() -> Workload:
    """FINN LFC: binary MLP 784-1024-1024-1024-10 (Umuroglu et al., FINN, FPGA 2017, table 1)."""
    return _finn_mlp("lfc", 1024)


def cnv() -> Workload:
    """FINN CNV W1A1: 2x64C3-MP2-2x128C3-MP2-2x256C3-2x512FC-10, valid 3x3 convolutions.

    Umuroglu et al., FINN, FPGA 2017, table 1; layer sizes as in BNN-PYNQ's
    ``bnn/src/network/cnvW1A1/hw/config.h`` (32->30->28->14->12->10->5->3->1).
    The first layer takes 8-bit pixels with binary weights, as in BNN-PYNQ.
    """
    b = WorkloadBuilder("cnv", CIFAR10, input_bits=8, source="Umuroglu et al., FINN, FPGA 2017; Xilinx BNN-PYNQ cnvW1A1 config.h")
    b.note("First layer: 8-bit input pixels, binary weights (BNN-PYNQ cnvW1A1).")
    first = True
    for width, pooled in ((64, True), (128, True), (256, False)):
        for second in (False, True):
            b.conv(width, 3, padding="valid", weight_bits=1, input_bits=None if first else 1)
            first = False
            b.bn()
            if pooled and second:
                b.pool("maxpool", 2)
    b.flatten()
    for _ in range(2):
        b.dense(512, weight_bits=1, input_bits=1)
        b.bn()
    b.dense(10, weight_bits=1, input_bits=1)
    b.bn()
    return b.build()


def binarynet_cifar10() -> Workload:
    """BinaryNet on CIFAR-10: 2x128C3-MP2-2x256C3-MP2-2x512C3-MP2-2x1024FC-10.

    Courbariaux, Hubara et al., "Binarized Neural Networks", NIPS 2016 (arXiv
    1602.02830), section 2.6 / table 1 CIFAR-10 architecture (after
    Courbariaux et al. 2015, BinaryConnect): "same" 3x3 convolutions, batch
    norm after every layer, binary weights everywhere and binary activations
    except the first layer's input (the image).
    """
    b = WorkloadBuilder("binarynet-cifar10", CIFAR10, source="Hubara, Courbariaux et al., Binarized Neural Networks, NIPS 2016")
    first = True
    for width in (128, 256, 512):
        for second in (False, True):
            b.conv(width, 3, weight_bits=1, input_bits=None if first else 1)
            first = False
            if second:
                b.pool("maxpool", 2)
            b.bn()
    b.flatten()
    for _ in range(2):
        b.dense(1024, weight_bits=1, input_bits=1)
        b.bn()
    b.dense(10, weight_bits=1, input_bits=1)
    b.bn()
    return b.build()


# ---------------------------------------------------------------------------
# larq zoo (ImageNet)
# ---------------------------------------------------------------------------


def _quicknet(name: str, section_blocks: tuple[int, ...], section_filters: tuple[int, ...]) -> Workload:
    b = WorkloadBuilder(name, IMAGENET, source="Bannink et al., Larq Compute Engine, MLSys 2021; larq zoo v1.0 larq_zoo/sota/quicknet.py")
    b.note("Stem: float 3x3/2 conv, BN, ReLU, float depthwise 3x3/2, BN(scale=False, center=False), float 1x1 conv, BN.")
    b.note("Transition: ReLU, max-pool 2/1 (valid), fixed blur-pool depthwise 3x3/2, float 1x1 conv, BN.")
    # Stem (larq zoo QuickNetFactory.stem_module)
    b.conv(section_filters[0] // 4, 3, stride=2)
    b.bn()
    b.act("relu")
    b.depthwise(3, stride=2)
    b.bn(params_per_channel=2)
    b.conv(section_filters[0], 1)
    b.bn()
    channels = section_filters[0]
    for blocks, filters in zip(section_blocks, section_filters):
        for _ in range(blocks):
            if filters != channels:
                b.act("relu")
                b.pool("maxpool", 2, stride=1)
                b.depthwise(3, stride=2)
                b.conv(filters, 1)
                b.bn()
                channels = filters
            shortcut = b.last
            b.conv(filters, 3, weight_bits=1, input_bits=1)
            b.act("relu")
            b.bn()
            b.add(b.last, shortcut)
    b.act("relu")
    b.global_avgpool()
    b.flatten()
    b.dense(1000, bias=True)
    return b.build()


def quicknet_small() -> Workload:
    """QuickNetSmall (larq zoo v1.0; Bannink et al., LCE, MLSys 2021): blocks (4,4,4,4), filters (32,64,256,512)."""
    return _quicknet("quicknet-small", (4, 4, 4, 4), (32, 64, 256, 512))


def quicknet() -> Workload:
    """QuickNet (larq zoo v1.0; Bannink et al., LCE, MLSys 2021): blocks (4,4,4,4), filters (64,128,256,512)."""
    return _quicknet("quicknet", (4, 4, 4, 4), (64, 128, 256, 512))


def quicknet_large() -> Workload:
    """QuickNetLarge (larq zoo v1.0; Bannink et al., LCE, MLSys 2021): blocks (6,8,12,6), filters (64,128,256,512)."""
    return _quicknet("quicknet-large", (6, 8, 12, 6), (64, 128, 256, 512))


def birealnet_18() -> Workload:
    """Bi-Real Net 18 (Liu et al., ECCV 2018, arXiv 1808.00278), as in larq zoo ``BiRealNet``.

    Float 7x7/2 stem, BN, max-pool 3/2; 16 binary 3x3 convolutions each with
    its own real-valued shortcut (add after BN); downsampling shortcuts are
    avg-pool 2/2 + float 1x1 conv + BN; global average pool; float dense 1000.
    """
    b = WorkloadBuilder("birealnet-18", IMAGENET, source="Liu et al., Bi-Real Net, ECCV 2018; larq zoo larq_zoo/literature/birealnet.py")
    b.conv(64, 7, stride=2)
    b.bn()
    b.pool("maxpool", 3, stride=2, padding=1)
    channels = 64
    for stage_filters in (64, 128, 256, 512):
        for _ in range(4):
            source = b.last
            if stage_filters != channels:
                b.pool("avgpool", 2, source=source)
                b.conv(stage_filters, 1)
                shortcut = b.bn()
                stride = 2
            else:
                shortcut, stride = source, 1
            b.conv(stage_filters, 3, stride=stride, weight_bits=1, input_bits=1, source=source)
            b.bn()
            b.add(b.last, shortcut)
            channels = stage_filters
    b.global_avgpool()
    b.flatten()
    b.dense(1000, bias=True)
    return b.build()


def binary_alexnet() -> Workload:
    """Binary AlexNet (Hubara et al., BNN, NIPS 2016), as in larq zoo ``BinaryAlexNet``.

    Convolutions 64@11/4, 192@5, 384@3, 384@3, 256@3 ("same"), max-pool 3/2
    after the 1st, 2nd and 5th, BN(scale=False) after each; dense 4096, 4096,
    1000 with BN(scale=False). All weights binary; the first layer's input is
    the real-valued image.
    """
    b = WorkloadBuilder("binary-alexnet", IMAGENET, source="Hubara et al., BNN, NIPS 2016; larq zoo larq_zoo/literature/binary_alex_net.py")
    for i, (filters, kernel, stride, pool) in enumerate(
        ((64, 11, 4, True), (192, 5, 1, True), (384, 3, 1, False), (384, 3, 1, False), (256, 3, 1, True))
    ):
        b.conv(filters, kernel, stride=stride, weight_bits=1, input_bits=None if i == 0 else 1)
        if pool:
            b.pool("maxpool", 3, stride=2)
        b.bn(params_per_channel=3)
    b.flatten()
    for units in (4096, 4096, 1000):
        b.dense(units, weight_bits=1, input_bits=1)
        b.bn(params_per_channel=3)
    return b.build()


def xnornet() -> Workload:
    """XNOR-Net (Rastegari et al., ECCV 2016, arXiv 1603.05279), as in larq zoo ``XNORNet``.

    Float 96@11/4 conv, BN, ReLU, max-pool; binary 256@5, 384@3, 384@3, 256@3
    (pools after 256@5 and 256@3); binary 4096@6x6 (valid) and 4096@1x1; ReLU;
    float dense 1000 without bias. BN(scale=False) throughout.
    """
    b = WorkloadBuilder("xnornet", IMAGENET, source="Rastegari et al., XNOR-Net, ECCV 2016; larq zoo larq_zoo/literature/xnornet.py")
    b.conv(96, 11, stride=4)
    b.bn(params_per_channel=3)
    b.act("relu")
    b.pool("maxpool", 3, stride=2)
    b.bn(params_per_channel=3)
    for filters, kernel, pool in ((256, 5, True), (384, 3, False), (384, 3, False), (256, 3, True)):
        b.conv(filters, kernel, weight_bits=1, input_bits=1)
        if pool:
            b.pool("maxpool", 3, stride=2)
        b.bn(params_per_channel=3)
    b.conv(4096, 6, padding="valid", weight_bits=1, input_bits=1)
    b.bn(params_per_channel=3)
    b.conv(4096, 1, weight_bits=1, input_bits=1)
    b.bn(params_per_channel=3)
    b.act("relu")
    b.flatten()
    b.dense(1000)
    return b.build()


def binary_densenet_28() -> Workload:
    """BinaryDenseNet-28 (Bethge et al., arXiv 1906.08637), as in larq zoo ``BinaryDenseNet28``.

    Float 7x7/2 stem, BN, ReLU, max-pool 3/2; dense blocks of (6, 6, 6, 5)
    layers, each BN then a binary 3x3 conv of 64 filters concatenated to its
    input; transitions BN, max-pool 2/2, ReLU, float 1x1 conv to
    ``round(C // r / 32) * 32`` channels with reductions (2.7, 2.7, 2.2);
    final BN, ReLU, global average pool, float dense 1000.
    """
    b = WorkloadBuilder("binary-densenet-28", IMAGENET, source="Bethge et al., BinaryDenseNet, arXiv 1906.08637; larq zoo larq_zoo/literature/densenet.py")
    b.conv(64, 7, stride=2)
    b.bn()
    b.act("relu")
    b.pool("maxpool", 3, stride=2, padding=1)
    layers_per_block = (6, 6, 6, 5)
    reductions = (2.7, 2.7, 2.2)
    for block, n_layers in enumerate(layers_per_block):
        for _ in range(n_layers):
            block_input = b.last
            b.bn()
            b.conv(64, 3, weight_bits=1, input_bits=1)
            b.concat(block_input, b.last)
        if block < len(reductions):
            b.bn()
            b.pool("maxpool", 2)
            b.act("relu")
            channels = b.shape_of(b.last)[-1]
            b.conv(round(channels // reductions[block] / 32) * 32, 1)
    b.bn()
    b.act("relu")
    b.global_avgpool()
    b.flatten()
    b.dense(1000, bias=True)
    return b.build()


# ---------------------------------------------------------------------------
# MNIST models of bnnbench.models (same names and topologies)
# ---------------------------------------------------------------------------


def _mnist_bnn_topology(name: str, source: str) -> Workload:
    b = WorkloadBuilder(name, MNIST, source=source)
    b.note("Defaults of bnnbench.models: first layer sees the real image, last layer has float weights and a bias.")
    b.conv(32, 3, weight_bits=1)
    b.pool("maxpool", 2)
    b.bn()
    b.conv(64, 3, weight_bits=1, input_bits=1)
    b.pool("maxpool", 2)
    b.bn()
    b.flatten()
    b.dense(512, weight_bits=1, input_bits=1)
    b.bn()
    b.dense(10, weight_bits=FLOAT_BITS, input_bits=1, bias=True)
    return b.build()


def mnist_bnn() -> Workload:
    """mnist-bnn: 32C3-MP2-64C3-MP2-512FC-10 (PBNet paper topology, Peters & Welling 2018, arXiv 1809.03368).

    BNN training (Courbariaux et al. 2016) with conv -> pool -> BN blocks and
    "same" 3x3 convolutions, as in ``bnnbench.models.mnist_bnn``.
    """
    return _mnist_bnn_topology("mnist-bnn", "Peters & Welling 2018 (topology); Courbariaux et al. 2016 (BNN)")


def mnist_xnornet() -> Workload:
    """mnist-xnornet: mnist-bnn with XNOR-Net per-channel weight scaling (Rastegari et al. 2016).

    The scale is one float per output channel folded into batch norm at
    inference, so the workload equals mnist-bnn's.
    """
    return _mnist_bnn_topology("mnist-xnornet", "Rastegari et al. 2016 (XNOR-Net) on the mnist-bnn topology")


def pbnet() -> Workload:
    """PBNet (Peters & Welling 2018, arXiv 1809.03368) deployed as its binarized (MAP) network.

    At inference a PBNet-map is a deterministic BNN on the mnist-bnn
    topology, so its workload is mnist-bnn's.
    """
    return _mnist_bnn_topology("pbnet", "Peters & Welling 2018, PBNet (binarized, mnist-bnn topology)")


def pbnet_s() -> Workload:
    """PBNet-S (Peters & Welling 2018) deployed as one binarized network on the mnist-bnn topology."""
    return _mnist_bnn_topology("pbnet-s", "Peters & Welling 2018, PBNet-S (binarized, mnist-bnn topology)")


def lenet_bitorch() -> Workload:
    """The LeNet of bitorch's introduction (hpi-xnor/bitorch), as in ``bnnbench.models.lenet``.

    conv 64@5x5, BN, tanh, max-pool; sign, binary conv 64@5x5, BN, max-pool;
    flatten, sign, binary FC 1024->1000, BN, tanh; FC 1000->10. Valid
    convolutions: 28 -> 24 -> 12 -> 8 -> 4. The binary layers' weights are
    binary and their inputs signs (bitorch's QActivation modules).
    """
    b = WorkloadBuilder("lenet-bitorch", MNIST, source="bitorch (hpi-xnor) LeNet example")
    b.conv(64, 5, padding="valid", bias=True)
    b.bn()
    b.act("tanh")
    b.pool("maxpool", 2)
    b.act("sign", output_bits=1)
    b.conv(64, 5, padding="valid", weight_bits=1, bias=True)
    b.bn()
    b.pool("maxpool", 2)
    b.flatten()
    b.act("sign", output_bits=1)
    b.dense(1000, weight_bits=1, bias=True)
    b.bn()
    b.act("tanh")
    b.dense(10, bias=True)
    return b.build()


def binaryconnect_logreg() -> Workload:
    """Logistic regression on MNIST pixels with BinaryConnect weights (Courbariaux et al., NIPS 2015).

    One dense 784 -> 10 layer, binary weights, real inputs and a real bias.
    """
    b = WorkloadBuilder("binaryconnect-logreg", MNIST, source="Courbariaux et al., BinaryConnect, NIPS 2015")
    b.flatten()
    b.dense(10, weight_bits=1, bias=True)
    return b.build()


_ZOO: dict[str, Callable[[], Workload]] = {
    "sfc": sfc,
    "lfc": lfc,
    "cnv": cnv,
    "binarynet-cifar10": binarynet_cifar10,
    "quicknet-small": quicknet_small,
    "quicknet": quicknet,
    "quicknet-large": quicknet_large,
    "birealnet-18": birealnet_18,
    "binary-alexnet": binary_alexnet,
    "xnornet": xnornet,
    "binary-densenet-28": binary_densenet_28,
    "mnist-bnn": mnist_bnn,
    "mnist-xnornet": mnist_xnornet,
    "pbnet": pbnet,
    "pbnet-s": pbnet_s,
    "lenet-bitorch": lenet_bitorch,
    "binaryconnect-logreg": binaryconnect_logreg,
}


def names() -> list[str]:
    """Names of the zoo workloads, in a stable order."""
    return list(_ZOO)


def get(name: str) -> Workload:
    """The zoo workload ``name``; a WorkloadError listing the names if unknown."""
    try:
        return _ZOO[name]()
    except KeyError:
        raise WorkloadError(f"unknown model '{name}'; zoo models: {', '.join(names())}") from None


def resolve(model: str) -> Workload:
    """A workload from a zoo name or the path of a saved workload ``.json``."""
    if model.endswith(".json"):
        return load_json(model)
    return get(model)


def describe(name: str) -> str:
    """First line of the docstring of zoo model ``name``."""
    get(name)
    return (_ZOO[name].__doc__ or "").strip().splitlines()[0]
