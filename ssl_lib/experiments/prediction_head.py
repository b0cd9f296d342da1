"""Chapter 08's experiments: the prediction head in non-contrastive learning (Wen & Li 2022).

* ``prediction_head_toy``: the toy model of :mod:`ssl_lib.prediction_head`, trained with no head
  and with the off-diagonal head on 48 independent seeds; what each neuron learns, the effective
  rank, E's off-diagonal entries (:func:`rise_then_fall`), and how soon the neuron that learns v2
  gets there, against two controls (:func:`acceleration`). "In most runs" is a binomial test
  (:func:`ssl_lib.experiments.registry.majority_claim`).
* ``prediction_head_toy_search``: the search for a nonlinear toy setting (activation, feature
  strengths, head learning rate with eta_E < eta) in which the head works (:func:`search_grid`).
* ``prediction_head_pilot``: SimSiam's own CIFAR-10 recipe and three changes to it, a few
  epochs each, against the untrained network with calibrated batch norms (:data:`PILOT`).
* ``prediction_head_heads``: the heads of :data:`HEADS` on the recipe the pilot chose; kNN
  accuracy over the epochs, the spread and the effective rank of the representations for each.

The sizes of each scale are in :func:`toy_config`, :func:`toy_seeds` and :func:`cifar_config`.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import torch
from tqdm import tqdm

from ssl_lib import augment as aug
from ssl_lib import prediction_head as ph
from ssl_lib import train
from ssl_lib.evaluate import (accuracy_se, effective_rank, extract_features, mean_and_se,
                              singular_values, spread)
from ssl_lib.experiments.claims import MARGIN_SE, Claim, claim, greater_claim, majority_claim
from ssl_lib.experiments.registry import experiment
from ssl_lib.experiments.untrained_baseline import untrained_network
from ssl_lib.models import check_predictor
from ssl_lib.objectives import OBJECTIVES
from ssl_lib.runtime import default_device
from ssl_lib.scale import by_scale

TOY_HEADS = ("none", "offdiag")


def toy_config(scale: str, head: str, **overrides) -> ph.ToyConfig:
    """The toy model of each scale: 500 steps of 256 pairs (quick), 2,000 of 1,024 (full);
    ``overrides`` replace any field of :class:`ssl_lib.prediction_head.ToyConfig`."""
    sizes = by_scale(scale, quick=dict(steps=500, batch=256), full=dict(steps=2000, batch=1024))
    return ph.ToyConfig(head=head, **{**sizes, **overrides})


def spawned_seeds(entropy: int | list[int], n: int) -> list[int]:
    """``n`` run seeds spawned from NumPy's ``SeedSequence(entropy)``, each the first 32-bit word
    of a child's state: independent streams, so no two entropies share a run."""
    return [int(child.generate_state(1)[0]) for child in np.random.SeedSequence(entropy).spawn(n)]


def toy_seeds(scale: str, seed: int) -> list[int]:
    """The seeds of the toy runs of one experiment seed: 48 (quick) or 64 (full), spawned from
    ``SeedSequence(seed)`` (:func:`spawned_seeds`). Runs of experiment seeds s and s + 1 are
    independent (no run is shared)."""
    return spawned_seeds(seed, by_scale(scale, quick=48, full=64))


def rise_then_fall(record: dict, share: float = 0.1) -> dict:
    """Whether E's largest off-diagonal entry rose, then fell back, in one toy run.

    The curve |O|(t) = max_ij |E_ij(t)|, i != j, is averaged over the first ``share`` of the
    records after step 0 (``early``) and over the last ``share`` (``late``), at least 3 records
    each, with the standard error of each mean over its records. The run rises then falls when
    ``early`` exceeds ``late`` by more than MARGIN_SE standard errors of the difference. E starts
    at exactly I, so a high early mean means a rise; a random walk of E, which drifts away from I,
    gives late > early, and so does a peak late in training. The default tenth (the first 50 of
    500 steps) is where the quick runs' peaks fall; we chose it after seeing them (over a third
    of training the early mean also averages the fall).
    """
    curve = torch.as_tensor(record["offdiag"]).abs().amax(dim=(1, 2))[1:].double()
    n = max(3, int(len(curve) * share))
    early, late = curve[:n], curve[-n:]
    difference = (early.mean() - late.mean()).item()
    se = math.sqrt((early.var() / n + late.var() / n).item())
    return {"early": early.mean().item(), "late": late.mean().item(), "difference_se": se,
            "held": difference > MARGIN_SE * se}


