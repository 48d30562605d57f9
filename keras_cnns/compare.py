"""The architecture comparison: every registered model in one table, and error against cost.

``python -m keras_cnns compare [--format markdown|csv] [--plot FILE.png]`` prints, for each
registered model, its year, depth, parameters and multiply-adds at its default input and
the error its paper reports (ImageNet's, or CIFAR-10's for the CIFAR networks) with the
protocol behind it; ``--plot`` draws the ImageNet errors against the multiply-adds with
the marker area showing the parameters. The README's model table is this command's
Markdown.

Everything comes from the registry's metadata (``model_info``), whose parameters,
multiply-adds and depth the tests check against the built models
(``keras_cnns.model_report``).
"""

import csv
import io

from keras_cnns.models.registry import list_models, model_info

FORMATS = ("markdown", "csv")
#: The protocols that evaluate one view of each image; the others average several.
SINGLE_VIEW = ("1 crop",)

_CSV_COLUMNS = (
    "model", "family", "year", "paper", "url", "depth", "default_size", "min_size", "params", "gmacs",
    "top1_error", "top5_error", "dataset", "protocol", "source", "weights",
)


def comparison(pattern=None):
    """One dict per registered model (``pattern``: an fnmatch filter), in registry order."""
    rows = []
    for name in list_models(pattern):
        info = model_info(name)
        error = info.paper_error
        rows.append({
            "model": name,
            "family": info.family,
            "year": info.year,
            "paper": info.paper,
            "url": info.url,
            "depth": info.depth,
            "default_size": info.default_size,
            "min_size": info.min_size,
            "params": info.params,
            "gmacs": info.macs,
            "top1_error": error.top1 if error else None,
            "top5_error": error.top5 if error else None,
            "dataset": error.dataset if error else "",
            "protocol": error.protocol if error else "",
            "source": error.source if error else "",
            "weights": "; ".join(weights.label for weights in info.weights),
        })
    return rows


def _error(value):
    return "–" if value is None else f"{value:g}"


def markdown_table(pattern=None):
    """The comparison as Markdown lines: the README's model table."""
    lines = [
        "| model | paper | year | depth | input (min) | trainable params | GMACs | paper's top-1 / top-5 error (%) | protocol, source (ImageNet unless noted) | ImageNet weights |",
        "|---|---|---:|---:|---|---:|---:|---|---|---|",
    ]
    for row in comparison(pattern):
        authors = row["paper"].split(". ")[0]
        error = f"{_error(row['top1_error'])} / {_error(row['top5_error'])}" if row["protocol"] else "–"
        dataset = "" if row["dataset"] in ("", "ImageNet") else f"{row['dataset']}: "
        protocol = f"{dataset}{row['protocol']}, {row['source']}" if row["protocol"] else ""
        weights = row["weights"].replace("; ", ", ")
        lines.append(
            f"| `{row['model']}` | [{authors}]({row['url']}) | {row['year']} | {row['depth']} | "
            f"{row['default_size']} ({row['min_size']}) | {row['params']:,} | {row['gmacs']:g} | "
            f"{error} | {protocol} | {weights} |"
        )
    return lines


def weights_rows(pattern=None, pretrained=True):
    """One dict per set of weights of the registered models (``pattern``: an fnmatch
    filter; ``pretrained``: a tag, or True for every set), in registry order and each
    model's order of preference: the tag, whether ``weights="imagenet"`` loads it, its
    source, reported ImageNet top-1 and where that figure comes from, license and
    preprocessing (``model_info(name).weights``)."""
    rows = []
    for name in list_models(pattern, pretrained=pretrained):
        info = model_info(name)
        for weights in info.weights:
            if pretrained not in (True, "imagenet") and weights.tag != pretrained:
                continue
            rows.append({
                "model": name,
                "tag": weights.tag,
                "imagenet": weights is info.imagenet_weights,
                "source": weights.label,
                "top1": weights.top1,
                "top1_source": weights.top1_source,
                "license": weights.license,
                "preprocessing": weights.preprocessing.describe(),
            })
    return rows


