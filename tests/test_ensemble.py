"""StackedMLP: M networks trained at once equal M networks trained one by one."""
import numpy as np
import pytest
import torch

from genlab.data.targets import grid, sines
from genlab.losses import stacked_mse
from genlab.models.mlp import MLP
from genlab.models.stacked import StackedMLP
from genlab.probes.weights import SpectralNorms, spectral_norms
from genlab.train import Every, supervised, train

WIDTHS = (1, 24, 16, 1)
M, STEPS = 3, 40


def data():
    x = torch.as_tensor(grid(31), dtype=torch.float32).reshape(-1, 1)
    return x, torch.as_tensor(sines(grid(31), (1, 3)), dtype=torch.float32).reshape(-1, 1)


# Step sizes in the stable regime: at lr=0.1 plain GD on the std=2 member is chaotic for a
# few steps and amplifies the batched matmul's different float rounding to 1e-2.
@pytest.mark.parametrize("optimizer,lr", [("adam", 1e-2), ("gd", 0.03)])
def test_stacked_training_equals_training_each_member_alone(optimizer, lr):
    x, y = data()
    stack = StackedMLP(M, WIDTHS, "tanh", init_std=[0.5, 1.0, 2.0], seeds=[7, 8, 9])
    alone = [stack.member(k) for k in range(M)]
    train(stack, supervised(stacked_mse, x, y), steps=STEPS, optimizer=optimizer, lr=lr)
    for k, net in enumerate(alone):
        train(net, supervised(torch.nn.functional.mse_loss, x, y), steps=STEPS, optimizer=optimizer, lr=lr)
        with torch.no_grad():
            torch.testing.assert_close(stack(x)[k], net(x), rtol=1e-4, atol=1e-4)
        for a, b in zip(stack.member(k).parameters(), net.parameters()):
            torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)
    with torch.no_grad():  # and training changed something (not a vacuous equality)
        assert (stack(x) - StackedMLP(M, WIDTHS, "tanh", [0.5, 1.0, 2.0], seeds=[7, 8, 9])(x)).abs().max() > 1e-2


def test_members_initialize_like_lone_mlps_with_their_seed_and_std():
    stack = StackedMLP(2, WIDTHS, "tanh", init_std=[0.1, 3.0], seeds=[4, 5])
    for k, (seed, std) in enumerate([(4, 0.1), (5, 3.0)]):
        ref = MLP(WIDTHS, "tanh", std, seed=seed)
        for a, b in zip(stack.member(k).parameters(), ref.parameters()):
            torch.testing.assert_close(a, b, rtol=0, atol=0)
    w = stack.weights[1].detach()
    assert w[0].std() == pytest.approx(0.1, rel=0.25) and w[1].std() == pytest.approx(3.0, rel=0.25)


def test_member_round_trips_and_leaves_the_global_rng_alone():
    stack = StackedMLP(3, WIDTHS, "relu", init_std=0.3)
    x = torch.randn(9, 1)
    state = torch.get_rng_state()
    members = [stack.member(k) for k in range(3)]
    assert torch.equal(state, torch.get_rng_state())
    back = StackedMLP(3, WIDTHS, "relu")
    back.load_members(members)
    with torch.no_grad():
        torch.testing.assert_close(back(x), stack(x), rtol=0, atol=0)
        for k in range(3):
            torch.testing.assert_close(members[k](x), stack(x)[k], rtol=1e-6, atol=1e-6)


def test_spectral_norms_of_a_stack_are_per_model_and_skip_biases():
    stack = StackedMLP(2, WIDTHS, "tanh", init_std=[0.1, 1.0])
    norms = spectral_norms(stack)
    assert sorted(norms) == ["weights.0", "weights.1", "weights.2"]
    for name, v in norms.items():
        i = int(name.split(".")[1])
        for k in range(2):
            ref = np.linalg.norm(stack.member(k).linears()[i].weight.detach().double().numpy(), 2)
            assert v[k] == pytest.approx(ref, rel=1e-9)


def test_spectral_norms_probe_records_each_layer_over_training():
    x, y = data()
    stack = StackedMLP(2, WIDTHS, "tanh", init_std=[0.1, 1.0])
    before = spectral_norms(stack)
    res = train(stack, supervised(stacked_mse, x, y), steps=10, lr=1e-2, callbacks=[Every(5, SpectralNorms())], threads=1)
    for name, v in before.items():
        rec = res.history.values(f"norm/{name}")
        assert rec.shape == (3, 2) and np.array_equal(rec[0], v)        # steps 0, 5, 10; one norm per model
        assert np.array_equal(rec[-1], spectral_norms(res.model)[name]) and not np.array_equal(rec[-1], v)


def _stacked_net_reference(n_models, widths, seed):
    """The draws of the old ``information_plane.StackedNet`` (genlab 71d6bb0), written out."""
    g = torch.Generator().manual_seed(seed)
    ws = [torch.randn(n_models, a, b, generator=g) / a ** 0.5 for a, b in zip(widths[:-1], widths[1:])]
    return ws, [torch.zeros(n_models, 1, b) for b in widths[1:]]


@pytest.mark.parametrize("act", ["tanh", "relu"])
def test_normal_fan_in_init_equals_the_old_stacked_net_draw_for_draw(act):
    widths, seed = (12, 10, 7, 5, 4, 3, 2), 3
    before = torch.get_rng_state()
    stack = StackedMLP(8, widths, act, init="normal_fan_in", seed=seed)
    assert torch.equal(torch.get_rng_state(), before)          # the global RNG is left alone
    ws, bs = _stacked_net_reference(8, widths, seed)
    assert len(stack.weights) == len(ws) == 6
    for w, b, w0, b0 in zip(stack.weights, stack.biases, ws, bs):
        assert torch.equal(w, w0) and torch.equal(b, b0)
    assert abs(float(stack.weights[0].detach().std()) - 12 ** -0.5) < 0.03  # N(0, 1/d_in): std 1/sqrt(12) = 0.289
    # forward: the old loop, with every hidden layer returned
    x = torch.randint(0, 2, (64, 12)).float()
    f = torch.tanh if act == "tanh" else torch.relu
    h, hidden = x.expand(8, *x.shape), []
    for i, (w, b) in enumerate(zip(ws, bs)):
        h = torch.baddbmm(b, h, w)
        if i < len(ws) - 1:
            h = f(h)
            hidden.append(h)
    with torch.no_grad():
        out, got = stack(x, return_hidden=True)
        assert torch.equal(out, h) and torch.equal(stack(x), h)
    assert [t.shape for t in got] == [(8, 64, d) for d in widths[1:-1]]
    assert all(torch.equal(a, b) for a, b in zip(got, hidden))


def test_bad_init_is_refused():
    with pytest.raises(ValueError, match="choose one of members, normal_fan_in"):
        StackedMLP(2, (1, 4, 1), init="xavier")
    with pytest.raises(ValueError, match="one seed="):
        StackedMLP(2, (1, 4, 1), init="normal_fan_in", seeds=[0, 1])