def _summary(record: dict) -> dict:
    """What a toy run learned: features per neuron, final effective rank, E's off-diagonal peak
    and its rise and fall (:func:`rise_then_fall`)."""
    off = torch.as_tensor(record["offdiag"]).abs().amax(dim=(1, 2))
    return {
        "learned": ph.learned_features(record["corr"][-1]),
        "effective_rank": record["effective_rank"][-1].item(),
        "offdiag_peak": off.max().item(),
        "offdiag_peak_step": record["step"][int(off.argmax())].item(),
        "offdiag_final": off[-1].item(),
        "rise_then_fall": rise_then_fall(record),
    }


def collapsed(summary: dict) -> bool:
    """Both neurons learned the same feature (dimensional collapse)."""
    return len(set(summary["learned"])) == 1 and None not in summary["learned"]


def split(summary: dict) -> bool:
    """The two neurons learned different features, v1 and v2."""
    return _learned_both(summary["learned"])


def _learned_both(learned: list) -> bool:
    return sorted(learned, key=str) == [1, 2]


def acceleration(head_run: dict, frozen_run: dict, alone_run: dict | None = None,
                 threshold: float = ph.LEARNED) -> dict | None:
    """How soon the neuron that learns v2 with the head (neuron j) learns it, against two controls.

    ``head_run``: the off-diagonal head. ``frozen_run``: the same seed with E frozen at its initial
    value I, which is the no-head run (same W(0), same batches: the head draws no random numbers).
    ``alone_run`` (optional): the same seed, no head, in data without v1 (``with_v1=False``).
    Each entry is the step at which |<w_j, v2>| first reaches ``threshold``
    (:func:`ssl_lib.prediction_head.time_to_learn`), None if never; ``frozen_max`` is the largest
    |<w_j, v2>| of the frozen run. None when the head run did not learn both features.
    """
    learned = ph.learned_features(head_run["corr"][-1])
    if not _learned_both(learned):
        return None
    j = learned.index(2)
    runs = {"head": head_run, "frozen": frozen_run, **({"alone": alone_run} if alone_run else {})}
    return {"neuron": j, **{name: ph.time_to_learn(run, j, 2, threshold) for name, run in runs.items()},
            "frozen_max": frozen_run["projection"][:, j, 1].abs().max().item()}


def sooner(timing: dict) -> bool:
    """The v2 neuron reached the threshold with the head, and sooner than with E frozen (or the
    frozen run never did)."""
    return timing["head"] is not None and (timing["frozen"] is None or timing["head"] < timing["frozen"])


@experiment("prediction_head_toy", chapter="08_prediction_head")
def prediction_head_toy(scale: str, seed: int):
    """No head: both neurons learn the same feature; the off-diagonal head: one neuron per feature,
    the second learning v2 sooner than with E frozen at I; each over independent runs. The control
    without v1 is trained for a fifth of the steps (it learns v2 at once)."""
    seeds = toy_seeds(scale, seed)
    alone_steps = toy_config(scale, "none").steps // 5
    configs = {**{head: toy_config(scale, head) for head in TOY_HEADS},
               "alone": toy_config(scale, "none", with_v1=False, steps=alone_steps)}
    runs = tqdm([(name, s) for name in configs for s in seeds], desc="toy runs", mininterval=1.0)
    records = {name: [] for name in configs}
    for name, s in runs:
        records[name].append(ph.train_toy(configs[name], s))
    summaries = {head: [_summary(r) for r in records[head]] for head in TOY_HEADS}
    collapsed_runs = [collapsed(s) for s in summaries["none"]]
    split_runs = [split(s) for s in summaries["offdiag"]]
    rises = [s["rise_then_fall"]["held"] for s, b in zip(summaries["offdiag"], split_runs) if b]
    timing = [acceleration(*runs) for runs in zip(records["offdiag"], records["none"], records["alone"])]
    timed = [t for t in timing if t is not None]
    measurements = {"seeds": seeds, "records": records, "summaries": summaries,
                    "acceleration": timing, "acceleration_threshold": ph.LEARNED,
                    "rescued": sum(c and b for c, b in zip(collapsed_runs, split_runs))}
    rank = {head: mean_and_se([s["effective_rank"] for s in summaries[head]]) for head in TOY_HEADS}
    claims = [
        majority_claim("no_head_collapses",
                       "Without a head, both neurons learn the same feature (dimensional collapse: "
                       "effective rank near 1) in most runs.",
                       sum(collapsed_runs), len(seeds), mean_effective_rank=rank["none"][0]),
        majority_claim("head_learns_both",
                       "With the off-diagonal head, the two neurons learn different features (v1 and "
                       "v2) in most runs.",
                       sum(split_runs), len(seeds), rescued_runs=measurements["rescued"]),
        greater_claim("head_raises_rank",
                      "The off-diagonal head leaves the outputs a higher effective rank than no head "
                      "(final effective rank, mean over the runs).",
                      ("rank_head", *rank["offdiag"]), ("rank_none", *rank["none"])),
        majority_claim("offdiag_rises_then_falls",
                       "In most runs that learn both features, E's largest off-diagonal entry rises, "
                       "then falls back: its mean over the first tenth of training exceeds its mean "
                       "over the last tenth by more than two standard errors.",
                       sum(rises), len(rises)),
        majority_claim("head_accelerates_v2",
                       "In most runs that learn both features, the neuron that learns v2 gets its "
                       f"weight |<w_j, v2>| to {ph.LEARNED:g} sooner than in the same run with E frozen "
                       "at I (no head: same W(0), same batches), where it gets there later or never.",
                       sum(sooner(t) for t in timed), len(timed),
                       mean_step_with_head=_mean([t["head"] for t in timed]),
                       runs_frozen_reached=sum(t["frozen"] is not None for t in timed)),
    ]
    return measurements, claims


