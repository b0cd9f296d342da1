"""Training objectives of the CIFAR-10 engine: how a batch of views becomes a loss.

Every objective the book trains with is registered here, on import of this module (which the
engine, :mod:`ssl_lib.train`, imports), so ``TrainConfig(objective=...)`` accepts any of them
whatever the caller imported first:

* ``simclr``: NT-Xent between the projections of two views (Chen et al. 2020, eq. 1);
* ``align_uniform``: λ_a L_align + λ_u L_uniform on the normalised projections (Wang & Isola 2020);
* ``sphere_supervised``: cross-entropy of a linear classifier on z/‖z‖, the supervised encoder
  of chapters 06 and 07 (one view);
* ``simsiam_head``: SimSiam (Chen & He 2021) with a linear prediction head (Wen & Li 2022).

An objective's ``options`` validator turns ``TrainConfig.objective_options`` into the settings
the loss reads, and raises on a misspelt or invalid option.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import torch
import torch.nn.functional as F
from torch import nn

from ssl_lib import hypersphere as hs
from ssl_lib import models
from ssl_lib.losses import info_nce

LossFn = Callable[[models.SSLModel, torch.Tensor, "torch.Tensor | None", torch.Tensor, Any], torch.Tensor]
ExtrasFn = Callable[[Any, int], "dict[str, nn.Module]"]
OptionsFn = Callable[..., "dict[str, Any]"]


def no_options() -> dict[str, Any]:
    """The options of an objective that has none: any keyword is refused by Python itself."""
    return {}


@dataclass(frozen=True)
class Objective:
    """A training objective.

    Attributes:
        name: its registered name, used in :class:`ssl_lib.train.TrainConfig`.
        loss: ``loss(model, view1, view2, labels, config) -> scalar``; ``view2`` is None when
            ``views == 1``. ``model(x)`` returns ``(h, z)``; modules of ``extras`` are in
            ``model.extras``.
        views: how many augmented views of each image a step needs (1 or 2).
        extras: ``extras(config, z_dim) -> {name: module}``, further trainable modules
            (a SimSiam predictor, a classifier), or None.
        options: ``options(**objective_options) -> dict``: validates the options and fills in
            their defaults; a misspelt option raises ``TypeError``.
    """

    name: str
    loss: LossFn
    views: int = 2
    extras: ExtrasFn | None = None
    options: OptionsFn = no_options


OBJECTIVES: dict[str, Objective] = {}


def register_objective(name: str, loss: LossFn, views: int = 2, extras: ExtrasFn | None = None,
                       options: OptionsFn = no_options) -> Objective:
    """Register a training objective under ``name`` (see :class:`Objective`) and return it."""
    if name in OBJECTIVES:
        raise ValueError(f"an objective called {name!r} is already registered")
    if views not in (1, 2):
        raise ValueError(f"views must be 1 or 2, got {views}")
    OBJECTIVES[name] = Objective(name, loss, views, extras, options)
    return OBJECTIVES[name]


def check_options(name: str, options: dict[str, Any]) -> dict[str, Any]:
    """The validated options of objective ``name``; a ValueError names a wrong or unknown option."""
    try:
        return OBJECTIVES[name].options(**options)
    except TypeError as error:
        raise ValueError(f"objective_options {options!r} do not fit the objective {name!r}: {error}") from None


# ----------------------------------------------------------------------------------------------
# SimCLR
# ----------------------------------------------------------------------------------------------

def simclr_loss(model: models.SSLModel, view1: torch.Tensor, view2: torch.Tensor,
                labels: torch.Tensor, config) -> torch.Tensor:
    """SimCLR: NT-Xent (:func:`ssl_lib.losses.info_nce`, Chen et al. 2020, eq. 1) between the
    projections z of the views, in float32.

    Both views go through the network as one batch of 2N, so batch norm sees them together.
    """
    _, z = model(torch.cat([view1, view2]))
    z1, z2 = z.float().chunk(2)
    return info_nce(z1, z2, config.temperature)


# ----------------------------------------------------------------------------------------------
# Alignment and uniformity (Wang & Isola 2020), and the supervised encoder on the sphere
# ----------------------------------------------------------------------------------------------

def align_uniform_options(align_weight: float = 1.0, uniform_weight: float = 1.0,
                          alpha: float = 2, t: float = 2) -> dict:
    """Validated ``objective_options`` of the ``align_uniform`` objective."""
    hs.check_weight(align_weight, "align_weight"), hs.check_weight(uniform_weight, "uniform_weight")
    hs._check_positive(alpha, "alpha"), hs._check_positive(t, "t")
    return {"align_weight": float(align_weight), "uniform_weight": float(uniform_weight),
            "alpha": alpha, "t": t}


def align_uniform_train_loss(model, view1, view2, labels, config) -> torch.Tensor:
    """λ_a L_align + λ_u L_uniform on the normalised projections (:func:`hypersphere.align_uniform_objective`)."""
    _, z = model(torch.cat([view1, view2]))
    z1, z2 = F.normalize(z.float(), dim=1).chunk(2)
    return hs.align_uniform_objective(z1, z2, **align_uniform_options(**config.objective_options))


def sphere_supervised_loss(model, view1, view2, labels, config) -> torch.Tensor:
    """Cross-entropy of a linear classifier on the normalised output z/‖z‖ (the paper's supervised
    encoder, whose features therefore live on the sphere too)."""
    _, z = model(view1)
    return F.cross_entropy(model.extras["classifier"](F.normalize(z.float(), dim=1)), labels)


def _classifier(config, z_dim: int) -> dict[str, nn.Module]:
    return {"classifier": nn.Linear(z_dim, 10)}


# ----------------------------------------------------------------------------------------------
# SimSiam with a linear prediction head (Wen & Li 2022)
# ----------------------------------------------------------------------------------------------

def simsiam_options(predictor: str = "offdiag", head_lr_ratio: float = 1.0) -> dict:
    """Validated ``objective_options`` of ``simsiam_head``: the head variant
    (:data:`ssl_lib.models.PREDICTORS`) and its learning rate over the encoder's."""
    models.check_predictor(predictor, head_lr_ratio)
    return {"predictor": predictor, "head_lr_ratio": head_lr_ratio}


def _predictor_extras(config, z_dim: int) -> dict[str, nn.Module]:
    options = simsiam_options(**config.objective_options)
    return {"predictor": models.build_predictor(options["predictor"], z_dim, options["head_lr_ratio"])}


def simsiam_loss(model, view1: torch.Tensor, view2: torch.Tensor, labels: torch.Tensor, config) -> torch.Tensor:
    """SimSiam (Chen & He 2021) with the head variant of ``config.objective_options``:
    L = -(cos(p1, sg z2) + cos(p2, sg z1)) / 2, p = E z (or SimSiam's MLP predictor). Both views
    pass as one batch."""
    _, z = model(torch.cat([view1, view2]))
    z = z.float()
    p = model.extras["predictor"](z)
    z1, z2 = z.detach().chunk(2)
    p1, p2 = p.chunk(2)
    return -(F.cosine_similarity(p1, z2, dim=1).mean() + F.cosine_similarity(p2, z1, dim=1).mean()) / 2


register_objective("simclr", simclr_loss)
register_objective("align_uniform", align_uniform_train_loss, options=align_uniform_options)
register_objective("sphere_supervised", sphere_supervised_loss, views=1, extras=_classifier)
register_objective("simsiam_head", simsiam_loss, extras=_predictor_extras, options=simsiam_options)
