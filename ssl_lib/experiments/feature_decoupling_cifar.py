"""Feature decoupling in real networks, on CIFAR-10 (Wen & Li 2021, Figures 1, 3 and 4).

* ``decoupling_supervised_vs_contrastive`` (Figure 1): the same small AlexNet trained with labels
  and with SimCLR; how class-selective its higher-layer units are, and which test images drive
  the most selective ones.
* ``decoupling_augmentations`` (Figure 3): SimCLR with five augmentation sets, from none to the
  full recipe; kNN and linear-probe accuracy, and a t-SNE of the test features with a
  class-separation score (silhouette) for each.
* ``decoupling_sparsity`` (Figure 4): how sparsely the units of layers conv2-conv5 fire over the
  test images, with and without colour distortion (and at random initialisation, for reference).

All runs go through :func:`ssl_lib.train.train`, so the five SimCLR runs of the augmentation
experiment are loaded, not retrained, by the other two. The chapter shows these experiments through
:func:`ssl_lib.experiments.result`; none is stored yet (they are not sized for the medium scale).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch
from sklearn.manifold import TSNE
from sklearn.metrics import silhouette_score

from ssl_lib import augment as aug
from ssl_lib import firing
from ssl_lib.evaluate import extract_features
from ssl_lib.experiments.registry import claim, experiment
from ssl_lib.scale import by_scale
from ssl_lib.train import TrainConfig, TrainResult, build_model, eval_images, evaluation_set, train

CHAPTER = "06_feature_decoupling_cifar"
AUGMENTATION_SETS = ("none", "crop", "crop_flip", "crop_color", "simclr")  # weakest to strongest
HIGHER_LAYERS = ("conv2", "conv3", "conv4", "conv5")  # the layers of the paper's Figure 4
SELECTIVITY_LAYERS = ("conv2", "conv3", "conv4", "conv5", "fc6", "fc7")
WITHOUT_COLOR, WITH_COLOR = "crop_flip", "simclr"  # the pair of Figure 4: they differ by colour only
FIRING_THRESHOLD = 0.5


def base_config(scale: str, seed: int = 0) -> TrainConfig:
    """The chapter's SimCLR run at ``scale``; every run of the chapter varies it.

    quick: the small AlexNet at 1/8 width (12-24-48-48-24 channels, fc 128), 40 training
    images per class, 5 epochs of batch 100 (20 steps), AdamW; evaluated on 50 training and 50 test images
    per class. full (aimed at one H100, about 2-3 minutes a run, estimated, not yet run on a GPU):
    the full-width small AlexNet (fc 4096) on all of CIFAR-10, 50 epochs of batch 512, SGD with
    momentum and 5 warm-up epochs, evaluated on all 50,000 / 10,000 images.
    """
    quick = TrainConfig(
        encoder="alexnet", encoder_kwargs={"width": 0.125, "fc_dim": 128}, head="mlp", proj_dim=64,
        augment="simclr", temperature=0.5, epochs=5, batch_size=100, optimizer="adamw", lr=2e-3,
        weight_decay=1e-4, train_per_class=40, eval_every=0, bank_per_class=50, test_per_class=50,
        seed=seed,
    )
    full = TrainConfig(
        encoder="alexnet", encoder_kwargs={"width": 1.0, "fc_dim": 4096}, head="mlp", proj_dim=128,
        augment="simclr", temperature=0.5, epochs=50, batch_size=512, optimizer="sgd", lr=0.12,
        momentum=0.9, weight_decay=5e-4, warmup_epochs=5, eval_every=0, seed=seed,
    )
    return by_scale(scale, quick=quick, full=full)


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


# ----------------------------------------------------------------------------------------------
# Figure 1: supervised versus contrastive features
# ----------------------------------------------------------------------------------------------

@experiment("decoupling_supervised_vs_contrastive", chapter=CHAPTER)
def decoupling_supervised_vs_contrastive(scale: str, seed: int):
    """Supervised and SimCLR features of the same AlexNet: class selectivity of the higher layers."""
    runs = {"supervised": train(supervised_config(scale, seed)),
            "contrastive": train(augmentation_configs(scale, seed, (WITH_COLOR,))[WITH_COLOR])}
    m: dict = {"layers": list(SELECTIVITY_LAYERS)}
    for kind, result in runs.items():
        test_x, test_y = _test_set(result)
        responses = firing.layer_responses(result.model.encoder, test_x, SELECTIVITY_LAYERS)
        selectivity, top_units, top_images = {}, [], []
        for layer, r in responses.items():
            s = firing.class_selectivity(r, test_y)
            selectivity[layer] = s.nan_to_num(0.0).tolist()
        top = responses["conv5"]
        s5 = firing.class_selectivity(top, test_y).nan_to_num(-1.0)
        top_units = s5.argsort(descending=True)[:5]
        top_images = firing.top_activating(top[:, top_units], k=8)
        m[kind] = {
            "knn": result.final_knn, "probe": result.final_probe,
            "selectivity": selectivity,
            "mean_selectivity": {layer: float(np.mean(v)) for layer, v in selectivity.items()},
            "top_units_conv5": top_units.tolist(), "top_images_conv5": top_images.tolist(),
            "preferred_class_conv5": firing.preferred_class(top, test_y)[top_units].tolist(),
            "train_s": result.wall_s,
        }
    sup, con = m["supervised"]["mean_selectivity"], m["contrastive"]["mean_selectivity"]
    claims = [claim(
        "supervised_more_class_selective",
        "The units of the representation (fc7) are more class-selective after supervised training "
        "than after contrastive training (mean selectivity index).",
        sup["fc7"] > con["fc7"], selectivity_supervised=sup["fc7"], selectivity_contrastive=con["fc7"])]
    return m, claims


# ----------------------------------------------------------------------------------------------
# Figure 3: representations under different augmentation sets
# ----------------------------------------------------------------------------------------------

def tsne_embedding(features: torch.Tensor, seed: int = 0, perplexity: float = 30.0) -> np.ndarray:
    """A 2-d t-SNE (scikit-learn, PCA initialisation, 500 iterations) of L2-normalised features
    (N, D) -> (N, 2). The exact gradient is faster than Barnes-Hut for the few thousand points
    the chapter embeds."""
    x = torch.nn.functional.normalize(features.float(), dim=1).cpu().numpy()
    perplexity = min(perplexity, (len(x) - 1) / 3)
    return TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed, max_iter=500,
                method="exact" if len(x) <= 3000 else "barnes_hut").fit_transform(x)


def class_separation(points: np.ndarray | torch.Tensor, labels, metric: str = "euclidean") -> float:
    """Silhouette score of the classes in ``points`` (N, D): in [-1, 1], higher is better separated."""
    points = points.cpu().numpy() if isinstance(points, torch.Tensor) else np.asarray(points)
    labels = labels.cpu().numpy() if isinstance(labels, torch.Tensor) else np.asarray(labels)
    return float(silhouette_score(points, labels, metric=metric))


@experiment("decoupling_augmentations", chapter=CHAPTER)
def decoupling_augmentations(scale: str, seed: int):
    """SimCLR under five augmentation sets: accuracy and t-SNE class separation of the features."""
    configs = augmentation_configs(scale, seed)
    tsne_per_class = by_scale(scale, quick=30, full=200)  # t-SNE of 300 / 2,000 test points
    m: dict = {"sets": list(AUGMENTATION_SETS)}
    for name, config in configs.items():
        result = train(config)
        test_x, test_y = _test_set(result)
        features = extract_features(result.model.encoder, test_x).cpu()
        keep = _per_class(test_y, tsne_per_class, seed)
        embedding = tsne_embedding(features[keep], seed=seed)
        m[name] = {
            "knn": result.final_knn, "probe": result.final_probe,
            "silhouette_tsne": class_separation(embedding, test_y[keep]),
            "silhouette_features": class_separation(
                torch.nn.functional.normalize(features, dim=1), test_y, metric="cosine"),
            "tsne": embedding.round(3).tolist(), "tsne_labels": test_y[keep].tolist(),
            "train_s": result.wall_s,
        }
    weak, strong = m["none"], m["simclr"]
    claims = [
        claim("weak_augmentation_lower_probe",
              "Without augmentation the linear-probe accuracy is lower than with the full recipe.",
              weak["probe"] < strong["probe"], probe_none=weak["probe"], probe_simclr=strong["probe"]),
        claim("weak_augmentation_less_separated",
              "Without augmentation the classes are less separated in the t-SNE of the test "
              "features than with the full recipe (silhouette of the 2-d embedding).",
              weak["silhouette_tsne"] < strong["silhouette_tsne"],
              silhouette_none=weak["silhouette_tsne"], silhouette_simclr=strong["silhouette_tsne"]),
        claim("color_distortion_raises_probe",
              "Adding colour distortion to crops raises the linear-probe accuracy.",
              m["crop_color"]["probe"] > m["crop"]["probe"],
              probe_crop=m["crop"]["probe"], probe_crop_color=m["crop_color"]["probe"]),
    ]
    return m, claims


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

@experiment("decoupling_sparsity", chapter=CHAPTER)
def decoupling_sparsity(scale: str, seed: int):
    """Colour distortion and the sparsity of firing in AlexNet layers conv2-conv5."""
    configs = augmentation_configs(scale, seed, (WITHOUT_COLOR, WITH_COLOR))
    models = {"without colour": train(configs[WITHOUT_COLOR]).model,
              "with colour": train(configs[WITH_COLOR]).model}
    random_model = build_model(configs[WITH_COLOR]).to(next(models["with colour"].parameters()).device)
    models["random init"] = random_model.eval()
    _, _, test_x, _ = eval_images(configs[WITH_COLOR], next(random_model.parameters()).device)
    m: dict = {"layers": list(HIGHER_LAYERS), "threshold": FIRING_THRESHOLD,
               "conditions": list(models), "pair": [WITHOUT_COLOR, WITH_COLOR]}
    for condition, model in models.items():
        responses = firing.layer_responses(model.encoder, test_x, HIGHER_LAYERS)
        summary = firing.sparsity_by_layer(responses, FIRING_THRESHOLD)
        m[condition] = {
            "firing_rate": [summary[layer]["firing_rate"] for layer in HIGHER_LAYERS],
            "hoyer": [summary[layer]["hoyer"] for layer in HIGHER_LAYERS],
            "dead_share": [summary[layer]["dead_share"] for layer in HIGHER_LAYERS],
            "unit_firing_rates": {layer: firing.firing_rate(r, FIRING_THRESHOLD).tolist()
                                  for layer, r in responses.items()},
        }
    without, with_ = m["without colour"], m["with colour"]
    rate_lower = [w < o for w, o in zip(with_["firing_rate"], without["firing_rate"])]
    hoyer_higher = [w > o for w, o in zip(with_["hoyer"], without["hoyer"])]
    evidence_rate = {f"rate_{layer}_{tag}": cond["firing_rate"][i] for i, layer in enumerate(HIGHER_LAYERS)
                     for tag, cond in (("without", without), ("with", with_))}
    evidence_hoyer = {f"hoyer_{layer}_{tag}": cond["hoyer"][i] for i, layer in enumerate(HIGHER_LAYERS)
                      for tag, cond in (("without", without), ("with", with_))}
    claims = [
        claim("color_lowers_firing_rate",
              "With colour distortion the units of every layer conv2-conv5 fire on a smaller share "
              f"of the test images (response above {FIRING_THRESHOLD:g} of the unit's maximum).",
              all(rate_lower), layers_sparser=sum(rate_lower), **evidence_rate),
        claim("color_raises_hoyer_sparsity",
              "With colour distortion the mean Hoyer sparsity of the units of every layer "
              "conv2-conv5 is higher.",
              all(hoyer_higher), layers_sparser=sum(hoyer_higher), **evidence_hoyer),
    ]
    return m, claims
