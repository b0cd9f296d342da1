"""The self-checks of the coding exercises: they accept the reference, reject a wrong function
with a message that names the case and the gap, and every chapter's coding exercise has one."""

import re
from pathlib import Path

import jupytext
import pytest
import torch

from ssl_lib import homework

ROOT = Path(__file__).resolve().parent.parent

import notebooks  # noqa: E402

CHAPTERS = notebooks.chapter_notebooks()
CHECK_CALL = re.compile(r"homework\.check\(\s*[\"'](\w+)[\"']\s*,\s*(\w+)")
NAMES = homework.check_names()


def self_check_calls(chapter: Path) -> list[tuple[str, str]]:
    """(check name, function name) of every self-check cell of ``chapter``."""
    calls = []
    for cell in jupytext.read(chapter).cells:
        if "self-check" in cell.metadata.get("tags", []):
            found = CHECK_CALL.findall(cell.source)
            assert found, f"{chapter.name}: a self-check cell that calls no homework.check:\n{cell.source}"
            calls += found
    return calls


@pytest.mark.parametrize("chapter", CHAPTERS, ids=[c.stem for c in CHAPTERS])
def test_every_chapter_has_a_self_checked_coding_exercise(chapter):
    calls = self_check_calls(chapter)
    assert calls, f"{chapter.name} has no coding exercise with a self-check"
    source = chapter.read_text()
    for name, function in calls:
        assert name in NAMES, f"{chapter.name} checks {name!r}, which is not registered"
        assert f"def {function}(" in source, f"{chapter.name}: the solution never defines {function}"


def test_every_registered_check_is_used_by_a_chapter():
    used = {name for chapter in CHAPTERS for name, _ in self_check_calls(chapter)}
    assert set(NAMES) == used, f"registered but unused: {sorted(set(NAMES) - used)}"


@pytest.mark.parametrize("name", NAMES)
def test_the_reference_passes_its_own_check(name, capsys):
    homework.check(name, homework._CHECKS[name].reference, cases=10, seed=3)
    assert f"{name}: all 10 cases match" in capsys.readouterr().out


def off_by_a_little(reference):
    """The reference's answer, one percent too large: the kind of slip a student makes."""
    return lambda *inputs: torch.as_tensor(reference(*inputs), dtype=torch.float64) * 1.01 + 1e-3


@pytest.mark.parametrize("name", NAMES)
def test_a_wrong_function_fails_naming_the_case_and_the_gap(name):
    with pytest.raises(homework.CheckFailed, match=rf"{name}: case 1 of 5, inputs \(.*\): your result "
                                                   r"differs from the reference by [0-9.e-]+"):
        homework.check(name, off_by_a_little(homework._CHECKS[name].reference))


def test_a_wrong_shape_is_reported():
    def as_column(n, tau):
        return torch.zeros(3, 1)
    with pytest.raises(homework.CheckFailed, match=r"returned shape \(3, 1\), the reference \(\)"):
        homework.check("orthogonal_pairs_loss", as_column)


def test_a_missing_return_and_a_wrong_type_are_named():
    def no_return(n, tau):
        n / tau  # the result is computed, then dropped
    with pytest.raises(homework.CheckFailed, match="returned None; does it end with `return`"):
        homework.check("orthogonal_pairs_loss", no_return)
    with pytest.raises(homework.CheckFailed, match="returned a str, not a number or tensor of shape"):
        homework.check("orthogonal_pairs_loss", lambda n, tau: "2.0")


def test_reference_inputs_have_different_sizes_on_every_axis():
    # with m = d, an answer reduced over the wrong axis (one value per atom, not per neuron) had
    # the reference's shape and passed the shape check
    make_inputs = homework._CHECKS["atom_alignment"].make_inputs
    for case in range(50):
        W, M = make_inputs(torch.Generator().manual_seed(case))
        m, d1, d = W.shape[0], M.shape[0], M.shape[1]
        assert len({m, d1, d}) == 3, (m, d1, d)
    wrong_axis = lambda W, M: (W @ M).abs().max(dim=0).values  # noqa: E731  (per atom)
    with pytest.raises(homework.CheckFailed, match="shape"):
        homework.check("atom_alignment", wrong_axis)


