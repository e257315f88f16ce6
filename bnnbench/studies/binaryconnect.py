"""Study ``binaryconnect``: BinaryConnect on MNIST logistic regression, in NumPy alone.

BinaryConnect (Courbariaux, Bengio & David 2015, "BinaryConnect: Training Deep
Neural Networks with binary weights during propagations", NeurIPS, algorithm 1)
keeps real-valued weights for the optimiser and uses binary weights for the
forward and backward passes:

1. binarize: ``w_b = H * sign(w)`` (deterministic, eq. 2; ``sign(0) = +1``) or
   ``w_b = +H`` with probability ``hard_sigmoid(w) = clip((w + 1) / 2, 0, 1)``,
   else ``-H`` (stochastic, eq. 3);
2. forward and backward with ``w_b``: ``logits = x w_b + b``, softmax
   cross-entropy, gradient ``dC/dw_b``;
3. update the real-valued ``w`` with ``dC/dw_b`` (the straight-through
   estimator) and clip it to ``[-1, 1]`` (section 2.4).

The model is a 784 -> 10 softmax regression on pixels in [0, 1], trained with
plain mini-batch SGD, as in the tutorial whose figures issue 7 quotes (float
87.16%, post-training binarization 59.18%, binarized training 85.19%,
binarized training with a binarized bias 81.29%).

Choices (the tutorial gives no code to follow; each is the authors' where
their Lasagne code makes one):

* The binary magnitude ``H`` is the Glorot scale ``sqrt(1.5 / (fan_in +
  fan_out))`` of the authors' code, and the latent weights' learning rate is
  scaled by ``1 / H`` as there ("W_LR_scale"), so one learning rate means the
  same relative step for float and binary weights. Latent weights start
  uniform in [-1, 1]; float weights uniform in [-H, H]; biases at 0.
* A binarized bias is ``H * sign(b)`` with its own latent value, clipped and
  updated like a weight.
* Learning rate: each variant picks its own from a small grid by the best
  validation accuracy; the epoch with the best validation accuracy is kept;
  the test set is evaluated once, on that model.
* Stochastic BinaryConnect is read two ways at test time: the sign of the
  latent weights (one deterministic binary network) and the real-valued
  latent weights themselves (what the paper's stochastic results use).
* Post-training binarization of the float model is read two ways:
  ``mean|W| * sign(W)`` with the float bias (XNOR-Net's L2-optimal scale,
  Rastegari et al. 2016) and ``sign(W)`` alone with no bias (then the scale
  does not matter for the argmax).

Sign flips of the latent weights are counted at every step, and the
validation accuracy is probed every ``probe_every`` steps, to relate the
flips to the step-to-step jitter of the accuracy.
"""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bnnbench.progress import Progress
from bnnbench.studies.common import (
    Splits,
    StagedOutput,
    Stopwatch,
    environment,
    md_table,
    percent,
    pyplot,
    render_markdown,
    save_figure,
    signed,
    study_results,
    write_outputs,
)

__all__ = ["Settings", "VARIANTS", "TUTORIAL", "run_binaryconnect", "markdown", "glorot_scale"]

FEATURES = 28 * 28
CLASSES = 10

#: The tutorial's test accuracies quoted in issue 7 (percent).
TUTORIAL = {
    "float": 87.16,
    "post_training": 59.18,
    "deterministic": 85.19,
    "deterministic-binary-bias": 81.29,
}


def glorot_scale(fan_in: int, fan_out: int) -> float:
    """BinaryConnect's ``H = sqrt(1.5 / (fan_in + fan_out))`` (the authors' Lasagne code)."""
    return math.sqrt(1.5 / (fan_in + fan_out))


H = glorot_scale(FEATURES, CLASSES)


@dataclass(frozen=True)
class Settings:
    """Training budget and grid (defaults: the full study, about a minute)."""

    epochs: int = 20
    batch_size: int = 100
    learning_rates: tuple[float, ...] = (0.01, 0.03, 0.1, 0.3, 1.0)
    probe_every: int = 25
    probe_images: int = 2000
    seed: int = 0
    train_subset: int | None = None
    val_subset: int | None = None
    test_subset: int | None = None
    smoke: bool = False

    @classmethod
    def smoke_run(cls) -> Settings:
        """A tiny run that exercises every code path in a second."""
        return cls(
            epochs=2, learning_rates=(0.1, 1.0), probe_every=5, probe_images=100,
            train_subset=1000, val_subset=300, test_subset=500, smoke=True,
        )


