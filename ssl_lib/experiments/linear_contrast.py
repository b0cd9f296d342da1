"""Experiments of the chapter on the linear theory of contrast (Ji, Deng, Nakada, Zou & Zhang 2021).

All on synthetic spiked-covariance data (:mod:`ssl_lib.linear_theory`). Each experiment compares
contrastive learning with random masking (trained, and its closed form: the top eigenvectors of
the sample covariance with its diagonal deleted) against PCA, the optimum of a linear
autoencoder, by the subspace error ||sin Θ(U, U*)||_F, and checks the paper's claims.
"""

from __future__ import annotations

import functools
from statistics import mean

import torch
from tqdm import tqdm

from ssl_lib import linear_theory as lt
from ssl_lib.experiments.claims import claim
from ssl_lib.experiments.registry import experiment
from ssl_lib.runtime import seed_everything, single_thread
from ssl_lib.scale import by_scale

CHAPTER = "05_linear_contrast"


def _on_one_thread(function):
    """Run an experiment under :func:`ssl_lib.runtime.single_thread` (its matrices are tiny)."""
    @functools.wraps(function)
    def wrapped(*args, **kwargs):
        with single_thread():
            return function(*args, **kwargs)
    return wrapped


def settings(scale: str) -> dict:
    """The sizes of every experiment of the chapter at ``scale`` (``quick`` for CPUs, ``full`` for a GPU)."""
    return by_scale(
        scale,
        quick=dict(d=50, r=5, signal_var=1.0, noise_var=1.0, heteroskedasticity=20.0,
                   n_grid=[250, 500, 1000, 2000, 4000, 8000, 16000], n_trained=[500, 2000, 8000],
                   repeats=3, steps=300, batch_size=1024, lr=0.1, reg=0.1, ae_steps=250,
                   n_fixed=2000, d_grid=[20, 40, 80, 160], r_grid=[1, 2, 4, 8, 12],
                   kappa_grid=[1, 2, 5, 10, 20, 50, 100], n_down=500, n_test=5000,
                   label_weights=[0.0, 0.5, 0.9, 0.99, 0.999, 1.0], n_labelled=1000),
        full=dict(d=100, r=10, signal_var=1.0, noise_var=1.0, heteroskedasticity=20.0,
                  n_grid=[250, 500, 1000, 2000, 4000, 8000, 16000, 32000, 64000],
                  n_trained=[500, 2000, 8000, 32000], repeats=10, steps=2000, batch_size=4096,
                  lr=0.1, reg=0.1, ae_steps=1000, n_fixed=4000, d_grid=[25, 50, 100, 200, 400],
                  r_grid=[1, 2, 5, 10, 20, 30], kappa_grid=[1, 2, 5, 10, 20, 50, 100, 200],
                  n_down=500, n_test=20000, label_weights=[0.0, 0.5, 0.9, 0.99, 0.999, 0.9999, 1.0],
                  n_labelled=2000),
    )


def _model(s: dict, g: torch.Generator, **overrides) -> lt.SpikedCovarianceModel:
    keys = ("d", "r", "signal_var", "noise_var", "heteroskedasticity")
    args = {k: overrides.get(k, s[k]) for k in keys}
    return lt.spiked_covariance_model(generator=g, **args)


def _errors(model: lt.SpikedCovarianceModel, n: int, g: torch.Generator) -> tuple[float, float]:
    """(PCA error, diagonal-deleted error) on n fresh samples of ``model``."""
    x, _ = model.sample(n, g)
    return (lt.subspace_error(lt.pca_subspace(x, model.r), model.U).item(),
            lt.subspace_error(lt.diagonal_deleted_subspace(x, model.r), model.U).item())


def _population_errors(model: lt.SpikedCovarianceModel) -> tuple[float, float]:
    """(PCA, contrastive) errors with the exact covariance: the n -> infinity limits (the biases)."""
    cov = model.covariance()
    return (lt.subspace_error(lt.top_eigenvectors(cov, model.r), model.U).item(),
            lt.subspace_error(lt.top_eigenvectors(lt.contrastive_population_matrix(cov), model.r), model.U).item())