def _mean(values: list) -> float:
    values = [v for v in values if v is not None]
    return sum(values) / len(values) if values else float("nan")


# ----------------------------------------------------------------------------------------------
# The search for a nonlinear toy setting
# ----------------------------------------------------------------------------------------------

def search_grid(scale: str) -> list[dict]:
    """The settings the search tries, as :class:`ssl_lib.prediction_head.ToyConfig` overrides.

    medium and full: the cubic and the ReLU activation, each with the weak feature's strength
    alpha2 in {0.45, 0.6, 0.8} (alpha1 = 1) and the head's learning rate eta_E in {0.1, 0.5, 0.9}
    times the encoder's eta = 0.5 (the paper's eta_E < eta): 18 settings. quick: one cubic and one
    ReLU setting (the code path). Normalisation (per-coordinate batch norm of outputs and
    prediction), sizes and steps are the toy's defaults throughout; the linear activation is the
    toy experiment's own (``prediction_head_toy``).
    """
    lr = ph.ToyConfig().lr
    grid = [{"activation": activation, "alpha2": alpha2, "lr_head": ratio * lr}
            for activation in ("cubic", "relu") for alpha2 in (0.45, 0.6, 0.8) for ratio in (0.1, 0.5, 0.9)]
    return by_scale(scale, quick=[grid[4], grid[13]], medium=grid, full=grid)


def search_seeds(scale: str, seed: int) -> list[int]:
    """The runs of each setting of the search: 4 (quick) or 16 (medium, full) seeds spawned from
    ``SeedSequence([seed, 1])``, so that they are not the runs of :func:`toy_seeds`."""
    return spawned_seeds([seed, 1], by_scale(scale, quick=4, full=16, medium=16))


def setting_outcome(overrides: dict, seeds: list[int], scale: str) -> dict:
    """One setting of the search: over ``seeds``, the runs in which no head collapses, the head
    splits the features, both happen on the same seed (the head rescues the run), the head
    accelerates v2 (against E frozen at I), and no head splits the features too; a run whose
    loss diverges counts as none of these."""
    counts = {"runs": len(seeds), "collapsed": 0, "split": 0, "rescued": 0, "accelerated": 0,
              "split_without_head": 0, "diverged": 0}
    for s in seeds:
        try:
            none, head = (ph.train_toy(toy_config(scale, h, **overrides), s) for h in TOY_HEADS)
        except FloatingPointError:
            counts["diverged"] += 1
            continue
        none_summary = _summary(none)
        c, b = collapsed(none_summary), split(_summary(head))
        timing = acceleration(head, none)
        counts["collapsed"] += c
        counts["split"] += b
        counts["rescued"] += c and b
        counts["split_without_head"] += split(none_summary)
        counts["accelerated"] += timing is not None and sooner(timing)
    return counts