def _tag(row):
    return f"{row['tag']} (imagenet)" if row["imagenet"] and row["tag"] != "imagenet" else row["tag"]


def weights_table(pattern=None, pretrained=True):
    """``weights_rows`` as Markdown lines: the README's table of weights."""
    lines = [
        "| model | `weights=` | source | ImageNet top-1 (%) | top-1 source | license | preprocessing |",
        "|---|---|---|---:|---|---|---|",
    ]
    for row in weights_rows(pattern, pretrained):
        lines.append(
            f"| `{row['model']}` | `{_tag(row)}` | {row['source']} | {_error(row['top1'])} | {row['top1_source']} | "
            f"{row['license']} | {row['preprocessing']} |"
        )
    return lines


def format_weights(pattern=None, pretrained=True, format="text"):
    """``weights_rows`` as text (``python -m keras_cnns list --pretrained``), Markdown
    (the README's table) or CSV."""
    if format not in ("text", *FORMATS):
        raise ValueError(f"`format` must be one of {('text', *FORMATS)}. Received: format={format!r}")
    if format == "markdown":
        return "\n".join(weights_table(pattern, pretrained))
    rows = weights_rows(pattern, pretrained)
    if format == "csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(rows[0]) if rows else ["model"], lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return out.getvalue().rstrip("\n")
    lines = []
    for row in rows:
        lines.append(f"{row['model']:<18} {_tag(row):<22} {_error(row['top1']):>6}  {row['source']}")
        lines.append(f"{'':<18} top-1: {row['top1_source']}; license: {row['license']}")
        lines.append(f"{'':<18} preprocessing: {row['preprocessing']}")
    return "\n".join(lines)


def format_comparison(pattern=None, format="markdown"):
    """The comparison as Markdown (the README's table) or CSV (every field)."""
    if format not in FORMATS:
        raise ValueError(f"`format` must be one of {FORMATS}. Received: format={format!r}")
    if format == "markdown":
        return "\n".join(markdown_table(pattern))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=_CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(comparison(pattern))
    return out.getvalue().rstrip("\n")


def plot_comparison(path, pattern=None):
    """Draws top-1 and top-5 error against GMACs (log scale), one marker per model with a
    paper's ImageNet error, its area proportional to the parameters; circles for one-crop errors,
    squares for multi-crop or dense evaluation. Writes ``path`` (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    rows = [row for row in comparison(pattern) if row["dataset"] == "ImageNet"]
    families = sorted({row["family"] for row in rows if row["protocol"]})
    colors = {family: plt.get_cmap("tab20")(i % 20) for i, family in enumerate(families)}
    figure, axes = plt.subplots(1, 2, figsize=(15, 6.5))
    for axis, key, title in ((axes[0], "top1_error", "top-1"), (axes[1], "top5_error", "top-5")):
        for row in rows:
            if row[key] is None:
                continue
            single = row["protocol"] in SINGLE_VIEW
            axis.scatter(row["gmacs"], row[key], s=max(row["params"] / 4e5, 8), marker="o" if single else "s",
                         color=colors[row["family"]], alpha=0.55, edgecolors="black", linewidths=0.5)
            axis.annotate(row["model"], (row["gmacs"], row[key]), fontsize=7, xytext=(4, 3), textcoords="offset points")
        axis.set_xscale("log")
        axis.xaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
        axis.xaxis.set_minor_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
        axis.tick_params(axis="x", which="minor", labelsize=7)
        axis.set_xlabel("multiply-adds at the default input (G, log scale)")
        axis.set_ylabel(f"ImageNet {title} error reported by the paper (%)")
        axis.set_title(f"{title} error: circles one crop, squares multi-crop or dense; area: parameters")
        axis.grid(True, which="both", alpha=0.3)
    handles = [plt.Line2D([], [], marker="o", linestyle="", color=colors[f], label=f) for f in families]
    figure.legend(handles=handles, loc="lower center", ncol=len(families), fontsize=8, frameon=False)
    figure.tight_layout(rect=(0, 0.05, 1, 1))
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
