"""The iterative kernel solve (genlab.models.kernel_solve) against the direct Cholesky solve.

The small problem: 400 points in 20 dimensions, Gaussian kernel with sigma = 0.5 x the median distance.
Its condition number is 813 (checked below to stay under 10^4), so a relative residual of 1e-12 bounds the
relative error of alpha by about 1e-9: agreement to 1e-8 then tests the solver, not the problem's conditioning."""
import numpy as np
import pytest

from genlab.errors import GenlabError
from genlab.models.kernel import KernelInterpolant, choose_solver, gaussian_kernel, median_sigma, memory_bytes, solve
from genlab.models.kernel_solve import StripGram, cg_memory_bytes, cg_solve, nystrom

RNG = np.random.default_rng(0)
X = RNG.standard_normal((400, 20))
y = RNG.integers(0, 10, 400)
Y = np.eye(10)[y]
SIGMA = 0.5 * median_sigma(X)
K = gaussian_kernel(X, X, SIGMA)
ALPHA = solve(K.copy(), Y)


def test_strip_gram_products_and_columns_equal_the_dense_kernel():
    g = StripGram(X, SIGMA, block=96)  # 400 = 4 x 96 + 16: a ragged last strip
    V = RNG.standard_normal((400, 3))
    assert np.abs(g.matvec(V) - K @ V).max() < 1e-12
    idx = np.array([0, 95, 96, 200, 399])
    assert np.abs(g.columns(idx) - K[:, idx]).max() < 1e-15  # the same entries, up to gemm blocking
    assert g.nbytes == 8 * sum(min(96, 400 - s) * (400 - s) for s in range(0, 400, 96))  # the triangle only


def test_nystrom_with_every_column_is_the_eigendecomposition():
    U, lam = nystrom(StripGram(X, SIGMA, block=128), landmarks=400)
    ev = np.linalg.eigvalsh(K)[::-1]
    assert np.allclose(lam[:20], ev[:20], rtol=1e-8)
    assert np.abs(U.T @ U - np.eye(len(lam))).max() < 1e-6


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_cg_equals_the_direct_solve_to_1e8(dtype):
    ev = np.linalg.eigvalsh(K)
    assert ev[-1] / ev[0] < 1e4, f"condition number {ev[-1] / ev[0]:.3g}: the comparison would test conditioning"
    alpha, info = cg_solve(X, Y, SIGMA, tol=1e-12, dtype=dtype, block=128, landmarks=50, progress=False)
    assert np.abs(alpha - ALPHA).max() / np.abs(ALPHA).max() < 1e-8
    assert info.residual < 1e-12 and 0 < info.iterations < 400
    assert info.refinements == 0 if dtype == np.float64 else info.refinements >= 1  # float32: refined in float64
    assert ((K @ alpha).argmax(1) == y).all()  # interpolation: training error 0


def test_the_preconditioner_cuts_the_iterations():
    _, plain = cg_solve(X, Y, SIGMA, tol=1e-10, block=128, landmarks=1, progress=False)
    _, pre = cg_solve(X, Y, SIGMA, tol=1e-10, block=128, landmarks=200, progress=False)
    assert pre.iterations < 0.6 * plain.iterations  # measured: 99 without (rank 1), 39 with rank 200


def test_interpolant_cg_matches_direct_and_reports_its_residual():
    direct = KernelInterpolant(bandwidth=SIGMA, solver="direct").fit(X, y)
    cg = KernelInterpolant(bandwidth=SIGMA, solver="cg", tol=1e-10, block=100, landmarks=50).fit(X, y)
    assert (direct.solver_, cg.solver_, cg.gram_dtype_) == ("direct", "cg", "float32")
    assert direct.residual_ < 1e-12 and cg.residual_ < 1e-10 and cg.iterations_ > 0
    assert (cg.predict(X) == y).all()
    Xt = RNG.standard_normal((50, 20))
    assert np.abs(cg.decision_function(Xt) - direct.decision_function(Xt)).max() < 1e-7


def test_auto_takes_direct_when_it_fits_else_cg_on_the_float32_triangle():
    n, d = 60000, 784
    assert choose_solver(3000, d, limit=1e9)[0] == "direct"
    f64, f32 = cg_memory_bytes(n, d, itemsize=8), cg_memory_bytes(n, d, itemsize=4)
    assert f32 < f64 < memory_bytes(n, d) / 3            # the triangle: half the square, no factor
    assert choose_solver(n, d, limit=f64)[:2] == ("cg", "float32")
    assert choose_solver(n, d, limit=f64, gram_dtype="float64")[:2] == ("cg", "float64")
    assert 7 < f32 / 2**30 < 10                          # 6.7 GiB triangle (7.2 GB) + strip, data, Nyström factors
    with pytest.raises(GenlabError, match="n=60000 needs"):
        choose_solver(n, d, limit=f32 - 1)
    with pytest.raises(GenlabError, match="n=60000 needs"):
        choose_solver(n, d, limit=f64 - 1, gram_dtype="float64")


@pytest.mark.parametrize("kw, key", [({"solver": "lu"}, "solver='lu'"), ({"gram_dtype": "float16"}, "gram_dtype='float16'")])
def test_bad_names_are_one_line_errors(kw, key):
    with pytest.raises(GenlabError, match=key) as e:
        KernelInterpolant(**kw).fit(X, y)
    assert "\n" not in str(e.value) and "use one of" in str(e.value)


def test_cg_that_cannot_reach_tol_says_so():
    with pytest.raises(GenlabError, match="max_iter"):
        cg_solve(X, Y, SIGMA, tol=1e-14, block=128, landmarks=1, max_iter=3, progress=False)


def test_kernel_interpolation_with_cg_records_its_residual_in_the_claim(tmp_path):
    from genlab.experiments import get
    from genlab.runner import execute
    exp = get("kernel-interpolation")
    run = execute(exp, exp.config_for("quick", overrides=["n_train=400", "n_test=200", "solver=cg"]), tmp_path / "k")
    c = {x["id"]: x for x in run.claims}
    assert c["kernel-train-zero"]["value"] == 0 and "CG on the float32" in c["kernel-train-zero"]["note"]
    assert run.scalar("iterative") == 1 and 0 < run.scalar("relative_residual") < 1e-6
    assert run.scalar("cg_iterations") > 0