@dataclass(frozen=True)
class Variant:
    """One trained model: how (and whether) its weights and bias are binarized."""

    name: str
    label: str
    binarize: str | None  # None (float), "deterministic" or "stochastic"
    binary_bias: bool = False


VARIANTS: tuple[Variant, ...] = (
    Variant("float", "float weights (plain logistic regression)", None),
    Variant("deterministic", "BinaryConnect, deterministic, real bias", "deterministic"),
    Variant("deterministic-binary-bias", "BinaryConnect, deterministic, binarized bias", "deterministic", True),
    Variant("stochastic", "BinaryConnect, stochastic, real bias", "stochastic"),
)


@dataclass
class _Data:
    """Pixels in [0, 1] (float32, flattened) and labels of each split."""

    train_x: np.ndarray
    train_y: np.ndarray
    val_x: np.ndarray
    val_y: np.ndarray
    test_x: np.ndarray
    test_y: np.ndarray

    @classmethod
    def from_splits(cls, splits: Splits) -> _Data:
        def pixels(images: np.ndarray) -> np.ndarray:
            return images.reshape(len(images), FEATURES).astype(np.float32) / 255.0

        return cls(
            pixels(splits.train_images), splits.train_labels,
            pixels(splits.val_images), splits.val_labels,
            pixels(splits.test_images), splits.test_labels,
        )


def _sign(values: np.ndarray) -> np.ndarray:
    return np.where(values >= 0, 1.0, -1.0).astype(np.float32)


def _binarize(latent: np.ndarray, how: str, rng: np.random.Generator) -> np.ndarray:
    """``H * sign(w)`` or the stochastic draw of eq. 3, as float32."""
    if how == "deterministic":
        return H * _sign(latent)
    p_plus = np.clip((latent + 1.0) / 2.0, 0.0, 1.0)
    return np.where(rng.random(latent.shape) < p_plus, H, -H).astype(np.float32)


def accuracy(x: np.ndarray, y: np.ndarray, weights: np.ndarray, bias: np.ndarray | None) -> float:
    """Percentage of ``x`` whose argmax logit is the label."""
    logits = x @ weights
    if bias is not None:
        logits = logits + bias
    return 100.0 * float(np.mean(np.argmax(logits, axis=1) == y))


@dataclass
class _Model:
    """Latent (or float) weights and bias of one variant."""

    variant: Variant
    weights: np.ndarray
    bias: np.ndarray

    def deployed(self) -> tuple[np.ndarray, np.ndarray]:
        """The weights and bias the model is evaluated with (signs for binary weights)."""
        if self.variant.binarize is None:
            return self.weights, self.bias
        bias = H * _sign(self.bias) if self.variant.binary_bias else self.bias
        return H * _sign(self.weights), bias

    def copy(self) -> _Model:
        return _Model(self.variant, self.weights.copy(), self.bias.copy())


@dataclass
class _Run:
    """One training run (one variant, one learning rate) and what it tracked."""

    lr: float
    best: _Model
    best_epoch: int
    best_val: float
    epochs: list[dict[str, float]] = field(default_factory=list)
    flip_counts: np.ndarray = field(default_factory=lambda: np.zeros((FEATURES, CLASSES), np.int64))
    interval_flips: list[int] = field(default_factory=list)
    interval_sample_changes: list[int] = field(default_factory=list)
    probe_steps: list[int] = field(default_factory=list)
    probe_accuracy: list[float] = field(default_factory=list)