def _n_curve(s: dict, heteroskedasticity: float, g: torch.Generator, progress: str) -> dict:
    """Errors of every method along the n grid for one noise setting (averaged over repeats)."""
    pca, cl = {n: [] for n in s["n_grid"]}, {n: [] for n in s["n_grid"]}
    models = [_model(s, g, heteroskedasticity=heteroskedasticity) for _ in range(s["repeats"])]
    for model in models:
        for n in s["n_grid"]:
            e_pca, e_cl = _errors(model, n, g)
            pca[n].append(e_pca)
            cl[n].append(e_cl)
    trained, autoencoder, trained_vs_closed = [], [], []
    model = models[0]
    for n in tqdm(s["n_trained"], desc=progress, ascii=True):
        x, _ = model.sample(n, g)
        W, _ = lt.train_linear_contrastive(x, model.r, reg=s["reg"], steps=s["steps"],
                                           batch_size=s["batch_size"], lr=s["lr"], generator=g)
        W_ae, _ = lt.train_linear_autoencoder(x, model.r, steps=s["ae_steps"], generator=g)
        trained.append(lt.subspace_error(W.T, model.U).item())
        autoencoder.append(lt.subspace_error(W_ae.T, model.U).item())
        trained_vs_closed.append(lt.subspace_error(W.T, lt.diagonal_deleted_subspace(x, model.r)).item())
    populations = [_population_errors(m) for m in models]
    return {
        "n": s["n_grid"],
        "pca": [mean(pca[n]) for n in s["n_grid"]],
        "contrastive_closed_form": [mean(cl[n]) for n in s["n_grid"]],
        "n_trained": s["n_trained"],
        "contrastive_trained": trained,
        "autoencoder_trained": autoencoder,
        "trained_vs_closed_form": trained_vs_closed,
        "pca_population": mean(p for p, _ in populations),
        "contrastive_population": mean(c for _, c in populations),
    }


