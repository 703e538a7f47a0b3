"""genlab.parallel: worker processes give what one process gives, in the items' order; errors reach the caller."""
import time

import numpy as np
import pytest
import torch

from genlab.parallel import LocalBackend, parallel_map
from genlab.runtime import is_quiet, set_quiet


def fit(seed: int) -> dict:
    """A worker's job (module level, so spawned workers can import it): a seeded tiny fit, slower for small seeds."""
    time.sleep(0.3 * (3 - seed) if seed < 3 else 0)  # the first items finish last
    torch.manual_seed(seed)
    x = torch.linspace(-1, 1, 32).reshape(-1, 1)
    net = torch.nn.Sequential(torch.nn.Linear(1, 16), torch.nn.Tanh(), torch.nn.Linear(16, 1))
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    losses = []
    for _ in range(30):
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(net(x), torch.sin(3 * x))
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return {"seed": seed, "losses": np.array(losses), "threads": torch.get_num_threads(), "quiet": is_quiet()}


def fail_on_two(i: int) -> int:
    if i == 2:
        raise ValueError(f"item {i} is bad")
    return i


@pytest.fixture
def quiet():
    set_quiet(True)
    yield
    set_quiet(False)


def test_two_workers_give_what_one_gives_in_order(quiet):
    seeds = [0, 1, 2, 3]
    one = parallel_map(fit, seeds, workers=1)
    two = parallel_map(fit, seeds, workers=2, threads=1)
    assert [r["seed"] for r in one] == seeds and [r["seed"] for r in two] == seeds   # order of the items
    for a, b in zip(one, two):
        np.testing.assert_array_equal(a["losses"], b["losses"])                     # bit for bit
    assert not np.array_equal(one[0]["losses"], one[1]["losses"])                   # the seeds do differ
    assert all(r["threads"] == 1 and r["quiet"] for r in two)  # workers get one thread and the driver's --quiet
    back = LocalBackend(workers=2).map(fit, seeds[2:])          # the Backend reproduce and sweep hand runs to
    assert [r["seed"] for r in back] == seeds[2:]
    for a, b in zip(back, two[2:]):
        np.testing.assert_array_equal(a["losses"], b["losses"])


@pytest.mark.parametrize("workers", [1, 2])
def test_a_worker_error_reaches_the_caller(workers):
    with pytest.raises(ValueError, match="item 2 is bad"):
        parallel_map(fail_on_two, [0, 1, 2, 3], workers=workers)
    assert parallel_map(fail_on_two, [0, 1, 3], workers=1) == [0, 1, 3]
