"""Feature decoupling in real networks, on CIFAR-10 (Wen & Li 2021, Figures 1, 3 and 4).

* ``decoupling_supervised_vs_contrastive`` (Figure 1): the same small AlexNet trained with labels
  and with SimCLR; how class-selective its higher-layer units are, and which test images drive
  the most selective ones.
* ``decoupling_augmentations`` (Figure 3): SimCLR with five augmentation sets, from none to the
  full recipe; kNN and linear-probe accuracy, class separation (silhouette) of the features, and
  a t-SNE of them.
* ``decoupling_sparsity`` (Figure 4): how sparsely the units of layers conv2-conv5 fire over the
  test images, with and without colour distortion (and at random initialisation, for
  reference), per image and per spatial position; how colour-sensitive each unit is; and the
  first layer's filters.
* ``decoupling_selectivity_matched``: Figure 1's comparison with the augmentations matched (the
  supervised network trained with the full SimCLR recipe too), at fc7 and conv3-conv5.
* ``decoupling_longer_without_colour``: Figure 4 between two networks that both beat the
  calibrated untrained one: crops and flips trained three times as long, against the network with
  colour distortion.
* ``decoupling_handmade_units``: the same measures on four hand-set units (two colour-opponent,
  two edge detectors) over the test images, no training: what the measures report for units
  whose nature is known.

All runs go through :func:`ssl_lib.train.train`, so the SimCLR runs of the augmentation
experiment are loaded, not retrained, by the other two. Claims compare means over a layer's
live units with :func:`ssl_lib.experiments.registry.greater_claim`, whose standard errors are
those of the means over units (the unit-to-unit spread); accuracies carry their binomial
standard error over the test images. Seed-to-seed agreement is the chapter's to check.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import torch
from scipy import stats
from sklearn.manifold import TSNE
from sklearn.metrics import silhouette_score

from ssl_lib import augment as aug
from ssl_lib import firing
from ssl_lib.evaluate import accuracies_with_se, extract_features, mean_and_se
from ssl_lib.experiments import untrained_baseline
from ssl_lib.experiments.claims import Claim, claim, greater_claim
from ssl_lib.experiments.registry import experiment
from ssl_lib.scale import by_scale
from ssl_lib.train import (TrainConfig, TrainResult, build_model, eval_images, evaluate_model, evaluation_set,
                           run_times, train)

CHAPTER = "06_feature_decoupling_cifar"
AUGMENTATION_SETS = ("none", "crop", "crop_flip", "crop_color", "simclr")  # weakest to strongest
HIGHER_LAYERS = ("conv2", "conv3", "conv4", "conv5")  # the layers of the paper's Figure 4
SELECTIVITY_LAYERS = ("conv2", "conv3", "conv4", "conv5", "fc6", "fc7")
WITHOUT_COLOR, WITH_COLOR = "crop_flip", "simclr"  # the pair of Figure 4: they differ by colour only
FIRING_THRESHOLD = 0.5
VIEWS = ("image", "position")  # responses per image (spatial mean) and per (image, position)
SEPARATION_SPLITS = 5  # disjoint test subsets on which the silhouette is measured, for its error
STORED = ("medium", "full")


def base_config(scale: str, seed: int = 0) -> TrainConfig:
    """The chapter's SimCLR run at ``scale``; every run of the chapter varies it.

    quick: the small AlexNet at 1/8 width (12-24-48-48-24 channels, fc 128), 40 training
    images per class, 5 epochs of batch 100 (20 steps), AdamW; evaluated on 50 training and 50 test images
    per class. medium (two CPU cores, bfloat16, about 6 minutes a run): the small AlexNet at 1/2
    width (48-96-192-192-96 channels, fc 1024) on all of CIFAR-10, 4 epochs of batch 256, SGD
    with momentum, half a warm-up epoch, τ = 0.2 (chapter 02's medium temperature); evaluated on
    all 50,000 / 10,000 images. full (aimed at one H100, about 2-3 minutes a run, estimated, not yet run on a GPU):
    the full-width small AlexNet (fc 4096) on all of CIFAR-10, 50 epochs of batch 512, SGD with
    momentum and 5 warm-up epochs, evaluated on all 50,000 / 10,000 images.
    """
    quick = TrainConfig(
        encoder="alexnet", encoder_kwargs={"width": 0.125, "fc_dim": 128}, head="mlp", proj_dim=64,
        augment="simclr", temperature=0.5, epochs=5, batch_size=100, optimizer="adamw", lr=2e-3,
        weight_decay=1e-4, train_per_class=40, eval_every=0, bank_per_class=50, test_per_class=50,
        seed=seed,
    )
    medium = TrainConfig(
        encoder="alexnet", encoder_kwargs={"width": 0.5, "fc_dim": 1024}, head="mlp", proj_dim=128,
        augment="simclr", temperature=0.2, epochs=4, batch_size=256, optimizer="sgd", lr=0.06,
        momentum=0.9, weight_decay=5e-4, warmup_epochs=0.5, eval_every=0, seed=seed,
    )
    full = TrainConfig(
        encoder="alexnet", encoder_kwargs={"width": 1.0, "fc_dim": 4096}, head="mlp", proj_dim=128,
        augment="simclr", temperature=0.5, epochs=50, batch_size=512, optimizer="sgd", lr=0.12,
        momentum=0.9, weight_decay=5e-4, warmup_epochs=5, eval_every=0, seed=seed,
    )
    return by_scale(scale, quick=quick, medium=medium, full=full)


def augmentation_configs(scale: str, seed: int = 0, names: tuple[str, ...] = AUGMENTATION_SETS
                         ) -> dict[str, TrainConfig]:
    """The SimCLR run of each augmentation preset in ``names``; an unknown name raises a
    ``ValueError`` listing the valid presets."""
    for name in names:
        aug.preset(name)  # validates the name
    return {name: replace(base_config(scale, seed), augment=name) for name in names}


def supervised_config(scale: str, seed: int = 0) -> TrainConfig:
    """The same network trained with labels: cross-entropy of a linear classifier on the
    normalised fc7 output (the ``sphere_supervised`` objective), crops and flips, no head."""
    return replace(base_config(scale, seed), objective="sphere_supervised", head="none",
                   augment="crop_flip")


def held_out_images(config: TrainConfig) -> tuple[np.ndarray, np.ndarray]:
    """The test images (N, 32, 32, 3) uint8 and labels (N,) the chapter's measurements index,
    in the order of :func:`ssl_lib.train.eval_images` (:func:`ssl_lib.train.evaluation_set`)."""
    data = evaluation_set(config, "test")
    return data.images, data.labels


def _test_set(result: TrainResult):
    device = next(result.model.parameters()).device
    _, _, test_x, test_y = eval_images(result.config, device)
    return test_x, test_y.cpu()


def every_layer_claim(id: str, statement: str, larger: dict[str, tuple[str, list]],
                      smaller: dict[str, tuple[str, list]]) -> Claim:
    """The claim that, in every layer, the mean of ``larger``'s per-unit values exceeds that of
    ``smaller``'s, each given per layer as (name, values over the layer's units).

    Each layer is decided by :func:`greater_claim` on the means over units and their standard
    errors; the claim holds when every layer holds, does not hold when some layer is decided
    against it, and is undecided otherwise.
    """
    per_layer = {}
    for layer, (name_a, a) in larger.items():
        name_b, b = smaller[layer]
        per_layer[layer] = greater_claim(f"{id}_{layer}", statement, (name_a, *mean_and_se(a)),
                                         (name_b, *mean_and_se(b)))
    return all_layers_claim(id, statement, per_layer)


def all_layers_claim(id: str, statement: str, per_layer: dict[str, Claim]) -> Claim:
    """The claim that holds when every layer's claim of ``per_layer`` (layer -> a :func:`greater_claim`)
    holds, does not hold when some layer's is decided against it, and is undecided otherwise; its
    evidence: each layer's difference and standard error, and how many layers hold and are against."""
    held = all(c.held for c in per_layer.values())
    against = sum(c.decided and not c.held for c in per_layer.values())
    evidence = {f"{layer}_{k}": c.evidence[k] for layer, c in per_layer.items() for k in ("difference", "difference_se")}
    return claim(id, statement, held=held, decided=held or against > 0,
                 layers_holding=sum(c.held for c in per_layer.values()), layers_against=against, **evidence)