def _train(variant: Variant, lr: float, data: _Data, settings: Settings) -> _Run:
    """Mini-batch SGD (BinaryConnect's algorithm 1 for binary variants)."""
    rng = np.random.default_rng(settings.seed)
    if variant.binarize is None:
        weights = rng.uniform(-H, H, (FEATURES, CLASSES)).astype(np.float32)
    else:
        weights = rng.uniform(-1.0, 1.0, (FEATURES, CLASSES)).astype(np.float32)
    model = _Model(variant, weights, np.zeros(CLASSES, np.float32))
    probe_x, probe_y = data.val_x[: settings.probe_images], data.val_y[: settings.probe_images]
    onehot = np.eye(CLASSES, dtype=np.float32)
    run = _Run(lr=lr, best=model.copy(), best_epoch=0, best_val=-1.0)
    signs = model.weights >= 0
    sample = None
    step = flips_since_probe = changes_since_probe = 0
    n = len(data.train_y)
    for epoch in range(1, settings.epochs + 1):
        order = rng.permutation(n)
        loss_sum = 0.0
        for start in range(0, n, settings.batch_size):
            index = order[start : start + settings.batch_size]
            x, y = data.train_x[index], data.train_y[index]
            if variant.binarize is None:
                w_used, b_used = model.weights, model.bias
            else:
                w_used = _binarize(model.weights, variant.binarize, rng)
                b_used = H * _sign(model.bias) if variant.binary_bias else model.bias
                if sample is not None:
                    changes_since_probe += int(np.count_nonzero(w_used != sample))
                sample = w_used
            logits = x @ w_used + b_used
            logits -= logits.max(axis=1, keepdims=True)
            exp = np.exp(logits)
            prob = exp / exp.sum(axis=1, keepdims=True)
            loss_sum += float(-np.log(prob[np.arange(len(y)), y] + 1e-12).sum())
            grad_logits = (prob - onehot[y]) / len(y)
            grad_w = x.T @ grad_logits
            grad_b = grad_logits.sum(axis=0)
            if variant.binarize is None:
                model.weights -= lr * grad_w
                model.bias -= lr * grad_b
            else:
                model.weights = np.clip(model.weights - (lr / H) * grad_w, -1.0, 1.0)
                if variant.binary_bias:
                    model.bias = np.clip(model.bias - (lr / H) * grad_b, -1.0, 1.0)
                else:
                    model.bias -= lr * grad_b
            new_signs = model.weights >= 0
            flipped = new_signs != signs
            run.flip_counts += flipped
            flips_since_probe += int(np.count_nonzero(flipped))
            signs = new_signs
            step += 1
            if step % settings.probe_every == 0:
                run.probe_steps.append(step)
                run.probe_accuracy.append(accuracy(probe_x, probe_y, *model.deployed()))
                run.interval_flips.append(flips_since_probe)
                run.interval_sample_changes.append(changes_since_probe)
                flips_since_probe = changes_since_probe = 0
        val = accuracy(data.val_x, data.val_y, *model.deployed())
        run.epochs.append({"epoch": epoch, "train_loss": loss_sum / n, "val_accuracy": val})
        if val > run.best_val:
            run.best, run.best_epoch, run.best_val = model.copy(), epoch, val
    return run


def _jitter(run: _Run, probe_every: int) -> dict[str, Any]:
    """Flips and accuracy jitter over the second half of training (the probes after it starts)."""
    half = len(run.probe_accuracy) // 2
    acc = np.asarray(run.probe_accuracy[half:])
    flips = np.asarray(run.interval_flips[half:], dtype=np.float64)
    changes = np.abs(np.diff(acc)) if len(acc) > 1 else np.zeros(0)
    interval_flips = flips[1:]
    correlation = None
    if len(changes) > 2 and changes.std() > 0 and interval_flips.std() > 0:
        correlation = float(np.corrcoef(interval_flips, changes)[0, 1])
    return {
        "probes": int(len(acc)),
        "flips_per_step": float(flips.mean() / probe_every) if len(flips) else 0.0,
        "sample_changes_per_step": (
            float(np.mean(run.interval_sample_changes[half:]) / probe_every) if run.interval_sample_changes[half:] else 0.0
        ),
        "accuracy_change_std": float(np.diff(acc).std()) if len(acc) > 1 else 0.0,
        "accuracy_change_mean_abs": float(changes.mean()) if len(changes) else 0.0,
        "flips_vs_accuracy_change_correlation": correlation,
    }