def _most(row: dict, key: str) -> bool:
    """Whether ``key`` (collapsed, split, rescued) happened in most of a setting's runs, by
    :func:`ssl_lib.experiments.registry.majority_claim`."""
    return majority_claim(key, key, row[key], row["runs"]).held


def prediction_head_toy_search_claims(m: dict, scale: str) -> list[Claim]:
    """The claims of :func:`prediction_head_toy_search`, decided from its measurements."""
    rows, best = m["rows"], m["best"]
    working = [r for r in rows if _most(r, "collapsed") and _most(r, "split")]
    return [
        claim("nonlinear_setting_found",
              "Some nonlinear setting of the grid (eta_E < eta) has no head collapse in most runs "
              "and the off-diagonal head split the features in most runs (each a binomial test).",
              bool(working), settings=len(rows), settings_working=len(working),
              best_rescued=best["rescued"], best_split=best["split"], best_collapsed=best["collapsed"],
              runs=len(m["seeds"])),
    ]


@experiment("prediction_head_toy_search", chapter="08_prediction_head", stored=("medium",),
            claims=prediction_head_toy_search_claims)
def prediction_head_toy_search(scale: str, seed: int):
    """Nonlinear toy settings: in which does no head collapse, and the head split, in most runs?"""
    seeds = search_seeds(scale, seed)
    rows = []
    for overrides in tqdm(search_grid(scale), desc="toy settings", mininterval=1.0):
        counts = setting_outcome(overrides, seeds, scale)
        rows.append({**overrides, **counts,
                     **{f"most_{k}": _most(counts, k) for k in ("collapsed", "split", "rescued")}})
    best = max(rows, key=lambda r: (r["rescued"], r["split"]))
    return {"rows": rows, "seeds": seeds, "best": best}


# ----------------------------------------------------------------------------------------------
# CIFAR-10
# ----------------------------------------------------------------------------------------------

MEDIUM_EPOCHS = 3


def cifar_config(scale: str, predictor: str, seed: int = 0, head_lr_ratio: float = 0.5,
                 **overrides) -> train.TrainConfig:
    """SimSiam with the head ``predictor`` (one of :data:`ssl_lib.models.PREDICTORS`).

    Quick: a width-8 convnet, 16x16 crops, 400 training images, 3 epochs. Medium (two CPU
    cores): the small ConvNet (width 32, h of 256 dimensions) with the MLP projection to 128
    dimensions, all of CIFAR-10 at 32x32, MEDIUM_EPOCHS epochs of batch 256, half a warm-up
    epoch, evaluated at the end on all 50,000 / 10,000 images (about 2.3 minutes an epoch in
    float32 on two cores without bfloat16 units, an AMD EPYC; 4 before channels-last). Full: ResNet-18, all
    50,000 images, 30 epochs, batch 512 (about 7 minutes a variant on an H100-class GPU).
    The head's learning rate is ``head_lr_ratio`` times the encoder's: half by default, as in
    the toy (the paper's eta_E < eta).
    """
    check_predictor(predictor, head_lr_ratio)
    sizes = by_scale(
        scale,
        quick=dict(encoder="convnet", encoder_kwargs={"width": 8}, proj_dim=64, epochs=3,
                   batch_size=64, train_per_class=40, bank_per_class=40, test_per_class=20,
                   augment_overrides={"size": 16}, eval_every=0),
        medium=dict(encoder="convnet", encoder_kwargs={"width": 32}, proj_dim=128,
                    epochs=MEDIUM_EPOCHS, batch_size=256, warmup_epochs=0.5, eval_every=0),
        full=dict(encoder="resnet18", proj_dim=2048, epochs=30, batch_size=512,
                  bank_per_class=None, test_per_class=None, eval_every=10),
    )
    options = {"predictor": predictor, "head_lr_ratio": head_lr_ratio}
    return train.TrainConfig(objective="simsiam_head", head="mlp", lr=0.06, seed=seed,
                             objective_options=options, **{**sizes, **overrides})


#: Equal chunks of the test images over which the collapse measures' standard errors are taken
#: (:func:`chunk_mean_and_se`).
CHUNKS = 10