def _runs(*results: TrainResult) -> dict:
    """The training time of every run the experiment used, by run key, and their total."""
    runs = run_times(*results)
    return {"runs": runs, "train_s": sum(runs.values())}


# ----------------------------------------------------------------------------------------------
# Figure 1: supervised versus contrastive features
# ----------------------------------------------------------------------------------------------

def decoupling_supervised_vs_contrastive_claims(m: dict, scale: str) -> list[Claim]:
    """The claims of :func:`decoupling_supervised_vs_contrastive`, decided from its measurements."""
    sup, con = m["supervised"], m["contrastive"]
    return [greater_claim(
        "supervised_more_class_selective",
        "The units of the representation (fc7) are more class-selective after supervised training "
        "than after contrastive training (mean selectivity index over the units).",
        ("selectivity_supervised", sup["mean_selectivity"]["fc7"], sup["mean_selectivity_se"]["fc7"]),
        ("selectivity_contrastive", con["mean_selectivity"]["fc7"], con["mean_selectivity_se"]["fc7"]))]


@experiment("decoupling_supervised_vs_contrastive", chapter=CHAPTER, stored=STORED,
            claims=decoupling_supervised_vs_contrastive_claims)
def decoupling_supervised_vs_contrastive(scale: str, seed: int):
    """Supervised and SimCLR features of the same AlexNet: class selectivity of the higher layers."""
    runs = {"supervised": train(supervised_config(scale, seed)),
            "contrastive": train(augmentation_configs(scale, seed, (WITH_COLOR,))[WITH_COLOR])}
    return {"layers": list(SELECTIVITY_LAYERS), **_runs(*runs.values()),
            **{kind: selectivity_measures(result) for kind, result in runs.items()}}