def _ranks(values: list[float]) -> np.ndarray:
    """Ranks from 0, ties given their average rank."""
    array = np.asarray(values, dtype=np.float64)
    ranks = np.empty(len(array))
    ranks[np.argsort(array, kind="stable")] = np.arange(len(array))
    _, inverse = np.unique(array, return_inverse=True)
    return (np.bincount(inverse, ranks) / np.bincount(inverse))[inverse]


def _rank_correlation(x: list[float], y: list[float]) -> float | None:
    """Spearman's rank correlation; None for fewer than three points or a constant series."""
    if len(x) < 3:
        return None
    rx, ry = _ranks(x), _ranks(y)
    if rx.std() == 0 or ry.std() == 0:
        return None
    return float(np.corrcoef(rx, ry)[0, 1])


def _inked_pixels(images: np.ndarray, share: float = 0.1) -> np.ndarray:
    """Pixels with ink (> 0) in at least ``share`` of the images, as a flat boolean mask."""
    return (images.reshape(len(images), FEATURES) > 0).mean(axis=0) >= share


def _variant_result(variant: Variant, runs: list[_Run], chosen: _Run, data: _Data, settings: Settings) -> dict[str, Any]:
    weights, bias = chosen.best.deployed()
    result: dict[str, Any] = {
        "label": variant.label,
        "binarize": variant.binarize,
        "binary_bias": variant.binary_bias,
        "lr": chosen.lr,
        "best_epoch": chosen.best_epoch,
        "val_accuracy": chosen.best_val,
        "test_accuracy": accuracy(data.test_x, data.test_y, weights, bias),
        "lr_search": [
            {"lr": r.lr, "best_val_accuracy": r.best_val, "best_epoch": r.best_epoch,
             "jitter": _jitter(r, settings.probe_every)}
            for r in runs
        ],
        "epochs": chosen.epochs,
        "jitter": _jitter(chosen, settings.probe_every),
        "total_sign_flips": int(chosen.flip_counts.sum()),
        "probe": {
            "steps": chosen.probe_steps,
            "accuracy": chosen.probe_accuracy,
            "flips": chosen.interval_flips,
            "sample_changes": chosen.interval_sample_changes,
        },
        "flips_per_pixel": chosen.flip_counts.sum(axis=1).tolist(),
    }
    if variant.binarize == "stochastic":
        result["test_accuracy_real_weights"] = accuracy(data.test_x, data.test_y, H * chosen.best.weights, bias)
    return result


def _post_training(float_model: _Model, data: _Data) -> dict[str, float]:
    """Test accuracy of the float model's weights binarized after training."""
    weights, bias = float_model.weights, float_model.bias
    alpha = float(np.abs(weights).mean())
    return {
        "alpha": alpha,
        "sign_alpha_float_bias": accuracy(data.test_x, data.test_y, alpha * _sign(weights), bias),
        "sign_no_bias": accuracy(data.test_x, data.test_y, _sign(weights), None),
    }


