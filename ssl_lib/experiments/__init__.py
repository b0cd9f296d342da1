"""The registry of the book's experiments; importing it registers every experiment."""

from ssl_lib.experiments.claims import Claim, SeedVerdicts, claim, greater_claim, majority_claim, relation
from ssl_lib.experiments.experiment_result import ExperimentResult, load, save
from ssl_lib.experiments.provenance import provenance_line
from ssl_lib.experiments.registry import Experiment, cached_run, experiment, get, names, run
from ssl_lib.experiments.stored import result, results, store

# Each module below registers the experiments of one chapter.
from ssl_lib.experiments import pipeline  # noqa: E402,F401
from ssl_lib.experiments import simclr  # noqa: E402,F401
from ssl_lib.experiments import linear_contrast  # noqa: E402,F401
from ssl_lib.experiments import sparse_coding  # noqa: E402,F401
from ssl_lib.experiments import one_layer_learner  # noqa: E402,F401
from ssl_lib.experiments import alignment_uniformity  # noqa: E402,F401
from ssl_lib.experiments import prediction_head  # noqa: E402,F401
from ssl_lib.experiments import feature_decoupling_cifar  # noqa: E402,F401

__all__ = [
    "Claim", "Experiment", "ExperimentResult", "SeedVerdicts", "cached_run", "claim", "experiment", "get",
    "greater_claim", "load", "majority_claim", "names", "provenance_line", "relation", "result", "results", "run",
    "save", "store",
]