def chunk_mean_and_se(z: torch.Tensor, measure) -> tuple[float, float]:
    """The mean of ``measure`` (a function of an (n, d) batch, such as
    :func:`ssl_lib.evaluate.effective_rank`) over CHUNKS equal chunks of the rows of z,
    with its standard error over the chunks."""
    return mean_and_se([measure(chunk) for chunk in z.chunk(CHUNKS)])


def representation_stats(h: torch.Tensor, knn: float, probe: float | None = None) -> dict:
    """The collapse measures of the test representations h = f(x), (n, d): the spread, the
    effective rank (:func:`ssl_lib.evaluate.effective_rank`) over all of them and its mean
    with the standard error over CHUNKS equal chunks, the singular values; with the kNN
    accuracy ``knn`` and its binomial standard error over the n test images, and the linear
    probe's accuracy ``probe``."""
    h = h.float().cpu()
    rank_mean, rank_se = chunk_mean_and_se(h, effective_rank)
    return {"knn": knn, "knn_se": accuracy_se(knn, len(h)), "probe": probe, "spread": spread(h),
            "effective_rank": effective_rank(h), "chunk_rank": rank_mean, "chunk_rank_se": rank_se,
            "singular_values": singular_values(h), "dim": h.shape[1], "n_test": len(h)}


def random_init_stats(config: train.TrainConfig, bank_x, bank_y, test_x, test_y, calibrated: bool = False) -> dict:
    """:func:`representation_stats` of the network of ``config`` at its initialisation (the same
    weights its training run starts from), with its kNN and linear-probe accuracies on the
    evaluation images (:func:`ssl_lib.train.eval_images` of ``config``). ``calibrated``: its batch
    norms' statistics taken from training images (:func:`ssl_lib.experiments.untrained_baseline.untrained_network`)
    instead of their initial 0 and 1."""
    model = untrained_network(config, bank_x, calibrated)
    scores = train.evaluate_model(model, bank_x, bank_y, test_x, test_y, k=config.knn_k)
    return {**representation_stats(scores.test_features, scores.knn, scores.probe),
            **output_spread(model, scores.test_features)}


def output_spread(model: torch.nn.Module, h: torch.Tensor) -> dict:
    """The spread (:func:`ssl_lib.evaluate.spread`) of the projection z = g(h) that
    SimSiam compares, the output on which Chen & He watch collapse (``model`` in eval mode): over
    all test images (``spread_z``) and its mean with the standard error over CHUNKS chunks."""
    with torch.no_grad():
        z = model.head(h).float().cpu()
    mean, se = chunk_mean_and_se(z, spread)
    return {"spread_z": spread(z), "chunk_spread_z": mean, "chunk_spread_z_se": se}


def head_entries(model: torch.nn.Module) -> dict:
    """Where the trained head E ended: the smallest and largest diagonal entry and the largest
    off-diagonal |E_ij| (E = I for no head)."""
    E = model.extras["predictor"].matrix().detach().float()
    diagonal = torch.diagonal(E)
    return {"head_diagonal_min": diagonal.min().item(), "head_diagonal_max": diagonal.max().item(),
            "head_offdiag_max": (E - torch.diag(diagonal)).abs().max().item()}


def identity_first_step(config: train.TrainConfig) -> dict:
    """The fixed identity head against no head, exactly: the loss and every gradient of one
    SimSiam step from the same weights on the same views, in float32.

    p = I z is z bit for bit in float32, so the two must agree exactly (``max_gradient_gap`` 0).
    Under bfloat16 autocast the product I z is computed in bfloat16, which rounds z
    (``bfloat16_gap``, the largest |I z - z| relative to max |z|): two training runs that differ
    only by this rounding drift apart, which is why the identity is not trained as a run.
    """
    generator = torch.Generator().manual_seed(config.seed)
    images = train.evaluation_set(config, "train").tensors("cpu")[0][: config.batch_size]
    view1, view2 = aug.two_views(images, config.augmentation(), generator)
    nets, steps = {}, {}
    for predictor in ("none", "identity"):
        model = nets[predictor] = train.build_model(replace(config, objective_options={
            **config.objective_options, "predictor": predictor}))
        loss = OBJECTIVES[config.objective].loss(model, view1, view2, None, config)
        loss.backward()
        steps[predictor] = (loss.item(), [q.grad.clone() for q in model.parameters() if q.grad is not None])
    (loss_none, grads_none), (loss_identity, grads_identity) = steps["none"], steps["identity"]
    gap = max((a - b).abs().max().item() for a, b in zip(grads_none, grads_identity))
    identity = nets["identity"]
    with torch.no_grad():
        z = identity(view1)[1].float()
        with torch.autocast("cpu", dtype=torch.bfloat16):
            rounded = identity.extras["predictor"](z).float()
    return {"loss_none": loss_none, "loss_identity": loss_identity, "max_gradient_gap": gap,
            "gradients": len(grads_none), "bfloat16_gap": ((rounded - z).abs().max() / z.abs().max()).item()}


