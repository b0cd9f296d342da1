r"""The one-layer contrastive learner of Wen & Li (2021) and the measurements of what it learns.

The network is :math:`f(x) = (h_1(x), \dots, h_m(x))` with the **symmetric ReLU**

.. math:: h_i(x) = \mathrm{ReLU}(\langle w_i, x\rangle - b_i) - \mathrm{ReLU}(-\langle w_i, x\rangle - b_i),

which is zero while :math:`|\langle w_i, x\rangle| \le b_i` and shifts the input toward zero by
:math:`b_i` above it (soft thresholding). With :math:`b_i = 0` it is linear. The weights start
small and Gaussian and are trained by SGD on :func:`ssl_lib.losses.info_nce` with in-batch
negatives; the thresholds are not trained but follow a schedule, :math:`b_i(t) = \beta(t)
\lVert w_i(t)\rVert` (see :func:`threshold_schedule`).

Measurements take the weights W (m, d1) and the dictionary M (d1, d):
:func:`atom_alignment`, :func:`effective_atoms`, :func:`dense_share`, :func:`atoms_learned`
and :func:`linear_probe_r2`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from tqdm import tqdm

from ssl_lib.losses import info_nce
from ssl_lib.runtime import single_thread
from ssl_lib.sparse_coding import Augmentation, SparseCoding

ALIGNED = 1 / math.sqrt(2)
"""A neuron is aligned with atom j when |<w_i, M_j>| / ||w_i|| >= 1/√2: more than half of its energy."""


def symmetric_relu(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """ReLU(a - b) - ReLU(-a - b): pre-activations a (N, m), thresholds b (m,) >= 0."""
    return F.relu(a - b) - F.relu(-a - b)


def features(W: torch.Tensor, b: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """f(x) = (h_1(x), ..., h_m(x)) for inputs x (N, d1), weights W (m, d1), thresholds b (m,): (N, m)."""
    return symmetric_relu(x @ W.T, b)


def threshold_schedule(step: int, steps: int, beta_max: float, ramp: tuple[float, float] = (0.2, 0.6)
                       ) -> float:
    r"""β(t): 0 until the fraction ``ramp[0]`` of training, rising linearly to ``beta_max`` at ``ramp[1]``.

    The thresholds are :math:`b_i(t) = \beta(t) \lVert w_i(t) \rVert`, so a neuron fires when the
    input's component along :math:`w_i / \lVert w_i \rVert` exceeds β: with β near 1/2 a neuron
    aligned with atom j fires when :math:`z_j = \pm 1` and not on noise. Starting at zero and
    rising follows the paper's analysis, in which the biases start at 0 and grow during training.
    """
    start, end = ramp
    fraction = step / max(steps, 1)
    if fraction <= start:
        return 0.0
    if fraction >= end or end <= start:
        return float(beta_max)
    return float(beta_max) * (fraction - start) / (end - start)


@dataclass(frozen=True)
class LearnerConfig:
    """The learner's sizes and training settings.

    Attributes:
        m: number of neurons, >= 1 (the paper takes m = d^1.01, a little more than d).
        steps: SGD steps.
        batch: inputs per step; each has one positive and 2·batch − 2 in-batch negatives.
        lr: SGD learning rate.
        momentum: SGD momentum (0 for plain SGD).
        temperature: τ of the InfoNCE loss.
        init_std: σ0, the standard deviation of each initial weight (small: σ0·√d1 << 1).
        beta_max: the final threshold level β of :func:`threshold_schedule` (0: a linear learner).
        ramp: the fractions of training where β starts rising and where it reaches beta_max.
        record_every: steps between two records of the measurements.
    """

    m: int = 64
    steps: int = 600
    batch: int = 128
    lr: float = 0.25
    momentum: float = 0.9
    temperature: float = 0.3
    init_std: float = 0.01
    beta_max: float = 0.4
    ramp: tuple[float, float] = (0.2, 0.6)
    record_every: int = 50

    def __post_init__(self) -> None:
        for name in ("m", "steps", "batch", "record_every"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
        if self.batch < 2:
            raise ValueError(f"batch must be >= 2 (in-batch negatives), got {self.batch}")
        for name in ("lr", "temperature", "init_std"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
        if not 0 <= self.momentum < 1:
            raise ValueError(f"momentum must be in [0, 1), got {self.momentum!r}")
        if not (math.isfinite(self.beta_max) and self.beta_max >= 0):
            raise ValueError(f"beta_max must be a finite number >= 0, got {self.beta_max!r}")
        if len(self.ramp) != 2 or not 0 <= self.ramp[0] <= self.ramp[1] <= 1:
            raise ValueError(f"ramp must be (start, end) with 0 <= start <= end <= 1, got {self.ramp!r}")


@dataclass
class Trained:
    """A trained learner: final weights W (m, d1) and thresholds b (m,), its initial weights and its history.

    ``history`` maps each measurement name to a list with one value per record; ``history["step"]``
    holds the steps.
    """

    W: torch.Tensor
    b: torch.Tensor
    W0: torch.Tensor
    history: dict[str, list[float]] = field(default_factory=dict)

    def f(self, x: torch.Tensor) -> torch.Tensor:
        """The trained features f(x), shape (N, m)."""
        return features(self.W, self.b, x)


def train_one_layer(data: SparseCoding, augmentation: Augmentation, config: LearnerConfig = LearnerConfig(),
                    generator: torch.Generator | None = None, progress: bool = False,
                    device: torch.device | str = "cpu") -> Trained:
    r"""Train :math:`f` by SGD on InfoNCE over positive pairs ``augmentation(x)`` of fresh inputs.

    Each step draws ``config.batch`` inputs from ``data``, makes their two views, and takes one
    SGD step on ``info_nce(f(x1), f(x2), τ)`` with respect to W, the thresholds held at
    :math:`b_i = \beta(t)\lVert w_i \rVert` (no gradient through b). Every ``record_every`` steps
    it records the loss, β and the measurements of :func:`weight_measurements`.
    """
    generator = generator if generator is not None else torch.Generator().manual_seed(0)
    if torch.device(device).type != "cpu":
        return _train(data, augmentation, config, generator, progress, device)
    with single_thread():  # the matrices are small: extra threads cost more than they bring
        return _train(data, augmentation, config, generator, progress, device)


def _train(data: SparseCoding, augmentation: Augmentation, config: LearnerConfig,
           generator: torch.Generator, progress: bool, device: torch.device | str) -> Trained:
    M = data.M.to(device)
    W0 = config.init_std * torch.randn(config.m, data.d1, generator=generator)
    W = W0.clone().to(device).requires_grad_(True)
    optimizer = torch.optim.SGD([W], lr=config.lr, momentum=config.momentum)
    history: dict[str, list[float]] = {}
    for step in tqdm(range(config.steps + 1), desc="one-layer learner", disable=not progress, ascii=True):
        beta = threshold_schedule(step, config.steps, config.beta_max, config.ramp)
        x, _, _ = data.sample(config.batch, generator)
        x1, x2 = augmentation(x, generator)
        b = beta * W.detach().norm(dim=1)
        loss = info_nce(features(W, b, x1.to(device)), features(W, b, x2.to(device)), config.temperature)
        if step % config.record_every == 0 or step == config.steps:
            record = {"step": step, "loss": loss.item(), "beta": beta}
            record.update({k: v.mean().item() if v.ndim else v.item()
                           for k, v in weight_measurements(W.detach(), M).items()})
            for key, value in record.items():
                history.setdefault(key, []).append(value)
        if step == config.steps:
            break
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if not torch.isfinite(W).all():
            raise FloatingPointError(f"the one-layer learner's weights became non-finite at step {step + 1} "
                                     f"(the loss was {loss.item():.4g}); lower lr={config.lr}")
    W = W.detach()
    return Trained(W.cpu(), (beta * W.norm(dim=1)).cpu(), W0, history)


# --- Measurements --------------------------------------------------------------------------


def atom_coefficients(W: torch.Tensor, M: torch.Tensor) -> torch.Tensor:
    r"""|<w_i, M_j>| / ||w_i||: how much of neuron i points along atom j, shape (m, d)."""
    _check_weights(W, M)
    return (W @ M).abs() / W.norm(dim=1, keepdim=True).clamp_min(1e-12)


def atom_alignment(W: torch.Tensor, M: torch.Tensor) -> torch.Tensor:
    r"""The alignment of each neuron with its best atom, :math:`\max_j |\langle w_i, M_j\rangle| / \lVert w_i\rVert`, shape (m,).

    1 for a neuron that is exactly one atom; about :math:`\sqrt{2 \log d / d_1}` for a random one.
    """
    return atom_coefficients(W, M).max(dim=1).values


def effective_atoms(W: torch.Tensor, M: torch.Tensor) -> torch.Tensor:
    r"""How many atoms carry :math:`w_i`: the participation ratio of its atom coefficients, shape (m,).

    With :math:`c_{ij} = \langle w_i, M_j \rangle`, it is :math:`(\sum_j c_{ij}^2)^2 / \sum_j c_{ij}^4`:
    1 when a single atom carries the in-span part of :math:`w_i`, k when k atoms carry it equally,
    about d/3 for a random direction.
    """
    c2 = (W @ M) ** 2
    return c2.sum(1) ** 2 / (c2**2).sum(1).clamp_min(1e-30)


def dense_share(W: torch.Tensor, M: torch.Tensor) -> torch.Tensor:
    r"""The share of each :math:`\lVert w_i\rVert^2` outside span(M): :math:`\lVert (I - MM^\top) w_i\rVert^2 / \lVert w_i\rVert^2`, shape (m,).

    About 1 - d/d1 for a random direction; 0 for a neuron inside the span of the atoms.
    """
    _check_weights(W, M)
    inside = ((W @ M) ** 2).sum(1)
    total = (W**2).sum(1).clamp_min(1e-30)
    return 1 - inside / total


def atoms_learned(W: torch.Tensor, M: torch.Tensor, threshold: float = ALIGNED) -> torch.Tensor:
    """The fraction of atoms j aligned with at least one neuron (|<w_i, M_j>| / ||w_i|| >= threshold)."""
    return (atom_coefficients(W, M) >= threshold).any(dim=0).float().mean()


def weight_measurements(W: torch.Tensor, M: torch.Tensor) -> dict[str, torch.Tensor]:
    """Every weight measurement at once: per neuron (m,) tensors and the scalar atom coverage."""
    alignment = atom_alignment(W, M)
    return {
        "alignment": alignment,
        "aligned_fraction": (alignment >= ALIGNED).float().mean(),
        "effective_atoms": effective_atoms(W, M),
        "dense_share": dense_share(W, M),
        "atoms_learned": atoms_learned(W, M),
        "weight_norm": W.norm(dim=1),
    }


def linear_probe_r2(train_features: torch.Tensor, train_z: torch.Tensor, test_features: torch.Tensor,
                    test_z: torch.Tensor, alpha: float = 1e-3) -> float:
    r"""How well a linear probe reads the latent z from features: held-out :math:`R^2` of ridge regression.

    A ridge regression (sklearn, standardised features, penalty ``alpha``) predicts all d
    coordinates of z from the features; the score is the coefficient of determination on the
    test set averaged over the coordinates (1: z read perfectly, 0: no better than its mean).

    Args:
        train_features: (N, m); train_z: (N, d); test_features: (N', m); test_z: (N', d).
    """
    from sklearn.linear_model import Ridge
    from sklearn.metrics import r2_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    for name, feats, z in (("train", train_features, train_z), ("test", test_features, test_z)):
        if feats.ndim != 2 or z.ndim != 2 or feats.shape[0] != z.shape[0]:
            raise ValueError(f"{name}_features must be (N, m) and {name}_z (N, d), got "
                             f"{tuple(feats.shape)} and {tuple(z.shape)}")
    probe = make_pipeline(StandardScaler(), Ridge(alpha=alpha))
    probe.fit(train_features.double().numpy(), train_z.double().numpy())
    predicted = probe.predict(test_features.double().numpy())
    return float(r2_score(test_z.double().numpy(), predicted))


def _check_weights(W: torch.Tensor, M: torch.Tensor) -> None:
    if W.ndim != 2 or M.ndim != 2 or W.shape[1] != M.shape[0]:
        raise ValueError(f"W must be (m, d1) and M (d1, d) with the same d1, got {tuple(W.shape)} "
                         f"and {tuple(M.shape)}")
