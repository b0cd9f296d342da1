"""Chapter 08's experiments: the prediction head in non-contrastive learning (Wen & Li 2022).

* ``prediction_head_toy``: the toy model of :mod:`ssl_lib.prediction_head`, trained with no head
  and with the off-diagonal head, on several seeds (the effect is a property of most runs, not
  of every run); what each neuron learns, the effective rank, E's off-diagonal entries, and how
  soon the neuron that learns v2 gets there, against two controls (:func:`acceleration`).
* ``prediction_head_cifar``: SimSiam on CIFAR-10 with the four head variants; kNN accuracy, the
  spread and the effective rank of the representations for each.

The sizes of each scale are in :func:`toy_config` and :func:`cifar_config`.
"""

from __future__ import annotations


from ssl_lib import prediction_head as ph
from ssl_lib import train
from ssl_lib.evaluate import extract_features
from ssl_lib.experiments.registry import claim, experiment
from ssl_lib.runtime import default_device
from ssl_lib.scale import by_scale

TOY_HEADS = ("none", "offdiag")


def toy_config(scale: str, head: str, **overrides) -> ph.ToyConfig:
    """The toy model of each scale: 500 steps of 256 pairs (quick), 2,000 of 1,024 (full);
    ``overrides`` replace any field of :class:`ssl_lib.prediction_head.ToyConfig`."""
    sizes = by_scale(scale, quick=dict(steps=500, batch=256), full=dict(steps=2000, batch=1024))
    return ph.ToyConfig(head=head, **{**sizes, **overrides})


def toy_seeds(scale: str, seed: int) -> list[int]:
    """The seeds one run of the toy experiment trains on: 4 (quick) or 8 (full) from ``seed``."""
    return list(range(seed, seed + by_scale(scale, quick=4, full=8)))


def _summary(record: dict) -> dict:
    """What a toy run learned: features per neuron, final effective rank, E's off-diagonal peak."""
    off = record["offdiag"].abs().amax(dim=(1, 2))
    return {
        "learned": ph.learned_features(record["corr"][-1]),
        "effective_rank": record["effective_rank"][-1].item(),
        "offdiag_peak": off.max().item(),
        "offdiag_peak_step": record["step"][int(off.argmax())].item(),
        "offdiag_final": off[-1].item(),
    }


def acceleration(head_run: dict, frozen_run: dict, alone_run: dict, threshold: float = ph.LEARNED) -> dict | None:
    """How soon the neuron that learns v2 with the head (neuron j) learns it, against two controls.

    ``head_run``: the off-diagonal head. ``frozen_run``: the same seed with E frozen at its initial
    value I, which is the no-head run (same W(0), same batches: the head draws no random numbers).
    ``alone_run``: the same seed, no head, in data without v1 (``with_v1=False``). Each entry is the
    step at which |<w_j, v2>| first reaches ``threshold`` (:func:`ssl_lib.prediction_head.time_to_learn`),
    None if never; ``frozen_max`` is the largest |<w_j, v2>| of the frozen run. None when the
    head run did not learn both features.
    """
    learned = ph.learned_features(head_run["corr"][-1])
    if sorted(learned) != [1, 2]:
        return None
    j = learned.index(2)
    return {"neuron": j, **{name: ph.time_to_learn(run, j, 2, threshold) for name, run in
                             (("head", head_run), ("frozen", frozen_run), ("alone", alone_run))},
            "frozen_max": frozen_run["projection"][:, j, 1].abs().max().item()}


@experiment("prediction_head_toy", chapter="08_prediction_head")
def prediction_head_toy(scale: str, seed: int):
    """No head: both neurons learn the same feature; the off-diagonal head: one neuron per feature,
    the second learning v2 sooner than with E frozen at I. The control without v1 is trained for a
    fifth of the steps (it learns v2 at once)."""
    seeds = toy_seeds(scale, seed)
    records = {head: [ph.train_toy(toy_config(scale, head), s, progress=True) for s in seeds]
               for head in TOY_HEADS}
    alone_steps = toy_config(scale, "none").steps // 5
    records["alone"] = [ph.train_toy(toy_config(scale, "none", with_v1=False, steps=alone_steps), s,
                                     progress=True) for s in seeds]
    summaries = {head: [_summary(r) for r in records[head]] for head in TOY_HEADS}
    collapsed = [len(set(s["learned"])) == 1 and None not in s["learned"] for s in summaries["none"]]
    both = [sorted(s["learned"]) == [1, 2] for s in summaries["offdiag"]]
    rise_fall = [s["offdiag_peak"] >= 0.02 and s["offdiag_final"] <= 0.8 * s["offdiag_peak"]
                 for s, b in zip(summaries["offdiag"], both) if b]
    timing = [acceleration(*runs) for runs in zip(records["offdiag"], records["none"], records["alone"])]
    split = [t for t in timing if t is not None]
    sooner = [t["head"] is not None and (t["frozen"] is None or t["head"] < t["frozen"]) for t in split]
    measurements = {"seeds": seeds, "records": records, "summaries": summaries,
                    "acceleration": timing, "acceleration_threshold": ph.LEARNED}
    rank_none = sum(s["effective_rank"] for s in summaries["none"]) / len(seeds)
    rank_head = sum(s["effective_rank"] for s in summaries["offdiag"]) / len(seeds)
    claims = [
        claim("no_head_collapses",
              "Without a head, both neurons learn the same feature in every run (dimensional "
              "collapse: effective rank near 1).",
              all(collapsed), runs=len(seeds), collapsed_runs=sum(collapsed),
              mean_effective_rank=rank_none),
        claim("head_learns_both",
              "With the off-diagonal head, the two neurons learn different features (v1 and v2) in "
              "most runs, and the effective rank is higher than without a head.",
              sum(both) > len(seeds) / 2 and rank_head > rank_none, runs=len(seeds),
              runs_with_both=sum(both), mean_effective_rank=rank_head),
        claim("offdiag_rises_then_falls",
              "In every run that learns both features, E's largest off-diagonal entry rises to at "
              "least 0.02, then falls by at least 20% by the end of training.",
              bool(rise_fall) and all(rise_fall), runs_with_both=len(rise_fall),
              runs_rise_then_fall=sum(rise_fall)),
        claim("head_accelerates_v2",
              "In every run that learns both features, the neuron that learns v2 gets its weight "
              f"|<w_j, v2>| to {ph.LEARNED:g} sooner than in the same run with E frozen at I (no head: same "
              "W(0), same batches), where it gets there later or never.",
              bool(split) and all(sooner), runs_with_both=len(split), runs_sooner=sum(sooner),
              mean_step_with_head=_mean([t["head"] for t in split]),
              runs_frozen_reached=sum(t["frozen"] is not None for t in split),
              largest_frozen_weight=max((t["frozen_max"] for t in split), default=float("nan"))),
    ]
    return measurements, claims