def competitive_claim(id: str, statement: str, head: tuple[str, float, float],
                      reference: tuple[str, float, float], tolerance: float) -> Claim:
    """The claim "``head`` is within ``tolerance`` of ``reference`` or above it", each given as
    ``(name, value, standard error)``: :func:`greater_claim` on head + tolerance against reference
    (holds beyond MARGIN_SE standard errors, fails below minus that, undecided between)."""
    name, value, se = head
    return greater_claim(id, statement, (f"{name}_plus_tolerance", value + tolerance, se), reference,
                         **{name: value, "tolerance": tolerance})


# ----------------------------------------------------------------------------------------------
# The pilot: a SimSiam recipe that learns on CIFAR-10
# ----------------------------------------------------------------------------------------------

#: The pilot's recipes, each a change to SimSiam's own CIFAR-10 recipe (Chen & He 2021: the
#: projector's output batch-normalised, their bottleneck MLP predictor, lr 0.03 x batch / 256,
#: weight decay 5e-4, SGD with momentum 0.9, a cosine schedule; 800 epochs there, PILOT_EPOCHS
#: here, on the book's small ConvNet): ``simsiam`` is the recipe itself (the positive control),
#: ``lr_0.06`` our earlier learning rate, ``no_output_bn`` SimCLR's projector (as the stored runs
#: use), ``offdiag`` Wen & Li's off-diagonal head (at the encoder's learning rate) in place of the MLP.
PILOT = {
    "simsiam": {},
    "lr_0.06": {"lr": 0.06},
    "no_output_bn": {"head": "mlp"},
    "offdiag": {"predictor": "offdiag"},
}
#: Epochs of each pilot run at the medium scale (all of CIFAR-10's training images).
PILOT_EPOCHS = 4


def pilot_config(scale: str, recipe: str, seed: int = 0) -> train.TrainConfig:
    """The pilot recipe ``recipe`` (a key of :data:`PILOT`) at ``scale``: SimSiam's CIFAR-10
    recipe with that recipe's change, sized as :func:`cifar_config` (PILOT_EPOCHS epochs at medium)."""
    if recipe not in PILOT:
        raise ValueError(f"unknown pilot recipe {recipe!r}; valid recipes: {', '.join(PILOT)}")
    changes = dict(PILOT[recipe])
    predictor = changes.pop("predictor", "mlp")
    base = cifar_config(scale, predictor, seed, head_lr_ratio=1.0)
    recipe_settings = {"head": "mlp_bn", "lr": 0.03, "weight_decay": 5e-4, "momentum": 0.9,
                       "epochs": PILOT_EPOCHS if scale == "medium" else base.epochs}
    return replace(base, **{**recipe_settings, **changes})


def prediction_head_pilot_claims(m: dict, scale: str) -> list[Claim]:
    """The claims of :func:`prediction_head_pilot`, fixed before its medium runs: each learning
    recipe is judged against the calibrated untrained network, by kNN accuracy."""
    untrained = m["untrained calibrated"]

    def beats_untrained(recipe: str, statement: str) -> Claim:
        r = m["recipes"][recipe]
        return greater_claim(f"{recipe}_beats_untrained", statement, (f"knn_{recipe}", r["knn"], r["knn_se"]),
                             ("knn_untrained", untrained["knn"], untrained["knn_se"]),
                             knn_untrained_uncalibrated=m["untrained"]["knn"], epochs=m["epochs"])
    return [
        beats_untrained("simsiam", "SimSiam's own recipe (MLP predictor, batch-normalised projector output, lr "
                                   "0.03) learns: after the pilot's epochs its kNN accuracy beats the same network "
                                   "at initialisation, with batch-norm statistics from training images, beyond "
                                   "two standard errors."),
        beats_untrained("offdiag", "The off-diagonal head in place of the MLP predictor, on the same recipe, "
                                   "beats the calibrated untrained network by kNN beyond two standard errors."),
    ]