def selectivity_measures(result: TrainResult) -> dict:
    """The trained network's accuracies, the mean class selectivity (with its standard error over
    units) of every layer of :data:`SELECTIVITY_LAYERS` on the test images, and the five most
    selective conv5 units with their top eight test images and preferred classes."""
    test_x, test_y = _test_set(result)
    responses = firing.layer_responses(result.model.encoder, test_x, SELECTIVITY_LAYERS)
    means = {layer: mean_and_se(firing.class_selectivity(r, test_y).tolist()) for layer, r in responses.items()}
    top = responses["conv5"]
    top_units = firing.class_selectivity(top, test_y).nan_to_num(-1.0).argsort(descending=True)[:5]
    return {
        **accuracies_with_se(result.final_knn, result.final_probe, len(test_y)),
        "mean_selectivity": {layer: mean for layer, (mean, _) in means.items()},
        "mean_selectivity_se": {layer: se for layer, (_, se) in means.items()},
        "top_units_conv5": top_units.tolist(),
        "top_images_conv5": firing.top_activating(top[:, top_units], k=8).tolist(),
        "preferred_class_conv5": firing.preferred_class(top, test_y)[top_units].tolist(),
        "train_s": result.wall_s,
    }


#: The convolutional layers above conv2 whose selectivity the matched comparison also decides.
MATCHED_LAYERS = ("conv3", "conv4", "conv5")


def matched_supervised_config(scale: str, seed: int = 0) -> TrainConfig:
    """Figure 1's supervised network trained with the contrastive network's augmentations (the full
    SimCLR recipe, colour distortion included) instead of crops and flips."""
    return replace(supervised_config(scale, seed), augment=WITH_COLOR)


def decoupling_selectivity_matched_claims(m: dict, scale: str) -> list[Claim]:
    """The claims of :func:`decoupling_selectivity_matched`, decided from its measurements."""
    sup, con = m["supervised"], m["contrastive"]

    def selectivity(layer):
        return (("selectivity_supervised", sup["mean_selectivity"][layer], sup["mean_selectivity_se"][layer]),
                ("selectivity_contrastive", con["mean_selectivity"][layer], con["mean_selectivity_se"][layer]))

    matched = "both networks trained with the same augmentations (the full SimCLR recipe)"
    return [
        greater_claim("supervised_more_class_selective_matched",
                      f"With {matched}, the units of the representation (fc7) are more class-selective after "
                      f"supervised training than after contrastive training (Figure 1's comparison with the "
                      f"augmentations matched; ours).", *selectivity("fc7")),
        all_layers_claim("supervised_more_class_selective_conv3_to_conv5_matched",
                         f"With {matched}, the units of every layer conv3-conv5 are more class-selective after "
                         f"supervised training than after contrastive training (mean selectivity index; ours).",
                         {layer: greater_claim(f"matched_{layer}", "", *selectivity(layer))
                          for layer in MATCHED_LAYERS}),
    ]


@experiment("decoupling_selectivity_matched", chapter=CHAPTER, stored=STORED,
            claims=decoupling_selectivity_matched_claims)
def decoupling_selectivity_matched(scale: str, seed: int):
    """Figure 1 with the augmentations matched: the supervised network trained with the full SimCLR
    recipe (:func:`matched_supervised_config`) against the chapter's SimCLR network, whose
    measurements (and those of the supervised network trained with crops and flips) are read from
    the stored ``decoupling_supervised_vs_contrastive`` result (:func:`untrained_baseline.measurements_of`)."""
    result = train(matched_supervised_config(scale, seed))
    unmatched, source = untrained_baseline.measurements_of("decoupling_supervised_vs_contrastive", scale, seed)
    return {"layers": list(SELECTIVITY_LAYERS), "supervised": selectivity_measures(result),
            "contrastive": unmatched["contrastive"], "supervised_crop_flip": unmatched["supervised"],
            "sources": {"contrastive": source, "supervised_crop_flip": source}, **_runs(result)}


# ----------------------------------------------------------------------------------------------
# Figure 3: representations under different augmentation sets
# ----------------------------------------------------------------------------------------------