def _flips_figure(results: dict[str, Any], path: Path) -> str:
    plt = pyplot()
    variants = results["variants"]
    fig, axes = plt.subplots(1, 4, figsize=(20, 4.2))
    heat = np.asarray(variants["deterministic"]["flips_per_pixel"]).reshape(28, 28)
    image = axes[0].imshow(heat, cmap="magma")
    fig.colorbar(image, ax=axes[0], fraction=0.046)
    axes[0].set_title("deterministic BinaryConnect:\nsign flips per pixel (sum over 10 classes)", fontsize=9)
    axes[0].set_xticks([])
    axes[0].set_yticks([])
    every = results["settings"]["probe_every"]
    for name in ("float", "deterministic", "stochastic"):
        probe = variants[name]["probe"]
        axes[1].plot(probe["steps"], np.asarray(probe["flips"]) / every, label=name, linewidth=0.8)
        axes[2].plot(probe["steps"], probe["accuracy"], label=name, linewidth=0.8)
    axes[1].set_yscale("symlog", linthresh=1.0)
    axes[1].set_xlabel("SGD step")
    axes[1].set_ylabel("latent-weight sign flips per step")
    axes[1].set_title("sign flips (of 7,840 weights)", fontsize=9)
    axes[2].set_xlabel("SGD step")
    axes[2].set_ylabel(f"validation accuracy (%), first {results['settings']['probe_images']} images")
    axes[2].set_title(f"accuracy probed every {every} steps: the jitter", fontsize=9)
    low = min(min(variants[n]["probe"]["accuracy"][len(variants[n]["probe"]["accuracy"]) // 4 :] or [0.0])
              for n in ("float", "deterministic", "stochastic"))
    axes[2].set_ylim(max(low - 1.0, 0.0), 100.0)
    for name, row in variants.items():
        search = row["lr_search"]
        axes[3].scatter([r["jitter"]["flips_per_step"] for r in search],
                        [r["jitter"]["accuracy_change_std"] for r in search], label=name)
        for r in search:
            axes[3].annotate(f"{r['lr']:g}", (r["jitter"]["flips_per_step"], r["jitter"]["accuracy_change_std"]),
                             fontsize=6, xytext=(3, 2), textcoords="offset points")
    axes[3].set_xscale("symlog", linthresh=0.1)
    axes[3].set_xlabel("latent sign flips per step (second half)")
    axes[3].set_ylabel("std of accuracy change between probes (points)")
    axes[3].set_title("every run of the learning-rate grid (labels: lr)", fontsize=9)
    for ax in axes[1:]:
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return save_figure(fig, path)


def _weights_figure(rows: list[tuple[str, np.ndarray]], path: Path) -> str:
    plt = pyplot()
    fig, axes = plt.subplots(len(rows), CLASSES, figsize=(12, 1.35 * len(rows) + 0.4), squeeze=False)
    for r, (label, weights) in enumerate(rows):
        limit = float(np.abs(weights).max()) or 1.0
        for c in range(CLASSES):
            ax = axes[r][c]
            ax.imshow(weights[:, c].reshape(28, 28), cmap="coolwarm", vmin=-limit, vmax=limit)
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(str(c), fontsize=9)
        axes[r][0].set_ylabel(label, fontsize=7)
    fig.suptitle("class templates: weights of each digit's logit (red +, blue -)", fontsize=9)
    fig.tight_layout()
    return save_figure(fig, path)


def _findings(results: dict[str, Any]) -> list[str]:
    v = results["variants"]
    post = results["post_training"]
    fl, det, detb, st = (v[n] for n in ("float", "deterministic", "deterministic-binary-bias", "stochastic"))
    j_float, j_det, j_st = fl["jitter"], det["jitter"], st["jitter"]
    inked = results["flips_on_inked_pixels"]
    correlation = j_det["flips_vs_accuracy_change_correlation"]
    across = results["flips_vs_jitter_rank_correlation"]
    binary_runs = [r for row in v.values() if row["binarize"] for r in row["lr_search"]]
    flips = [r["jitter"]["flips_per_step"] for r in binary_runs]
    jitters = [r["jitter"]["accuracy_change_std"] for r in binary_runs]
    return [
        f"Float training reaches {percent(fl['test_accuracy'])} (tutorial {TUTORIAL['float']}%); binarizing its "
        f"weights after training gives {percent(post['sign_alpha_float_bias'])} with mean|W|·sign(W) and the float "
        f"bias, {percent(post['sign_no_bias'])} with sign(W) alone (tutorial {TUTORIAL['post_training']}%).",
        f"Training with binary weights (deterministic BinaryConnect) reaches {percent(det['test_accuracy'])} "
        f"(tutorial {TUTORIAL['deterministic']}%), {signed(det['test_accuracy'] - fl['test_accuracy'])} against "
        f"float; the gap the tutorial reports is {TUTORIAL['deterministic'] - TUTORIAL['float']:+.2f} points.",
        f"Binarizing the bias too: {percent(detb['test_accuracy'])}, "
        f"{signed(detb['test_accuracy'] - det['test_accuracy'])} against a real bias (tutorial "
        f"{TUTORIAL['deterministic-binary-bias'] - TUTORIAL['deterministic']:+.2f} points).",
        f"Stochastic BinaryConnect: {percent(st['test_accuracy'])} read as sign(w), "
        f"{percent(st['test_accuracy_real_weights'])} with its real-valued weights (the paper's test-time "
        f"reading), against {percent(det['test_accuracy'])} deterministic.",
        f"Sign flips in the second half of training: {j_det['flips_per_step']:.1f} of 7,840 latent weights per "
        f"step (deterministic), {j_st['flips_per_step']:.1f} (stochastic; its sampled weights change "
        f"{j_st['sample_changes_per_step']:.0f} per step), {j_float['flips_per_step']:.1f} for float weights. "
        f"{100 * inked:.0f}% of the deterministic flips are on pixels inked in at least 10% of training images "
        f"(the heatmap): weights of pixels that are always 0 get no gradient and never flip.",
        f"Accuracy jitter (std of the change between probes, second half): {j_det['accuracy_change_std']:.2f} "
        f"points deterministic, {j_st['accuracy_change_std']:.2f} stochastic, {j_float['accuracy_change_std']:.2f} "
        f"float; within the deterministic run, flips per probe interval against the accuracy change |Δ|: "
        + ("undefined (constant series)." if correlation is None else f"r = {correlation:.2f}."),
        f"Across the {len(binary_runs)} binary runs of the learning-rate grid, flips per step range from "
        f"{min(flips):.2f} to {max(flips):.2f} and the jitter from {min(jitters):.2f} to {max(jitters):.2f} points; "
        "rank correlation of the two: "
        + ("undefined." if across is None else f"{across:.2f}."),
    ]


def run_binaryconnect(splits: Splits, out_dir: str | os.PathLike[str], settings: Settings, *, command: str) -> dict[str, Any]:
    """Run the study on ``splits``; write results.json, README.md and figures to ``out_dir``; return the results."""
    clock = Stopwatch()
    splits = splits.subset(settings.train_subset, settings.val_subset, settings.test_subset)
    data = _Data.from_splits(splits)
    results = study_results(
        study="binaryconnect",
        title="BinaryConnect logistic regression in NumPy",
        question="How much accuracy does a logistic regression lose when its weights are binary, trained with "
        "BinaryConnect rather than binarized after training; does binarizing the bias or sampling the binarization "
        "matter; and how do sign flips of the latent weights relate to the jitter of the accuracy?",
        setup=[
            "Softmax regression 784 -> 10 on MNIST pixels in [0, 1], NumPy only (no torch), plain mini-batch SGD "
            f"(batch {settings.batch_size}), {settings.epochs} epochs.",
            f"Binary weights are ±H with H = sqrt(1.5 / (784 + 10)) = {H:.4f} (BinaryConnect's Glorot scale); latent "
            "weights clipped to [-1, 1], learning rate scaled by 1/H for them (the authors' code).",
            "Each variant picks its learning rate from "
            f"{', '.join(str(lr) for lr in settings.learning_rates)} and its epoch by validation accuracy; "
            "the test set is evaluated once per model.",
            f"Sign flips counted every step; validation accuracy probed every {settings.probe_every} steps on the "
            f"first {settings.probe_images} validation images.",
        ],
        published=[
            {"what": "float logistic regression", "value": "87.16%", "source": "tutorial quoted in issue 7"},
            {"what": "post-training binarization", "value": "59.18%", "source": "tutorial quoted in issue 7"},
            {"what": "binarized training (BinaryConnect)", "value": "85.19%", "source": "tutorial quoted in issue 7"},
            {"what": "binarized training, binarized bias", "value": "81.29%", "source": "tutorial quoted in issue 7"},
        ],
        settings=asdict(settings),
        splits=splits,
        command=command,
    )
    progress = Progress(len(VARIANTS) * len(settings.learning_rates), "binaryconnect")
    variants: dict[str, Any] = {}
    chosen_runs: dict[str, _Run] = {}
    for variant in VARIANTS:
        runs = []
        for lr in settings.learning_rates:
            runs.append(_train(variant, lr, data, settings))
            progress.step(f"{variant.name} lr={lr}")
        chosen = max(runs, key=lambda r: (r.best_val, -r.lr))
        chosen_runs[variant.name] = chosen
        variants[variant.name] = _variant_result(variant, runs, chosen, data, settings)
    results["variants"] = variants
    results["binary_scale_H"] = H
    results["post_training"] = _post_training(chosen_runs["float"].best, data)
    det_flips = chosen_runs["deterministic"].flip_counts.sum(axis=1)
    inked = _inked_pixels(splits.train_images)
    results["flips_on_inked_pixels"] = float(det_flips[inked].sum() / max(det_flips.sum(), 1))
    binary_runs = [r for row in variants.values() if row["binarize"] for r in row["lr_search"]]
    results["flips_vs_jitter_rank_correlation"] = _rank_correlation(
        [r["jitter"]["flips_per_step"] for r in binary_runs], [r["jitter"]["accuracy_change_std"] for r in binary_runs]
    )
    results["findings"] = _findings(results)
    with StagedOutput(out_dir) as output:
        results["figures"] = [
            {"file": _flips_figure(results, output.path("flips_and_jitter.png")),
             "caption": "Deterministic BinaryConnect's sign flips per pixel, flips per step, and the validation "
                        "accuracy probed during training (float, deterministic, stochastic)"},
            {"file": _weights_figure(
                [("float W", chosen_runs["float"].best.weights),
                 ("sign(float W)", _sign(chosen_runs["float"].best.weights)),
                 ("BinaryConnect", _sign(chosen_runs["deterministic"].best.weights)),
                 ("stochastic BC", _sign(chosen_runs["stochastic"].best.weights))],
                output.path("weights.png")),
             "caption": "Class templates: float weights, their signs, and the signs learned by BinaryConnect"},
        ]
        results["wall_time_s"] = clock.seconds()
        results["environment"] = environment()
        write_outputs(output, results, markdown(results))
    return results


def markdown(results: dict[str, Any]) -> str:
    """The study's report section, rendered from its results."""
    v = results["variants"]
    post = results["post_training"]
    accuracy_rows = [
        ["float", percent(v["float"]["test_accuracy"]), f"{TUTORIAL['float']}%", v["float"]["lr"], v["float"]["best_epoch"]],
        ["post-training mean\\|W\\|·sign(W), float bias", percent(post["sign_alpha_float_bias"]),
         f"{TUTORIAL['post_training']}%", "", ""],
        ["post-training sign(W), no bias", percent(post["sign_no_bias"]), f"{TUTORIAL['post_training']}%", "", ""],
    ]
    for name in ("deterministic", "deterministic-binary-bias", "stochastic"):
        row = v[name]
        accuracy_rows.append([row["label"], percent(row["test_accuracy"]), f"{TUTORIAL[name]}%" if name in TUTORIAL else "",
                              row["lr"], row["best_epoch"]])
    accuracy_rows.append(["stochastic, read with real-valued weights", percent(v["stochastic"]["test_accuracy_real_weights"]),
                          "", v["stochastic"]["lr"], v["stochastic"]["best_epoch"]])
    jitter_rows = []
    for name, row in v.items():
        for search in row["lr_search"]:
            j = search["jitter"]
            r = j["flips_vs_accuracy_change_correlation"]
            jitter_rows.append([
                name, f"{search['lr']:g}{' (selected)' if search['lr'] == row['lr'] else ''}",
                f"{search['best_val_accuracy']:.2f}", f"{j['flips_per_step']:.2f}",
                f"{j['sample_changes_per_step']:.0f}" if row["binarize"] == "stochastic" else "",
                f"{j['accuracy_change_std']:.3f}", f"{j['accuracy_change_mean_abs']:.3f}", "" if r is None else f"{r:.2f}",
            ])
    body = [
        "**Test accuracy** (selected learning rate and epoch by validation):",
        md_table(["model", "test accuracy", "tutorial", "lr", "epoch"], accuracy_rows),
        "**Learning-rate grid: validation accuracy, sign flips and accuracy jitter** (flips and jitter over the "
        "second half of training):",
        md_table(["variant", "lr", "best val acc (%)", "latent sign flips / step", "sampled weights changed / step",
                  "std of Δ val acc between probes (points)", "mean \\|Δ\\| (points)", "corr(flips, \\|Δ\\|)"],
                 jitter_rows),
    ]
    return render_markdown(results, body)