def _mean(values: list) -> float:
    values = [v for v in values if v is not None]
    return sum(values) / len(values) if values else float("nan")


# ----------------------------------------------------------------------------------------------
# CIFAR-10
# ----------------------------------------------------------------------------------------------

def cifar_config(scale: str, predictor: str, seed: int = 0, head_lr_ratio: float = 0.1,
                 **overrides) -> train.TrainConfig:
    """SimSiam with the head ``predictor`` (one of :data:`ssl_lib.prediction_head.PREDICTORS`).

    Quick: a width-8 convnet, 16x16 crops, 400 training images, 3 epochs. Full: ResNet-18,
    all 50,000 images, 30 epochs, batch 512 (about 7 minutes a variant on an H100-class GPU).
    The head's learning rate is ``head_lr_ratio`` times the encoder's.
    """
    ph.check_predictor(predictor, head_lr_ratio)
    sizes = by_scale(
        scale,
        quick=dict(encoder="convnet", encoder_kwargs={"width": 8}, proj_dim=64, epochs=3,
                   batch_size=64, train_per_class=40, bank_per_class=40, test_per_class=20,
                   augment_overrides={"size": 16}, eval_every=0),
        full=dict(encoder="resnet18", proj_dim=2048, epochs=30, batch_size=512,
                  bank_per_class=None, test_per_class=None, eval_every=10),
    )
    options = {"predictor": predictor, "head_lr_ratio": head_lr_ratio}
    return train.TrainConfig(objective="simsiam_head", head="mlp", lr=0.06, seed=seed,
                             objective_options=options, **{**sizes, **overrides})


def representation_stats(result: train.TrainResult) -> dict:
    """kNN accuracy, and the spread, effective rank and singular values of h on the test images."""
    device = next(result.model.parameters()).device
    _, _, test_x, _ = train.eval_images(result.config, device)
    h = extract_features(result.model.encoder, test_x).float().cpu()
    return {"knn": result.final_knn, "spread": ph.spread(h), "effective_rank": ph.effective_rank(h),
            "singular_values": ph.singular_values(h), "dim": h.shape[1]}


@experiment("prediction_head_cifar", chapter="08_prediction_head")
def prediction_head_cifar(scale: str, seed: int):
    """SimSiam on CIFAR-10 with each head variant: kNN accuracy and dimensional collapse."""
    device = default_device()
    stats = {}
    for predictor in ph.PREDICTORS:
        result = train.train(cifar_config(scale, predictor, seed), device, progress=True)
        stats[predictor] = representation_stats(result)
    knn = {p: s["knn"] for p, s in stats.items()}
    rank = {p: s["effective_rank"] for p, s in stats.items()}
    claims = [
        claim("identity_is_no_head",
              "A fixed identity head is the same function as no head, so the two runs agree.",
              abs(knn["none"] - knn["identity"]) < 1e-6, knn_none=knn["none"], knn_identity=knn["identity"]),
        claim("offdiag_competitive",
              "The off-diagonal head is competitive with the fully trained linear head: kNN accuracy "
              "within 5 points.",
              knn["offdiag"] >= knn["linear"] - 0.05, knn_offdiag=knn["offdiag"], knn_linear=knn["linear"]),
        claim("no_head_collapses_cifar",
              "Without a head the representation is more collapsed: its effective rank is below "
              "both trained heads'.",
              rank["none"] < min(rank["offdiag"], rank["linear"]), rank_none=rank["none"],
              rank_offdiag=rank["offdiag"], rank_linear=rank["linear"]),
    ]
    return {"stats": stats, "scale": scale}, claims