def tsne_embedding(features: torch.Tensor, seed: int = 0, perplexity: float = 30.0) -> np.ndarray:
    """A 2-d t-SNE (scikit-learn, PCA initialisation, 500 iterations) of L2-normalised features
    (N, D) -> (N, 2). The exact gradient for up to 1,000 points, Barnes-Hut above."""
    x = torch.nn.functional.normalize(features.float(), dim=1).cpu().numpy()
    perplexity = min(perplexity, (len(x) - 1) / 3)
    return TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed, max_iter=500,
                method="exact" if len(x) <= 1000 else "barnes_hut").fit_transform(x)


def class_separation(points: np.ndarray | torch.Tensor, labels, metric: str = "euclidean") -> float:
    """Silhouette score of the classes in ``points`` (N, D): in [-1, 1], higher is better separated."""
    points = points.cpu().numpy() if isinstance(points, torch.Tensor) else np.asarray(points)
    labels = labels.cpu().numpy() if isinstance(labels, torch.Tensor) else np.asarray(labels)
    return float(silhouette_score(points, labels, metric=metric))


def feature_separation(features: torch.Tensor, labels: torch.Tensor, splits: int = SEPARATION_SPLITS,
                       seed: int = 0) -> tuple[float, float]:
    """The cosine silhouette of the classes in ``features`` (N, D), measured on ``splits``
    disjoint random subsets of the points: its mean and standard error over the subsets."""
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(seed))
    features = torch.nn.functional.normalize(features.float(), dim=1)
    scores = [class_separation(features[part], labels[part], metric="cosine") for part in order.chunk(splits)]
    return mean_and_se(scores)


def decoupling_augmentations_claims(m: dict, scale: str) -> list[Claim]:
    """The claims of :func:`decoupling_augmentations`, decided from its measurements."""

    def probe(name):
        return f"probe_{name}", m[name]["probe"], m[name]["probe_se"]

    def knn(name):
        return f"knn_{name}", m[name]["knn"], m[name]["knn_se"]

    def separation(name):
        return f"silhouette_{name}", m[name]["silhouette_features"], m[name]["silhouette_features_se"]

    return [
        greater_claim("weak_augmentation_lower_probe",
                      "Without augmentation the linear-probe accuracy is lower than with the full recipe "
                      "(our reading of Figure 3, whose t-SNE shows the representations).",
                      probe("simclr"), probe("none")),
        greater_claim("weak_augmentation_lower_knn",
                      "Without augmentation the kNN accuracy is lower than with the full recipe (the same "
                      "reading by the other readout; added at review, after the runs).",
                      knn("simclr"), knn("none")),
        greater_claim("weak_augmentation_less_separated",
                      "Without augmentation the classes are less separated in the test features than "
                      "with the full recipe (cosine silhouette; our reading of Figure 3's t-SNE).",
                      separation("simclr"), separation("none")),
        greater_claim("color_distortion_raises_probe",
                      "Adding colour distortion to crops raises the linear-probe accuracy (ours: the "
                      "paper's theory, colour as a dense feature, predicts it).",
                      probe("crop_color"), probe("crop")),
    ]


@experiment("decoupling_augmentations", chapter=CHAPTER, stored=STORED, claims=decoupling_augmentations_claims)
def decoupling_augmentations(scale: str, seed: int):
    """SimCLR under five augmentation sets: accuracy and class separation of the features."""
    configs = augmentation_configs(scale, seed)
    tsne_per_class = by_scale(scale, quick=30, medium=200, full=200)  # t-SNE of 300 / 2,000 test points
    results = {name: train(config) for name, config in configs.items()}
    m: dict = {"sets": list(AUGMENTATION_SETS), **_runs(*results.values())}
    for name, result in results.items():
        test_x, test_y = _test_set(result)
        features = extract_features(result.model.encoder, test_x, precision=result.precision).cpu()
        keep = _per_class(test_y, tsne_per_class, seed)
        embedding = tsne_embedding(features[keep], seed=seed)
        m[name] = {**accuracies_with_se(result.final_knn, result.final_probe, len(test_y)),
                   **_separation(features, test_y, seed),
                   "silhouette_tsne": class_separation(embedding, test_y[keep]),
                   "tsne": embedding.round(3).tolist(), "tsne_labels": test_y[keep].tolist(),
                   "train_s": result.wall_s}
    reference = results[WITH_COLOR]
    device = next(reference.model.parameters()).device
    untrained = build_model(reference.config).to(device).eval()  # the same network, seed and evaluation
    bank_x, bank_y, test_x, test_y = eval_images(reference.config, device)
    scores = evaluate_model(untrained, bank_x, bank_y, test_x, test_y, reference.config.knn_k, reference.precision)
    m["random init"] = {**accuracies_with_se(scores.knn, scores.probe, len(test_y)),
                        **_separation(scores.test_features.cpu(), test_y.cpu(), seed)}
    return m


def _separation(features: torch.Tensor, labels: torch.Tensor, seed: int) -> dict[str, float]:
    separation, separation_se = feature_separation(features, labels, seed=seed)
    return {"silhouette_features": separation, "silhouette_features_se": separation_se}