def test_an_unfinished_skeleton_stops_with_not_implemented():
    def skeleton(n, tau):
        raise NotImplementedError("exercise pipeline-ex-orthogonal: write orthogonal_pairs_loss")
    with pytest.raises(NotImplementedError, match="write orthogonal_pairs_loss"):
        homework.check("orthogonal_pairs_loss", skeleton)


def test_unknown_names_and_bad_case_counts_are_refused():
    with pytest.raises(KeyError, match="available: .*orthogonal_pairs_loss"):
        homework.check("no_such_exercise", print)
    with pytest.raises(ValueError, match="cases must be >= 1"):
        homework.check("orthogonal_pairs_loss", print, cases=0)
    with pytest.raises(ValueError, match="already registered"):
        homework.register_check(homework._CHECKS["orthogonal_pairs_loss"])


def test_the_instructors_page_lists_every_self_check():
    page = (ROOT / "book" / "instructors.md").read_text()
    missing = [name for name in NAMES if f"`{name}`" not in page]
    assert not missing, f"book/instructors.md does not list the self-checks {missing}"


def test_no_reference_is_a_public_library_function():
    """A student who imports the reference has not done the exercise: every reference is a private
    function of ``ssl_lib.homework`` (or a lambda defined there), never one of the library's."""
    for name in NAMES:
        reference = homework._CHECKS[name].reference
        assert reference.__module__ == "ssl_lib.homework", f"{name}: the reference comes from {reference.__module__}"
        assert reference.__name__.startswith("_") or reference.__name__ == "<lambda>", (
            f"{name}: the reference {reference.__name__} is a public name of ssl_lib.homework")


def _mirrors():
    """(check name, the library function that computes the same thing, adapted to the check's inputs)."""
    from ssl_lib import evaluate, firing, hypersphere, linear_theory, losses, one_layer, sparse_coding

    def hoyer(k, n):
        responses = torch.zeros(n, 1, dtype=torch.float64)
        responses[:k] = 1.0
        return firing.hoyer_sparsity(responses).item()

    def projector(x, k):
        q = linear_theory.diagonal_deleted_subspace(x, k)
        return q @ q.T

    def collapsed(tau):
        u = torch.nn.functional.normalize(torch.ones(50, 4, dtype=torch.float64), dim=1)
        align_term, uniform_term = hypersphere.contrastive_limit(u, u, u, tau)
        return torch.tensor([losses.align_loss(u, u).item(), losses.uniform_loss(u).item(),
                             align_term.mean().item(), uniform_term.mean().item()], dtype=torch.float64)

    return {
        "orthogonal_pairs_loss": lambda n, tau: losses.info_nce(torch.eye(n), torch.eye(n), tau).item(),
        "masked_sparse_correlation": sparse_coding.masked_sparse_correlation,
        "atom_alignment": one_layer.atom_alignment,
        "diagonal_deleted_projector": projector,
        "subspace_error": linear_theory.subspace_error,
        "hoyer_of_k_of_n": hoyer,
        "collapsed_encoder_terms": collapsed,
        "effective_rank": evaluate.effective_rank,
    }


@pytest.mark.parametrize("name", sorted(_mirrors()))
def test_each_private_reference_agrees_with_the_library(name):
    """The private references compute what the library computes: a check whose reference drifted
    from the chapter's function would fail the student for the library's answer."""
    homework.check(name, _mirrors()[name], cases=10, seed=5)


def test_the_importable_answers_are_exactly_the_library_functions_named_as_the_exercises():
    """Every public ssl_lib function named as a self-check passes it, and is listed in
    homework.IMPORTABLE (which the instructors' page shows)."""
    import importlib
    import inspect
    import pkgutil

    import ssl_lib
    same_name = {}
    for info in pkgutil.iter_modules(ssl_lib.__path__):
        module = importlib.import_module(f"ssl_lib.{info.name}")
        for name, function in inspect.getmembers(module, inspect.isfunction):
            if name in NAMES and function.__module__ == module.__name__:
                same_name[name] = module.__name__
    assert same_name == homework.IMPORTABLE
    for name, module in homework.IMPORTABLE.items():
        homework.check(name, getattr(importlib.import_module(module), name))
    page = (Path(__file__).resolve().parents[1] / "book" / "instructors.md").read_text()
    for name, module in homework.IMPORTABLE.items():
        assert f"{module}.{name}" in page, f"the instructors' page does not say that {module}.{name} passes its check"