@experiment("linear_contrast_n_sweep", chapter=CHAPTER)
@_on_one_thread
def linear_contrast_n_sweep(scale: str, seed: int):
    """Subspace error against n: contrast keeps improving under heteroskedastic noise, PCA stalls."""
    g = seed_everything(seed)
    s = settings(scale)
    het = _n_curve(s, s["heteroskedasticity"], g, "trained, heteroskedastic")
    homo = _n_curve(s, 1.0, g, "trained, homoskedastic")
    n = s["n_grid"]
    i_ref = n.index(n[-1] // 8)
    pca_ratio = het["pca"][-1] / het["pca"][i_ref]
    cl_ratio = het["contrastive_closed_form"][-1] / het["contrastive_closed_form"][i_ref]
    gap = max(abs(a - b) for a, b in zip(homo["pca"], homo["contrastive_closed_form"]))
    measurements = {"settings": s, "heteroskedastic": het, "homoskedastic": homo}
    claims = [
        claim("contrast_beats_pca",
              "With heteroskedastic noise, contrastive learning's subspace error is clearly below PCA's "
              "(at most half of it at the largest n, closed form and trained).",
              het["contrastive_closed_form"][-1] < 0.5 * het["pca"][-1]
              and het["contrastive_trained"][-1] < 0.5 * het["pca"][n.index(s["n_trained"][-1])],
              contrastive=het["contrastive_closed_form"][-1], contrastive_trained=het["contrastive_trained"][-1],
              pca=het["pca"][-1]),
        claim("contrast_keeps_falling",
              f"With heteroskedastic noise, contrastive learning's error keeps falling with n: from "
              f"n = {n[i_ref]} to {n[-1]} it drops below 0.6 of its value.",
              cl_ratio < 0.6, error_ratio=cl_ratio),
        claim("pca_stalls",
              f"With heteroskedastic noise, PCA's error stalls: from n = {n[i_ref]} to {n[-1]} it stays "
              "above 0.85 of its value, near its n -> infinity bias.",
              pca_ratio > 0.85, error_ratio=pca_ratio, pca_population=het["pca_population"]),
        claim("agree_homoskedastic",
              "With homoskedastic noise, contrastive learning and PCA agree: their errors differ by less "
              "than 0.1 at every n.",
              gap < 0.1, largest_difference=gap),
        claim("training_reaches_closed_form",
              "The trained linear contrastive model spans nearly the diagonal-deleted closed form "
              "(subspace distance below 0.25 at every trained n, both noise settings).",
              max(het["trained_vs_closed_form"] + homo["trained_vs_closed_form"]) < 0.25,
              largest_distance=max(het["trained_vs_closed_form"] + homo["trained_vs_closed_form"])),
    ]
    return measurements, claims


@experiment("linear_contrast_sweeps", chapter=CHAPTER)
@_on_one_thread
def linear_contrast_sweeps(scale: str, seed: int):
    """Subspace error against d, r and the heteroskedasticity at a fixed n (closed forms)."""
    g = seed_everything(seed)
    s = settings(scale)
    grids = {"d": s["d_grid"], "r": s["r_grid"], "heteroskedasticity": s["kappa_grid"]}
    sweeps = {}
    for name, grid in tqdm(grids.items(), desc="sweeps", ascii=True):
        rows = {"value": grid, "pca": [], "contrastive": [], "pca_population": [], "contrastive_population": []}
        for value in grid:
            runs, pops = [], []
            for _ in range(s["repeats"]):
                model = _model(s, g, **{name: value})
                runs.append(_errors(model, s["n_fixed"], g))
                pops.append(_population_errors(model))
            rows["pca"].append(mean(a for a, _ in runs))
            rows["contrastive"].append(mean(b for _, b in runs))
            rows["pca_population"].append(mean(a for a, _ in pops))
            rows["contrastive_population"].append(mean(b for _, b in pops))
        sweeps[name] = rows
    kap, dd, rr = sweeps["heteroskedasticity"], sweeps["d"], sweeps["r"]
    measurements = {"settings": s, "sweeps": sweeps}
    claims = [
        claim("pca_hurt_by_heteroskedasticity",
              "PCA's error grows with the spread of the noise variances (by more than 1 from "
              "homoskedastic to the largest spread), contrastive learning's barely moves (by less than 0.2).",
              kap["pca"][-1] - kap["pca"][0] > 1.0 and abs(kap["contrastive"][-1] - kap["contrastive"][0]) < 0.2,
              pca_homoskedastic=kap["pca"][0], pca_most_heteroskedastic=kap["pca"][-1],
              contrastive_homoskedastic=kap["contrastive"][0], contrastive_most_heteroskedastic=kap["contrastive"][-1]),
        claim("contrast_below_pca_everywhere",
              "With heteroskedastic noise, contrastive learning's error is below PCA's at every d and r swept.",
              all(c < p for c, p in zip(dd["contrastive"] + rr["contrastive"], dd["pca"] + rr["pca"])),
              worst_ratio=max(c / p for c, p in zip(dd["contrastive"] + rr["contrastive"], dd["pca"] + rr["pca"]))),
        claim("contrast_error_grows_with_d_and_r",
              "At fixed n, contrastive learning's error grows with d and with r, as the sqrt(d r / n) "
              "term of the bound says.",
              dd["contrastive"][-1] > dd["contrastive"][0] and rr["contrastive"][-1] > rr["contrastive"][0],
              error_smallest_d=dd["contrastive"][0], error_largest_d=dd["contrastive"][-1],
              error_smallest_r=rr["contrastive"][0], error_largest_r=rr["contrastive"][-1]),
    ]
    return measurements, claims


@experiment("linear_contrast_downstream", chapter=CHAPTER)
@_on_one_thread
def linear_contrast_downstream(scale: str, seed: int):
    """Downstream regression and classification on z: a smaller subspace error gives a smaller downstream error."""
    g = seed_everything(seed)
    s = settings(scale)
    model = _model(s, g)
    w = torch.randn(model.r, generator=g, dtype=torch.float64)
    x_down, z_down = model.sample(s["n_down"], g)
    x_test, z_test = model.sample(s["n_test"], g)
    tasks = {}
    for classify in (False, True):
        tasks[classify] = (lt.linear_task(z_down, w, model.signal_var, 0.1, g, classify),
                           lt.linear_task(z_test, w, model.signal_var, 0.1, g, classify))

    def evaluate(basis: torch.Tensor) -> tuple[float, float]:
        (yr, yr_test), (yc, yc_test) = tasks[False], tasks[True]
        return (lt.downstream_regression_error(basis, x_down, yr, x_test, yr_test),
                lt.downstream_classification_accuracy(basis, x_down, yc, x_test, yc_test))

    rows = []
    for n in tqdm(s["n_trained"], desc="downstream", ascii=True):
        x, _ = model.sample(n, g)
        W, _ = lt.train_linear_contrastive(x, model.r, reg=s["reg"], steps=s["steps"],
                                           batch_size=s["batch_size"], lr=s["lr"], generator=g)
        for method, basis in (("contrastive", W.T), ("pca", lt.pca_subspace(x, model.r))):
            mse, acc = evaluate(basis)
            rows.append({"method": method, "n": n, "subspace_error": lt.subspace_error(basis, model.U).item(),
                         "regression_mse": mse, "classification_accuracy": acc})
    oracle_mse, oracle_acc = evaluate(model.U)
    by = {(row["method"], row["n"]): row for row in rows}
    n_max = s["n_trained"][-1]
    cl, pca = by[("contrastive", n_max)], by[("pca", n_max)]
    pairs = [(a, b) for a in rows for b in rows if a["subspace_error"] > b["subspace_error"] + 0.2]
    concordant = sum(a["regression_mse"] > b["regression_mse"] for a, b in pairs) / len(pairs)
    measurements = {"settings": s, "rows": rows, "oracle_regression_mse": oracle_mse,
                    "oracle_classification_accuracy": oracle_acc}
    claims = [
        claim("contrast_better_downstream",
              "On the in-domain downstream tasks contrastive learning beats PCA: lower regression error and "
              "at least 3 points higher classification accuracy (largest n).",
              cl["regression_mse"] < pca["regression_mse"]
              and cl["classification_accuracy"] >= pca["classification_accuracy"] + 0.03,
              mse_contrastive=cl["regression_mse"], mse_pca=pca["regression_mse"],
              accuracy_contrastive=cl["classification_accuracy"], accuracy_pca=pca["classification_accuracy"]),
        claim("subspace_error_predicts_downstream",
              "The subspace error orders the downstream regression errors: of two representations whose "
              "subspace errors differ by more than 0.2, the one with the larger has the larger test error "
              "(at least 90% of such pairs over methods and n).",
              concordant >= 0.9, concordant_share=concordant, pairs=len(pairs)),
    ]
    return measurements, claims


@experiment("linear_contrast_labels", chapter=CHAPTER)
@_on_one_thread
def linear_contrast_labels(scale: str, seed: int):
    """Supervised contrastive learning: labels help the in-domain task and can hurt transfer."""
    g = seed_everything(seed)
    s = settings(scale)
    model = _model(s, g)
    w_source = torch.randn(model.r, generator=g, dtype=torch.float64)
    w_target = torch.randn(model.r, generator=g, dtype=torch.float64)
    w_target -= (w_target @ w_source) / (w_source @ w_source) * w_source   # a direction of z the labels ignore
    x_down, z_down = model.sample(s["n_down"], g)
    x_test, z_test = model.sample(s["n_test"], g)

    tasks = {name: [lt.linear_task(z, w, model.signal_var, 0.1, g) for z in (z_down, z_test)]
             for name, w in (("in_domain", w_source), ("transfer", w_target))}
    oracle = {name: lt.downstream_regression_error(model.U, x_down, y, x_test, y_test)
              for name, (y, y_test) in tasks.items()}

    def excess_error(basis: torch.Tensor, task: str) -> float:
        """Downstream test MSE on the representation minus the MSE on the oracle U*^T x."""
        y, y_test = tasks[task]
        return lt.downstream_regression_error(basis, x_down, y, x_test, y_test) - oracle[task]

    weights = s["label_weights"]
    runs = {(task, kind): {a: [] for a in weights} for task in tasks for kind in ("excess_mse", "missed_signal")}
    for _ in tqdm(range(s["repeats"]), desc="label weights", ascii=True):
        x, z = model.sample(s["n_labelled"], g)
        labels = lt.linear_task(z, w_source, model.signal_var, 0.1, g, classify=True)
        for a in weights:
            basis = lt.supervised_contrastive_subspace(x, labels, model.r, a)
            for task, w in (("in_domain", w_source), ("transfer", w_target)):
                runs[(task, "excess_mse")][a].append(excess_error(basis, task))
                runs[(task, "missed_signal")][a].append(lt.missed_signal(basis, model.U, w))
    curves = {f"{task}_{kind}": [mean(values[a]) for a in weights] for (task, kind), values in runs.items()}
    in_miss, tr_miss = curves["in_domain_missed_signal"], curves["transfer_missed_signal"]
    in_ex, tr_ex = curves["in_domain_excess_mse"], curves["transfer_excess_mse"]
    best = min(range(1, len(weights)), key=lambda i: in_miss[i])
    measurements = {"settings": s, "label_weight": weights, **curves}
    claims = [
        claim("labels_help_in_domain",
              "Labels help the in-domain task: some label weight > 0 cuts the share of its signal the "
              "representation misses by at least 20%, and lowers its excess downstream error.",
              in_miss[best] < 0.8 * in_miss[0] and in_ex[best] < in_ex[0],
              missed_without_labels=in_miss[0], missed_with_labels=in_miss[best],
              excess_mse_without_labels=in_ex[0], excess_mse_with_labels=in_ex[best], label_weight=weights[best]),
        claim("labels_hurt_transfer",
              "Labels can hurt transfer: with all weight on the labels, a task along a direction of z the "
              "labels ignore loses most of its signal (missed share above 0.5) and its excess downstream "
              "error at least doubles.",
              tr_miss[-1] > 0.5 and tr_ex[-1] > 2 * tr_ex[0],
              missed_without_labels=tr_miss[0], missed_labels_only=tr_miss[-1],
              excess_mse_without_labels=tr_ex[0], excess_mse_labels_only=tr_ex[-1]),
    ]
    return measurements, claims