def _per_class(labels: torch.Tensor, per_class: int | None, seed: int) -> torch.Tensor:
    """Indices of at most ``per_class`` points of every class (all points when None)."""
    if per_class is None:
        return torch.arange(len(labels))
    g = torch.Generator().manual_seed(seed)
    keep = [idx[torch.randperm(len(idx), generator=g)[:per_class]]
            for idx in (torch.nonzero(labels == c)[:, 0] for c in labels.unique())]
    return torch.cat(keep).sort().values


# ----------------------------------------------------------------------------------------------
# Figure 4: sparsity of neuron firing, layer by layer
# ----------------------------------------------------------------------------------------------

def unit_measures(encoder: torch.nn.Module, images: torch.Tensor, layers=HIGHER_LAYERS,
                  threshold: float = FIRING_THRESHOLD) -> dict[str, dict[str, list]]:
    """Every per-unit measure of the chapter, for each layer's **live** units (those that respond
    to some test image): firing rate and Hoyer index over images (spatial-mean responses) and
    over (image, position) pairs, colour sensitivity, and the layer's population activity and
    dead share.

    Returns:
        {layer: {"image_firing_rate", "image_hoyer", "position_firing_rate", "position_hoyer",
        "color_sensitivity": lists over live units; "image_population", "position_population",
        "dead_share": floats}}.
    """
    per_image = firing.layer_responses(encoder, images, layers)
    per_position = firing.layer_responses(encoder, images, layers, reduce="positions")
    color = firing.color_sensitivity(encoder, images, layers)
    out = {}
    for layer in per_image:
        live = firing.active_units(per_image[layer])
        measures = {}
        for view, responses in (("image", per_image[layer]), ("position", per_position[layer])):
            measures[f"{view}_firing_rate"] = firing.firing_rate(responses, threshold)[live]
            measures[f"{view}_hoyer"] = firing.hoyer_sparsity(responses)[live]
            measures[f"{view}_population"] = firing.population_activity(responses, threshold).mean().item()
        measures["color_sensitivity"] = color[layer][live]
        out[layer] = {k: (np.round(v.tolist(), 5).tolist() if isinstance(v, torch.Tensor) else v)
                      for k, v in measures.items()}
        out[layer]["dead_share"] = 1 - live.float().mean().item()
    return out


def rank_correlation(x, y) -> tuple[float, float]:
    """Spearman's rank correlation of ``x`` and ``y`` and the standard error of its Fisher
    transform atanh(rho), 1 / sqrt(n - 3) (for deciding its sign beyond the noise)."""
    rho = float(stats.spearmanr(x, y).statistic)
    return rho, 1 / math.sqrt(len(x) - 3)


_UNIT_LISTS = ("image_firing_rate", "image_hoyer", "position_firing_rate", "position_hoyer", "color_sensitivity")


def _layer_values(units: dict, name: str, key: str) -> dict[str, tuple[str, list]]:
    """Measure ``key`` of every layer conv2-conv5 of ``units`` (:func:`unit_measures`), as
    :func:`every_layer_claim` takes it, named ``{key}_{name}``."""
    return {layer: (f"{key}_{name}", units[layer][key]) for layer in HIGHER_LAYERS}


def figure4_claims(without: dict, with_: dict, suffix: str = "", note: str = "",
                   stronger: str = "colour distortion") -> list[Claim]:
    """Figure 4's claim by the firing rate and by Hoyer's index, per image and per position, between
    the live units of the network trained without colour distortion (``without``) and with it
    (``with_``), each ``{layer: measures}`` of :func:`unit_measures`; every layer conv2-conv5 decided
    by :func:`every_layer_claim`. The claims' ids end with ``suffix``, their statements with ``note``;
    ``stronger`` names what the network ``with_`` was trained with that ``without`` was not."""
    claims = []
    for view in VIEWS:
        where = "test images (spatial-mean responses)" if view == "image" else "(image, position) pairs"
        claims.append(every_layer_claim(
            f"color_lowers_{view}_firing_rate{suffix}",
            f"With {stronger} the units of every layer conv2-conv5 fire on a smaller share of the "
            f"{where}, response above {FIRING_THRESHOLD:g} of the unit's maximum (Figure 4, by our measure{note}).",
            _layer_values(without, "without", f"{view}_firing_rate"), _layer_values(with_, "with", f"{view}_firing_rate")))
        claims.append(every_layer_claim(
            f"color_raises_{view}_hoyer{suffix}",
            f"With {stronger} the mean Hoyer sparsity over the {where} is higher in every layer "
            f"conv2-conv5 (Figure 4, by our measure{note}).",
            _layer_values(with_, "with", f"{view}_hoyer"), _layer_values(without, "without", f"{view}_hoyer")))
    return claims