@experiment("prediction_head_pilot", chapter="08_prediction_head", stored=("medium",),
            claims=prediction_head_pilot_claims)
def prediction_head_pilot(scale: str, seed: int):
    """The pilot for a SimSiam recipe that learns on CIFAR-10: four recipes for a few epochs,
    against the same network at initialisation, its batch norms as initialised and calibrated."""
    device = default_device()
    configs = {recipe: pilot_config(scale, recipe, seed) for recipe in PILOT}
    results = {recipe: train.train(c, device, progress=True) for recipe, c in configs.items()}
    images = train.eval_images(configs["simsiam"], device)  # the same for every recipe
    recipes = {}
    for recipe, r in results.items():
        h = extract_features(r.model.encoder, images[2])
        recipes[recipe] = {**representation_stats(h, r.final_knn, r.final_probe), **output_spread(r.model, h),
                           "loss": r.history["loss"], "train_s": r.wall_s}
    return {"recipes": recipes, "epochs": configs["simsiam"].epochs,
            "untrained": random_init_stats(configs["simsiam"], *images),
            "untrained calibrated": random_init_stats(configs["simsiam"], *images, calibrated=True),
            "changes": {recipe: {k: str(v) for k, v in PILOT[recipe].items()} for recipe in PILOT},
            "runs": train.run_times(*results.values())}



# ----------------------------------------------------------------------------------------------
# The heads on the recipe the pilot chose
# ----------------------------------------------------------------------------------------------

#: The recipe the pilot chose: SimSiam's own CIFAR-10 recipe (:func:`pilot_config`) at the
#: pilot's better learning rate, 0.06 (kNN 44.9% against 44.1% at 0.03 after 4 epochs, seed 0),
#: trained for twice the pilot's epochs at medium and evaluated at the start, halfway and the end.
RECIPE = {"head": "mlp_bn", "lr": 0.06, "weight_decay": 5e-4, "momentum": 0.9}
RECIPE_EPOCHS = 8

#: The heads trained on that recipe, each a predictor of :data:`ssl_lib.models.PREDICTORS` and its
#: learning rate over the encoder's: Wen & Li's off-diagonal head slower than the encoder (their
#: analysis's eta_E < eta) and faster (DirectPred's finding without a momentum encoder); the fully
#: trained linear head and SimSiam's MLP predictor (the positive control) at the encoder's rate.
#: The fixed identity is checked by :func:`identity_first_step` instead.
HEADS = {
    "none": ("none", 1.0),
    "offdiag_slow": ("offdiag", 0.5),
    "offdiag_fast": ("offdiag", 2.0),
    "linear": ("linear", 1.0),
    "mlp": ("mlp", 1.0),
}

#: How far below a trained head the off-diagonal head may stay and still count as
#: "competitive" (kNN accuracy, fixed before the runs): two points.
COMPETITIVE_MARGIN = 0.02


