"""The prediction head in non-contrastive learning: the toy model of Wen & Li (NeurIPS 2022).

Wen & Li ask why BYOL and SimSiam do not collapse although a collapsed network minimises their
loss, and find the answer in the **prediction head** E. Their toy model, as built here:

* **data** (:func:`patch_data`): an input is P patches in R^d. Each patch carries the strong
  feature v1 (with probability ``p_feature``, strength ``alpha1``), else the weak feature v2
  (probability ``p_feature``, strength ``alpha2 < alpha1``), else Gaussian noise of standard
  deviation ``noise_std / sqrt(d)`` per coordinate. The sign of each feature is drawn once per
  input, so the patches of one input agree;
* **views** (:func:`patch_views`): complementary patch masks, x1 = D x and x2 = (I - D) x with
  D a diagonal Bernoulli(1/2) mask over the patches (:func:`ssl_lib.augment.bernoulli_mask`);
* **learner**: m neurons f_j(x) = Σ_p σ(<w_j, x_p>), by default with the linear σ(t) = t (the
  paper's is nonlinear; ``activation="cubic"`` gives σ(t) = t^3), with w_j(0) ~ N(0, I/d);
* **head**: ``none`` (E = I, no head), ``offdiag`` (E = I + off-diagonal entries trained with the
  smaller rate ``lr_head``, the paper's head) or ``linear`` (every entry trained);
* **loss** (:func:`head_loss`): each output coordinate is normalised over the batch, and the
  prediction Norm(E Norm(f(x1)))_j is pulled toward the stop-gradient target Norm(f(x2))_j,
  symmetrised over the two views.

What follows the paper and what does not is listed in :class:`ToyConfig`. The collapse measures
(spread, effective rank, singular values) are :mod:`ssl_lib.evaluate`'s; SimSiam's heads for
CIFAR-10 are :mod:`ssl_lib.models`'s.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from tqdm import tqdm

from ssl_lib.augment import bernoulli_mask
from ssl_lib.evaluate import effective_rank
from ssl_lib.runtime import seed_everything, single_thread

HEADS = ("none", "offdiag", "linear")
ACTIVATIONS = {
    "cubic": lambda t: t ** 3,
    "relu": torch.relu,
    "linear": lambda t: t,
}


@dataclass(frozen=True)
class ToyConfig:
    """The toy model's settings.

    Following the paper (Wen & Li 2022, Section 3, as summarised in the book's PAPERS notes):
    patches carrying a strong v1, a weak v2 or noise; complementary patch masks; m = 2 neurons
    summing an activation over patches; W(0) ~ N(0, I/d); E(0) = I with only the off-diagonal
    entries trained, at a smaller rate than W; normalised outputs; stop-gradient on the target.

    Our choices (the paper's analysis uses asymptotic sizes, d large, strengths polylog(d) apart):
    d = 16, P = 16, alpha1 = 1, alpha2 = 0.6, plain gradient descent on fresh batches,
    lr_head = lr / 2, per-coordinate batch normalisation of the outputs and of the prediction,
    and the linear activation: with the cubic one each neuron's feature is mostly decided by its
    initial weights, with or without the head (the search ``prediction_head_toy_search`` of
    :mod:`ssl_lib.experiments.prediction_head`, chapter 08).

    Attributes:
        head: ``none``, ``offdiag`` or ``linear`` (see :data:`HEADS`).
        m: number of neurons; d: patch dimension; patches: P, patches per input.
        alpha1, alpha2: strengths of v1 and v2 (0 < alpha2 < alpha1).
        p_feature: probability that a patch carries v1 (and, separately, v2); 2 p_feature <= 1.
        noise_std: noise norm of a noise patch (per coordinate noise_std / sqrt(d)).
        activation: one of :data:`ACTIVATIONS`.
        with_v1: False gives the control data without the strong feature: the patches that
            would carry v1 carry noise instead, everything else (and the random draws) unchanged.
        lr, lr_head: learning rates of W and of E; steps, batch: training length and pairs per
            step; record_every: steps between recorded measurements.
    """

    head: str = "offdiag"
    m: int = 2
    d: int = 16
    patches: int = 16
    alpha1: float = 1.0
    alpha2: float = 0.6
    p_feature: float = 0.2
    noise_std: float = 0.5
    activation: str = "linear"
    with_v1: bool = True
    lr: float = 0.5
    lr_head: float = 0.25
    steps: int = 500
    batch: int = 512
    record_every: int = 10

    def __post_init__(self) -> None:
        if self.head not in HEADS:
            raise ValueError(f"unknown head {self.head!r}; valid heads: {', '.join(HEADS)}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(
                f"unknown activation {self.activation!r}; valid activations: {', '.join(ACTIVATIONS)}")
        for name in ("lr", "lr_head"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
        if not (0 < self.alpha2 < self.alpha1 and math.isfinite(self.alpha1)):
            raise ValueError(
                f"feature strengths need 0 < alpha2 < alpha1 (v1 strong, v2 weak), "
                f"got alpha1={self.alpha1}, alpha2={self.alpha2}")
        if not 0 < self.p_feature <= 0.5:
            raise ValueError(f"p_feature must be in (0, 0.5] (two features share the patches), "
                             f"got {self.p_feature}")
        if self.noise_std < 0:
            raise ValueError(f"noise_std must be >= 0, got {self.noise_std}")
        for name in ("m", "d", "patches", "steps", "batch", "record_every"):
            if getattr(self, name) < (2 if name in ("m", "d", "patches", "batch") else 1):
                raise ValueError(f"{name} must be at least {2 if name in ('m', 'd', 'patches', 'batch') else 1}, "
                                 f"got {getattr(self, name)}")


def features(d: int) -> torch.Tensor:
    """The two orthonormal features as rows, (2, d): v1 = e_1 and v2 = e_2 (any orthonormal pair
    gives the same dynamics, since W(0) is rotation invariant)."""
    return torch.eye(2, d)


def patch_data(config: ToyConfig, n: int, generator: torch.Generator) -> torch.Tensor:
    """n inputs of the toy model, (n, P, d): each patch carries ±alpha1 v1, ±alpha2 v2 or noise,
    with one sign per feature per input (v1's patches carry noise when ``config.with_v1`` is False)."""
    v = features(config.d)
    kind = torch.rand(n, config.patches, generator=generator)
    signs = torch.randint(0, 2, (n, 2), generator=generator).float() * 2 - 1
    x = config.noise_std / math.sqrt(config.d) * torch.randn(n, config.patches, config.d, generator=generator)
    carries1 = (kind < config.p_feature).unsqueeze(-1)
    carries2 = ((kind >= config.p_feature) & (kind < 2 * config.p_feature)).unsqueeze(-1)
    if config.with_v1:
        x = torch.where(carries1, config.alpha1 * signs[:, 0, None, None] * v[0], x)
    return torch.where(carries2, config.alpha2 * signs[:, 1, None, None] * v[1], x)


def patch_views(x: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Two views from complementary patch masks: x1 = D x, x2 = (I - D) x, D ~ Bernoulli(1/2) per
    patch. x: (n, P, d); returns two tensors of the same shape."""
    mask = bernoulli_mask((x.shape[0], x.shape[1], 1), 0.5, generator)
    return mask * x, (1 - mask) * x


def neurons(w: torch.Tensor, x: torch.Tensor, activation: str = "cubic") -> torch.Tensor:
    """f_j(x) = Σ_p σ(<w_j, x_p>) for each neuron. w: (m, d), x: (n, P, d); returns (n, m)."""
    return ACTIVATIONS[activation](torch.einsum("npd,md->npm", x, w)).sum(dim=1)


def batch_norm(f: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Each column of f (n, m) centred and scaled to unit variance over the batch."""
    centred = f - f.mean(dim=0)
    return centred / (centred.pow(2).mean(dim=0).sqrt() + eps)


def head_matrix(off: torch.Tensor, head: str) -> torch.Tensor:
    """E from its trained entries: I (``none``), I + off-diagonal part of ``off`` (``offdiag``),
    or ``off`` itself (``linear``, initialised at I). off: (m, m)."""
    if head == "none":
        return torch.eye(off.shape[0])
    if head == "offdiag":
        return torch.eye(off.shape[0]) + off * (1 - torch.eye(off.shape[0]))
    return off


def head_loss(f1: torch.Tensor, f2: torch.Tensor, e: torch.Tensor) -> torch.Tensor:
    """The symmetrised non-contrastive loss with a head E and stop-gradient on the target:

    L = 1/2 Σ_j mean_batch (Norm(E Norm f1)_j - sg Norm(f2)_j)^2 / 2 + (1 <-> 2),

    where Norm normalises each coordinate over the batch. f1, f2: (n, m); e: (m, m).
    """
    def one_side(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        prediction = batch_norm(batch_norm(a) @ e.T)
        return (prediction - batch_norm(b).detach()).pow(2).mean(dim=0).sum() / 2
    return (one_side(f1, f2) + one_side(f2, f1)) / 2


def correlations(w: torch.Tensor) -> torch.Tensor:
    """<w_j, v_l> / ||w_j|| for each neuron j and feature l, (m, 2)."""
    return (w / w.norm(dim=1, keepdim=True)) @ features(w.shape[1]).T


def train_toy(config: ToyConfig, seed: int, progress: bool = False) -> dict:
    """Train the toy model; return its record over training.

    Returns a dict with ``step`` (R,), ``corr`` (R, m, 2), the normalised <w_j, v_l>;
    ``projection`` (R, m, 2), the raw <w_j, v_l> (what the gradient has added along v_l);
    ``offdiag`` (R, m, m), E minus its diagonal; ``loss`` (R,); ``effective_rank`` (R,), of the
    covariance of the normalised outputs on a fixed evaluation batch; and the final ``w``, ``e``.
    """
    # Tiny tensors: on a busy CPU one thread is several times faster; on an idle two-core
    # machine it costs about a fifth (bench/bench_prediction_head.py).
    with single_thread():
        return _train_toy(config, seed, progress)


def _train_toy(config: ToyConfig, seed: int, progress: bool) -> dict:
    g = seed_everything(seed)
    w = (torch.randn(config.m, config.d, generator=g) / math.sqrt(config.d)).requires_grad_()
    off = torch.eye(config.m).requires_grad_(config.head != "none")
    x_eval = patch_data(config, 1024, g)
    record = {k: [] for k in ("step", "corr", "projection", "offdiag", "loss", "effective_rank")}

    def measure(step: int, loss: float) -> None:
        with torch.no_grad():
            e = head_matrix(off, config.head)
            f = neurons(w, x_eval, config.activation)
            record["step"].append(step)
            record["corr"].append(correlations(w))
            record["projection"].append(w @ features(config.d).T)
            record["offdiag"].append(e - torch.diag(torch.diag(e)))
            record["loss"].append(loss)
            record["effective_rank"].append(effective_rank(batch_norm(f)))

    for step in tqdm(range(config.steps + 1), desc=f"toy model, head={config.head}",
                     disable=not progress, mininterval=1.0):
        x1, x2 = patch_views(patch_data(config, config.batch, g), g)
        e = head_matrix(off, config.head)
        loss = head_loss(neurons(w, x1, config.activation), neurons(w, x2, config.activation), e)
        if step % config.record_every == 0 or step == config.steps:
            measure(step, loss.item())
        if step == config.steps:
            break
        if not math.isfinite(loss.item()):
            raise FloatingPointError(f"the toy loss became {loss.item()} at step {step}; lower lr={config.lr}")
        loss.backward()
        with torch.no_grad():
            w -= config.lr * w.grad
            w.grad = None
            if off.grad is not None:
                off -= config.lr_head * off.grad
                off.grad = None
    out = {k: torch.stack(v) if isinstance(v[0], torch.Tensor) else torch.tensor(v) for k, v in record.items()}
    out["w"], out["e"] = w.detach(), head_matrix(off, config.head).detach()
    return out


LEARNED = 0.7
"""A neuron has learned feature v_l when its weight on v_l (normalised or raw) reaches this."""


def learned_features(corr: torch.Tensor, threshold: float = LEARNED) -> list[int | None]:
    """For each neuron, the feature (1 or 2) it has learned, |<w_j, v_l>| / ||w_j|| >= threshold,
    or None. corr: (m, 2)."""
    out = []
    for row in corr.abs():
        best = int(row.argmax())
        out.append(best + 1 if row[best] >= threshold else None)
    return out


def time_to_learn(record: dict, neuron: int, feature: int, threshold: float = LEARNED) -> int | None:
    """The first recorded step at which neuron ``neuron`` (0-based) has |<w_j, v_l>| >= threshold
    for feature l = ``feature`` (1 or 2), or None if it never does. It reads the raw weight
    ``record["projection"]`` (R, m, 2), not the normalised correlation: the raw weight along v_l
    grows only by gradient steps along v_l, whereas the normalised one also grows when the neuron
    loses its weight on the other feature. With ||w_j(0)|| about 1, 0.7 is the weight a unit
    vector has on a feature at 45 degrees from it."""
    projection = torch.as_tensor(record["projection"])
    if feature not in (1, 2):
        raise ValueError(f"feature must be 1 (v1) or 2 (v2), got {feature!r}")
    if not 0 <= neuron < projection.shape[1]:
        raise ValueError(f"neuron must be a 0-based index below m = {projection.shape[1]}, got {neuron!r}")
    reached = (projection[:, neuron, feature - 1].abs() >= threshold).nonzero()
    return int(torch.as_tensor(record["step"])[reached[0, 0]]) if len(reached) else None