def decoupling_sparsity_claims(m: dict, scale: str) -> list[Claim]:
    """The claims of :func:`decoupling_sparsity`, decided from its measurements: Figure 4's claim by
    each measure (:func:`figure4_claims`), and what colour sensitivity says about them."""
    claims = figure4_claims(m["without colour"]["units"], m["with colour"]["units"])
    claims.append(every_layer_claim(
        "color_distortion_lowers_color_sensitivity",
        "Trained with colour distortion, the units of every layer conv2-conv5 are less colour-sensitive "
        "(ours: the augmentation makes colour useless for telling images apart).",
        _layer_values(m["without colour"]["units"], "without", "color_sensitivity"),
        _layer_values(m["with colour"]["units"], "with", "color_sensitivity")))
    chroma = {c: mean_and_se(m[c]["conv1_chromaticity"]) for c in ("without colour", "with colour")}
    claims.append(greater_claim(
        "color_distortion_lowers_conv1_chromaticity",
        "Trained with colour distortion, the first layer's filters carry less colour (chromaticity) "
        "than without it (ours).",
        ("chromaticity_without", *chroma["without colour"]), ("chromaticity_with", *chroma["with colour"])))
    units = m["without colour"]["units"]
    correlations = {layer: rank_correlation(units[layer]["color_sensitivity"], units[layer]["image_firing_rate"])
                    for layer in HIGHER_LAYERS}
    per_layer = [greater_claim("colour_sparse", "", ("zero", 0.0, 0.0), ("fisher_z", math.atanh(rho), se))
                 for rho, se in correlations.values()]
    claims.append(claim(
        "color_sensitive_units_look_sparse",
        "In the network trained without colour distortion, the more colour-sensitive a unit of any "
        "layer conv2-conv5, the lower its per-image firing rate (negative rank correlation; ours).",
        held=all(c.held for c in per_layer), decided=all(c.held for c in per_layer) or any(
            c.decided and not c.held for c in per_layer),
        **{f"rho_{layer}": rho for layer, (rho, _) in correlations.items()}))
    return claims


@experiment("decoupling_sparsity", chapter=CHAPTER, stored=STORED, claims=decoupling_sparsity_claims)
def decoupling_sparsity(scale: str, seed: int):
    """Colour distortion and the sparsity of firing in AlexNet layers conv2-conv5, per image and
    per position; colour sensitivity of the units; the first layer's filters."""
    configs = augmentation_configs(scale, seed, (WITHOUT_COLOR, WITH_COLOR))
    trained = {"without colour": train(configs[WITHOUT_COLOR]), "with colour": train(configs[WITH_COLOR])}
    models = {condition: result.model for condition, result in trained.items()}
    device = next(models["with colour"].parameters()).device
    models["random init"] = build_model(configs[WITH_COLOR]).to(device).eval()
    _, _, test_x, _ = eval_images(configs[WITH_COLOR], device)
    m: dict = {"layers": list(HIGHER_LAYERS), "threshold": FIRING_THRESHOLD, "conditions": list(models),
               "pair": [WITHOUT_COLOR, WITH_COLOR], **_runs(*trained.values())}
    for condition, model in models.items():
        units = unit_measures(model.encoder, test_x)
        conv1 = model.encoder.blocks.conv1[0].weight
        m[condition] = {
            "units": units,
            "mean": {k: [mean_and_se(units[layer][k])[0] for layer in HIGHER_LAYERS] for k in _UNIT_LISTS},
            "se": {k: [mean_and_se(units[layer][k])[1] for layer in HIGHER_LAYERS] for k in _UNIT_LISTS},
            "population": {view: [units[layer][f"{view}_population"] for layer in HIGHER_LAYERS] for view in VIEWS},
            "dead_share": [units[layer]["dead_share"] for layer in HIGHER_LAYERS],
            "color_rank_correlation": {
                view: [rank_correlation(units[layer]["color_sensitivity"], units[layer][f"{view}_firing_rate"])[0]
                       for layer in HIGHER_LAYERS] for view in VIEWS},
            "conv1_filters": np.round(conv1.detach().float().cpu().numpy(), 5).tolist(),
            "conv1_chromaticity": np.round(firing.filter_chromaticity(conv1).numpy(), 5).tolist(),
        }
    return m


#: How many times the chapter's epochs the longer run without colour distortion trains.
LONGER_FACTOR = 3


def longer_without_colour_config(scale: str, seed: int = 0) -> TrainConfig:
    """Figure 4's network without colour distortion (crops and flips) trained :data:`LONGER_FACTOR`
    times the chapter's epochs (medium: 12, about 50 minutes of training in float32 on two idle EPYC cores); all else
    as :func:`base_config`, so its learning-rate schedule stretches over the longer run."""
    config = augmentation_configs(scale, seed, (WITHOUT_COLOR,))[WITHOUT_COLOR]
    return replace(config, epochs=config.epochs * LONGER_FACTOR)


