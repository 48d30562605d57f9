"""Spatial-size arithmetic for layer stacks: output sizes and the smallest valid input."""


def output_size(size, kernel, stride=1, padding=0, ceil_mode=False):
    """Output length of a convolution or pooling window sweep, or 0 when it vanishes.

    The PyTorch / Caffe formula: ceil mode adds ``stride - 1`` before the floor division,
    so a window may hang over the end of the input (never starting past it).
    """
    span = size + 2 * padding - kernel + (stride - 1 if ceil_mode else 0)
    if span < 0:
        return 0
    return span // stride + 1


def min_input_size(windows, limit=4096):
    """Smallest input length for which every window of ``windows`` still fits.

    Args:
        windows: sequence of ``(kernel, stride, padding, ceil_mode)`` in order.
    """
    for size in range(1, limit + 1):
        current = size
        for kernel, stride, padding, ceil_mode in windows:
            current = output_size(current, kernel, stride, padding, ceil_mode)
            if current < 1:
                break
        else:
            return size
    raise ValueError(f"No input size up to {limit} fits. Received: windows={list(windows)}")
