"""The views as PNG files (matplotlib): filter grids, feature maps, Grad-CAM, occlusion.

Each figure has a fixed size in pixels (``SIZES``), whatever the model or the image.
"""

import math

import numpy as np

#: Width and height in pixels of each view's PNG (figure inches x DPI).
DPI = 100
SIZES = {"filters": (800, 800), "features": (1000, 800), "gradcam": (1000, 500), "occlusion": (1500, 500)}


def _figure(view, columns=1):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    width, height = SIZES[view]
    return plt.figure(figsize=(width * columns / DPI, height / DPI), dpi=DPI)


def _save(fig, path):
    import matplotlib.pyplot as plt

    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path


def filter_mosaic(kernels, bgr=False, gap=1):
    """The kernels (filters, height, width, channels) as one image in [0, 1]: a square
    grid, each kernel scaled to its own range (a constant kernel is mid-grey), RGB when
    it has 3 input channels (``bgr``: stored in Caffe's BGR order), else the mean over
    its input channels in grey; ``gap`` white pixels between kernels.

    Returns:
        float32 array (rows * (height + gap) - gap, columns * (width + gap) - gap, 3).
    """
    kernels = np.asarray(kernels, "float32")
    count, height, width, channels = kernels.shape
    tiles = kernels[..., ::-1] if bgr and channels == 3 else kernels
    if channels != 3:
        tiles = np.repeat(tiles.mean(axis=-1, keepdims=True), 3, axis=-1)
    low = tiles.min(axis=(1, 2, 3), keepdims=True)
    span = tiles.max(axis=(1, 2, 3), keepdims=True) - low
    tiles = np.where(span > 0, (tiles - low) / np.where(span > 0, span, 1), 0.5)
    columns = math.ceil(math.sqrt(count))
    rows = math.ceil(count / columns)
    mosaic = np.ones((rows * (height + gap) - gap, columns * (width + gap) - gap, 3), "float32")
    for i, tile in enumerate(tiles):
        r, c = divmod(i, columns)
        mosaic[r * (height + gap):r * (height + gap) + height, c * (width + gap):c * (width + gap) + width] = tile
    return mosaic


def describe_filters(view):
    """One line: the layer, its kernels' shape, dead filters and high-frequency energy."""
    count, height, width, channels = view.kernels.shape
    dead = int(view.dead.sum())
    return (f"{view.layer}: {count} filters {height}x{width}x{channels}, {dead} dead ({view.dead_fraction:.1%}), "
            f"high-frequency energy {view.high_frequency_energy:.1%}")


def save_filters(path, panels):
    """``panels``: ``[(title, Filters, bgr), ...]``, drawn side by side."""
    fig = _figure("filters", len(panels))
    width = 1 / len(panels)
    for i, (title, view, bgr) in enumerate(panels):
        ax = fig.add_axes((i * width + 0.02 * width, 0.02, 0.96 * width, 0.86))
        ax.imshow(filter_mosaic(view.kernels, bgr), interpolation="nearest")
        ax.set_title(f"{title}\n{describe_filters(view)}", fontsize=9)
        ax.axis("off")
    return _save(fig, path)


def _show_image(ax, pixels, title):
    pixels = np.clip(np.asarray(pixels, "float32") / 255.0, 0, 1)
    ax.imshow(pixels[..., 0] if pixels.shape[-1] == 1 else pixels, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.set_title(title, fontsize=9)
    ax.axis("off")


def _overlay(ax, pixels, heat, title):
    grey = np.clip(np.asarray(pixels, "float32") / 255.0, 0, 1).mean(axis=-1)
    ax.imshow(grey, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    shown = ax.imshow(heat, cmap="jet", alpha=0.5, vmin=0, vmax=1, interpolation="bilinear")
    ax.set_title(title, fontsize=9)
    ax.axis("off")
    return shown


def save_features(path, pixels, view, title):
    """The image and ``view``'s maps (a ``FeatureMaps``), each scaled to its own range."""
    fig = _figure("features")
    count = len(view.channels)
    columns = max(4, math.ceil(math.sqrt(count)))
    rows = math.ceil(count / columns)
    grid = fig.add_gridspec(rows, columns + rows)
    _show_image(fig.add_subplot(grid[:, :rows]), pixels, title)
    for i, (channel, activity, fmap) in enumerate(zip(view.channels, view.activity, view.maps)):
        ax = fig.add_subplot(grid[i // columns, rows + i % columns])
        ax.imshow(fmap, cmap="viridis", interpolation="nearest")
        ax.set_title(f"{channel}: {activity:.3g}", fontsize=7)
        ax.axis("off")
    fig.suptitle(f"{view.layer}: the {count} most active channels (channel: mean activation)", fontsize=10)
    return _save(fig, path)


def save_gradcam(path, pixels, heat, title):
    """The image and its Grad-CAM heatmap over it."""
    fig = _figure("gradcam")
    _show_image(fig.add_subplot(1, 2, 1), pixels, "input")
    shown = _overlay(fig.add_subplot(1, 2, 2), pixels, heat, title)
    fig.colorbar(shown, ax=fig.axes[-1], fraction=0.046, pad=0.04)
    return _save(fig, path)


def save_occlusion(path, pixels, scan, title):
    """The image, the class probability with the square at each position (the raw map,
    as ZFNet's Figure 7 shows it) and the importance heatmap over the image."""
    fig = _figure("occlusion")
    _show_image(fig.add_subplot(1, 3, 1), pixels, "input")
    ax = fig.add_subplot(1, 3, 2)
    half = scan.patch / 2
    extent = (scan.cols[0] + half - 0.5, scan.cols[-1] + half - 0.5, scan.rows[-1] + half - 0.5, scan.rows[0] + half - 0.5)
    low, high = float(scan.probabilities.min()), max(float(scan.probabilities.max()), scan.probability)
    shown = ax.imshow(scan.probabilities, cmap="viridis", vmin=low, vmax=high if high > low else low + 1e-6,
                      extent=extent, interpolation="nearest")  # its own range: the falls can be small
    ax.set_xlim(-0.5, pixels.shape[1] - 0.5)
    ax.set_ylim(pixels.shape[0] - 0.5, -0.5)
    ax.set_title(f"probability with a {scan.patch}px square centred here\n(whole image: {scan.probability:.3f})", fontsize=9)
    fig.colorbar(shown, ax=ax, fraction=0.046, pad=0.04)
    shown = _overlay(fig.add_subplot(1, 3, 3), pixels, scan.heatmap, title)
    fig.colorbar(shown, ax=fig.axes[-1], fraction=0.046, pad=0.04)
    return _save(fig, path)