def learned_pair_claims(m: dict, arm: str, label: str, pair: list[Claim]) -> list[Claim]:
    """Figure 4's claims ``pair`` (:func:`figure4_claims`) between the network ``arm`` of ``m`` (named
    ``label`` in a sentence) and the chapter's network with colour distortion, as a test only where
    both beat the calibrated untrained AlexNet (:func:`untrained_baseline.beats_untrained_claim`);
    where either does not, they are reported as undecided, their numbers kept. Returns the two
    controls, then the pair's claims."""
    calibrated = m["untrained"][untrained_baseline.CALIBRATED]
    learned = [untrained_baseline.beats_untrained_claim(
        f"{a}_beats_untrained", f"{name} beats the calibrated untrained AlexNet by kNN and by the linear "
        f"probe (a control, ours).", m["accuracy"][a], calibrated)
        for a, name in ((arm, label), ("with_colour", "SimCLR with the full recipe (the chapter's run)"))]
    if not all(c.held for c in learned):
        pair = [claim(c.id, c.statement, held=False, decided=False, **c.evidence) for c in pair]
    return [*learned, *pair]


def decoupling_longer_without_colour_claims(m: dict, scale: str) -> list[Claim]:
    """The claims of :func:`decoupling_longer_without_colour`, decided from its measurements:
    Figure 4's claims between the longer run without colour distortion and the chapter's network
    with it, under the rule of :func:`learned_pair_claims`."""
    pair = figure4_claims(m["units"]["longer without colour"], m["units"]["with colour"], suffix="_learned_pair",
                          note=f"; without colour distortion: crops and flips trained {m['epochs']} epochs, "
                               f"with it: the chapter's run, so the pair also differs in training length")
    return learned_pair_claims(m, "longer_without_colour",
                               f"SimCLR with crops and flips trained {m['epochs']} epochs", pair)


@experiment("decoupling_longer_without_colour", chapter=CHAPTER, stored=STORED,
            claims=decoupling_longer_without_colour_claims)
def decoupling_longer_without_colour(scale: str, seed: int):
    """Figure 4 between two networks that both learned: crops and flips trained longer
    (:func:`longer_without_colour_config`) against the chapter's network with colour distortion, whose
    measurements are read from the stored ``decoupling_sparsity`` and ``decoupling_untrained_baseline``
    results (:func:`untrained_baseline.measurements_of`), not retrained."""
    result = train(longer_without_colour_config(scale, seed))
    test_x, test_y = _test_set(result)
    sparsity, sparsity_source = untrained_baseline.measurements_of("decoupling_sparsity", scale, seed)
    baseline, baseline_source = untrained_baseline.measurements_of("decoupling_untrained_baseline", scale, seed)
    return {
        "epochs": result.config.epochs, "layers": list(HIGHER_LAYERS), "threshold": FIRING_THRESHOLD,
        "accuracy": {"longer_without_colour": accuracies_with_se(result.final_knn, result.final_probe, len(test_y)),
                     "without_colour": baseline["trained"][WITHOUT_COLOR],
                     "with_colour": baseline["trained"][WITH_COLOR]},
        "untrained": baseline["untrained"],
        "units": {"longer without colour": unit_measures(result.model.encoder, test_x),
                  "without colour": sparsity["without colour"]["units"],
                  "with colour": sparsity["with colour"]["units"]},
        "sources": {"decoupling_sparsity": sparsity_source, "decoupling_untrained_baseline": baseline_source},
        **_runs(result),
    }


def decoupling_sparsity_against_none_claims(m: dict, scale: str) -> list[Claim]:
    """The claims of :func:`decoupling_sparsity_against_none`, decided from its measurements:
    Figure 4's claims between the network trained without augmentation and the chapter's network
    with the full recipe, under the rule of :func:`learned_pair_claims`."""
    pair = figure4_claims(m["units"]["none"], m["units"]["with colour"], suffix="_against_none",
                          stronger="the full recipe (rather than no augmentation)",
                          note="; the theory's 'dense representations if augmentation is not powerful "
                               "enough', with no augmentation as the weakest; the pair differs in crops and "
                               "flips as well as colour distortion")
    return learned_pair_claims(m, "none", "SimCLR without augmentation", pair)


@experiment("decoupling_sparsity_against_none", chapter=CHAPTER, stored=STORED,
            claims=decoupling_sparsity_against_none_claims)