def recipe_config(scale: str, head: str, seed: int = 0) -> train.TrainConfig:
    """The head ``head`` (a key of :data:`HEADS`) on the pilot's recipe (:data:`RECIPE`) at
    ``scale``, sized as :func:`cifar_config` (RECIPE_EPOCHS epochs at medium), evaluated at the
    start, every half of its epochs and at the end."""
    if head not in HEADS:
        raise ValueError(f"unknown head {head!r}; valid heads: {', '.join(HEADS)}")
    predictor, ratio = HEADS[head]
    base = cifar_config(scale, predictor, seed, head_lr_ratio=ratio)
    epochs = RECIPE_EPOCHS if scale == "medium" else base.epochs
    return replace(base, **RECIPE, epochs=epochs, eval_every=max(1, epochs // 2))


def prediction_head_heads_claims(m: dict, scale: str) -> list[Claim]:
    """The claims of :func:`prediction_head_heads`, fixed before its medium runs. Accuracies are
    kNN accuracies with binomial standard errors; "untrained" is the same network at
    initialisation with batch-norm statistics from training images."""
    heads, identity = m["heads"], m["identity"]

    def knn(name):
        stats = m["untrained calibrated"] if name == "untrained" else heads[name]
        return (f"knn_{name}", stats["knn"], stats["knn_se"])

    def halfway(name):
        history = heads[name]["knn_history"]
        return (f"knn_{name}_halfway", history[-2], accuracy_se(history[-2], heads[name]["n_test"]))

    def collapse(name, key):
        return (f"{key}_{name}", heads[name][key], heads[name][f"{key}_se"])

    beats_untrained = [
        greater_claim(f"heads_{name}_beats_untrained", f"SimSiam with {what} beats the untrained network.",
                      knn(name), knn("untrained"), knn_untrained_uncalibrated=m["untrained"]["knn"])
        for name, what in (("mlp", "SimSiam's MLP predictor (the positive control)"),
                           ("offdiag_slow", "the off-diagonal head learning at half the encoder's rate"),
                           ("offdiag_fast", "the off-diagonal head learning at twice the encoder's rate"),
                           ("linear", "the fully trained linear head"))]
    competitive = [
        competitive_claim(f"heads_{name}_competitive_with_{reference}",
                          f"The off-diagonal head at {rate} the encoder's rate is competitive with {what}: its "
                          f"kNN accuracy is at most {COMPETITIVE_MARGIN * 100:.0f} points below, or above.",
                          knn(name), knn(reference), tolerance=COMPETITIVE_MARGIN)
        for name, rate in (("offdiag_slow", "half"), ("offdiag_fast", "twice"))
        for reference, what in (("linear", "the fully trained linear head"), ("mlp", "SimSiam's MLP predictor"))]
    return [
        claim("heads_identity_is_no_head",
              "A fixed identity head is the same function as no head: one SimSiam step from the same "
              "weights on the same views gives the same loss and the same gradients, exactly (float32).",
              identity["max_gradient_gap"] == 0 and identity["loss_none"] == identity["loss_identity"],
              max_gradient_gap=identity["max_gradient_gap"]),
        *beats_untrained,
        greater_claim("heads_mlp_rising", "The positive control is still learning: its kNN accuracy at the end "
                      "beats its accuracy halfway through.", knn("mlp"), halfway("mlp")),
        *[greater_claim(f"heads_{name}_beats_no_head", f"The off-diagonal head at {rate} the encoder's rate "
                        "beats no head.", knn(name), knn("none"))
          for name, rate in (("offdiag_slow", "half"), ("offdiag_fast", "twice"))],
        *competitive,
        greater_claim("heads_no_head_output_collapses",
                      "Without a head the projection z that SimSiam compares collapses (Chen & He): its spread "
                      "(mean over test chunks) is below the MLP predictor's.",
                      collapse("mlp", "chunk_spread_z"), collapse("none", "chunk_spread_z")),
        greater_claim("heads_no_head_rank_collapses",
                      "Without a head the representation h collapses to fewer dimensions: its effective rank "
                      "(mean over test chunks) is below the MLP predictor's.",
                      collapse("mlp", "chunk_rank"), collapse("none", "chunk_rank")),
    ]


@experiment("prediction_head_heads", chapter="08_prediction_head", stored=("medium",),
            claims=prediction_head_heads_claims)
def prediction_head_heads(scale: str, seed: int):
    """SimSiam on CIFAR-10 with each head of :data:`HEADS` on the pilot's recipe, against the same
    network at initialisation (its batch norms as initialised and calibrated); the fixed identity
    checked against no head exactly."""
    device = default_device()
    configs = {name: recipe_config(scale, name, seed) for name in HEADS}
    results = {name: train.train(c, device, progress=True) for name, c in configs.items()}
    images = train.eval_images(configs["none"], device)  # the same for every head
    heads = {}
    for name, r in results.items():
        h = extract_features(r.model.encoder, images[2])
        linear = HEADS[name][0] in ("offdiag", "linear")
        heads[name] = {**representation_stats(h, r.final_knn, r.final_probe), **output_spread(r.model, h),
                       **(head_entries(r.model) if linear else {}), "knn_history": r.history["knn"],
                       "probe_history": r.history["probe"], "epochs": r.history["epoch"],
                       "loss": r.history["loss"], "train_s": r.wall_s}
    return {"heads": heads, "recipe": {k: str(v) for k, v in RECIPE.items()}, "epochs": configs["none"].epochs,
            "head_rates": {name: ratio for name, (_, ratio) in HEADS.items()},
            "untrained": random_init_stats(configs["none"], *images),
            "untrained calibrated": random_init_stats(configs["none"], *images, calibrated=True),
            "identity": identity_first_step(configs["none"]),
            "runs": train.run_times(*results.values())}