def decoupling_sparsity_against_none(scale: str, seed: int):
    """Figure 4's measures between the network trained without augmentation, the one set without
    colour distortion that beats the untrained AlexNet by kNN in ``decoupling_untrained_baseline``,
    and the chapter's network with the full recipe, whose measurements are read from the stored
    ``decoupling_sparsity`` and ``decoupling_untrained_baseline`` results, not retrained."""
    result = train(augmentation_configs(scale, seed, ("none",))["none"])
    test_x, test_y = _test_set(result)
    sparsity, sparsity_source = untrained_baseline.measurements_of("decoupling_sparsity", scale, seed)
    baseline, baseline_source = untrained_baseline.measurements_of("decoupling_untrained_baseline", scale, seed)
    return {
        "epochs": result.config.epochs, "layers": list(HIGHER_LAYERS), "threshold": FIRING_THRESHOLD,
        "accuracy": {"none": accuracies_with_se(result.final_knn, result.final_probe, len(test_y)),
                     "with_colour": baseline["trained"][WITH_COLOR]},
        "untrained": baseline["untrained"],
        "units": {"none": unit_measures(result.model.encoder, test_x),
                  "with colour": sparsity["with colour"]["units"]},
        "sources": {"decoupling_sparsity": sparsity_source, "decoupling_untrained_baseline": baseline_source},
        **_runs(result),
    }


# ----------------------------------------------------------------------------------------------
# What the measures say of units whose nature is known
# ----------------------------------------------------------------------------------------------

def handmade_unit_checks(m: dict) -> dict[str, bool]:
    """What the measures must say of the hand-made units of :func:`decoupling_handmade_units` (two
    colour-opponent units, then two edge units), by construction: checks of the measures, asserted
    by the chapter and the tests, not claims about learning."""
    color_units, edge_units = [0, 1], [2, 3]

    def below(key, low, high):
        return max(m[key][i] for i in low) < min(m[key][i] for i in high)

    def mean(key, units):
        return float(np.mean([m[key][i] for i in units]))

    return {
        "colour units look sparse per image (firing rate)": below("image_firing_rate", color_units, edge_units),
        "colour units look sparse per image (Hoyer index)": below("image_hoyer", edge_units, color_units),
        "colour units look sparse per position (firing rate)": below("position_firing_rate", color_units, edge_units),
        "Hoyer's index per position treats the two kinds alike (within 0.1)":
            abs(mean("position_hoyer", color_units) - mean("position_hoyer", edge_units)) < 0.1,
        "colour sensitivity above 0.9 for the colour units, below 0.1 for the edge units":
            min(m["color_sensitivity"][i] for i in color_units) > 0.9
            and max(m["color_sensitivity"][i] for i in edge_units) < 0.1,
    }


def decoupling_handmade_units_claims(m: dict, scale: str) -> list[Claim]:
    """None: what the hand-made units show holds by construction (:func:`handmade_unit_checks`)."""
    return []


@experiment("decoupling_handmade_units", chapter=CHAPTER, stored=("medium",), claims=decoupling_handmade_units_claims)
def decoupling_handmade_units(scale: str, seed: int):
    """Two colour-opponent and two edge units (:func:`ssl_lib.firing.handmade_units`), measured on
    the chapter's test images like the trained networks' units. No training; ``seed`` is unused."""
    encoder = firing.handmade_units()
    images, _ = held_out_images(base_config(scale, seed))
    test_x = torch.from_numpy(images).permute(0, 3, 1, 2)
    units = unit_measures(encoder, test_x, ("conv",))["conv"]
    if units["dead_share"] > 0:
        raise RuntimeError("a hand-made unit never fired on the test images")
    return {"units": list(firing.HANDMADE_UNITS), "n_images": len(images), **{k: units[k] for k in _UNIT_LISTS}}


#: How chapter 06 names the networks of :data:`AUGMENTATION_SETS` in its claims.
AUGMENTATION_LABELS = {"none": "SimCLR without augmentation", "crop": "SimCLR with crops",
                       "crop_flip": "SimCLR with crops and flips (Figure 4's network without colour distortion)",
                       "crop_color": "SimCLR with crops and colour distortion",
                       "simclr": "SimCLR with the full recipe (Figure 4's network with colour distortion)"}


def decoupling_untrained_baseline_claims(m: dict, scale: str) -> list[Claim]:
    """The claims of :func:`decoupling_untrained_baseline`, decided from its measurements."""
    return untrained_baseline.baseline_claims(m, "AlexNet", AUGMENTATION_LABELS)


@experiment("decoupling_untrained_baseline", chapter=CHAPTER, stored=STORED, claims=decoupling_untrained_baseline_claims)
def decoupling_untrained_baseline(scale: str, seed: int):
    """The untrained AlexNet, its batch norms as initialised and calibrated, against the five SimCLR networks."""

    def trained():
        m, where = untrained_baseline.measurements_of("decoupling_augmentations", scale, seed)
        return ({name: m[name] for name in AUGMENTATION_SETS},
                {name: f"decoupling_augmentations ({where})" for name in AUGMENTATION_SETS})

    return untrained_baseline.baseline_measurements(base_config(scale, seed), trained)
