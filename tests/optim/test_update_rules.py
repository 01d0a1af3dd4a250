"""The update rules of SGD, Adam, AdamW, RMSprop and Adagrad: two steps derived by hand with
NumPy (float64) always, and several steps against torch.optim (float32) where torch is
installed, for every option that changes the arithmetic."""

import numpy as np
import pytest

import flowgrad as fg
import flowgrad.optim as optim

P0 = np.array([[0.5, -1.5, 2.0], [1.0, 0.25, -0.75]])
G1 = np.array([[0.1, -0.4, 1.2], [-2.0, 0.3, 0.05]])
G2 = np.array([[-0.3, 0.2, 0.9], [1.5, -0.6, 0.4]])


def run_two_steps(make_optimizer):
    """Two steps of a flowgrad optimizer on P0 with gradients G1 then G2 (float64)."""
    p = fg.tensor(P0, dtype=fg.float64, requires_grad=True)
    opt = make_optimizer([p])
    for g in (G1, G2):
        p.grad = fg.tensor(g, dtype=fg.float64)
        opt.step()
    return p.detach().numpy()


def check(make_optimizer, expected):
    np.testing.assert_allclose(run_two_steps(make_optimizer), expected, rtol=1e-12, atol=1e-14)


def test_sgd_by_hand():
    lr = 0.1
    check(lambda ps: optim.SGD(ps, lr=lr), P0 - lr * G1 - lr * G2)


def test_sgd_momentum_dampening_weight_decay_by_hand():
    lr, m, d, wd = 0.1, 0.9, 0.25, 0.01
    g1 = G1 + wd * P0
    b1 = g1  # the first buffer is the gradient itself: no dampening
    p1 = P0 - lr * b1
    g2 = G2 + wd * p1
    b2 = m * b1 + (1 - d) * g2
    p2 = p1 - lr * b2
    check(lambda ps: optim.SGD(ps, lr=lr, momentum=m, dampening=d, weight_decay=wd), p2)


def test_sgd_nesterov_maximize_by_hand():
    lr, m = 0.1, 0.9
    g1 = -G1
    b1 = g1
    p1 = P0 - lr * (g1 + m * b1)
    g2 = -G2
    b2 = m * b1 + g2
    p2 = p1 - lr * (g2 + m * b2)
    check(lambda ps: optim.SGD(ps, lr=lr, momentum=m, nesterov=True, maximize=True), p2)


def adam_by_hand(lr, beta1, beta2, eps, weight_decay=0.0, amsgrad=False, decoupled=False):
    p, m, v, v_max = P0.copy(), 0.0, 0.0, 0.0
    for t, g in enumerate((G1, G2), start=1):
        if decoupled:
            p = p * (1 - lr * weight_decay)
        else:
            g = g + weight_decay * p
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        v_max = np.maximum(v_max, v) if amsgrad else v
        m_hat = m / (1 - beta1**t)
        v_hat = v_max / (1 - beta2**t)
        p = p - lr * m_hat / (np.sqrt(v_hat) + eps)
    return p


def test_adam_by_hand():
    check(lambda ps: optim.Adam(ps, lr=0.1), adam_by_hand(0.1, 0.9, 0.999, 1e-8))


def test_adam_amsgrad_weight_decay_betas_eps_by_hand():
    expected = adam_by_hand(0.05, 0.5, 0.9, 1e-2, weight_decay=0.1, amsgrad=True)
    check(lambda ps: optim.Adam(ps, lr=0.05, betas=(0.5, 0.9), eps=1e-2, weight_decay=0.1,
                                amsgrad=True), expected)


def test_adamw_by_hand():
    expected = adam_by_hand(0.1, 0.9, 0.999, 1e-8, weight_decay=0.01, decoupled=True)
    check(lambda ps: optim.AdamW(ps, lr=0.1), expected)
    expected = adam_by_hand(0.1, 0.9, 0.99, 1e-8, weight_decay=0.2, amsgrad=True,
                            decoupled=True)
    check(lambda ps: optim.AdamW(ps, lr=0.1, betas=(0.9, 0.99), weight_decay=0.2,
                                 amsgrad=True), expected)


def rmsprop_by_hand(lr, alpha, eps, weight_decay=0.0, momentum=0.0, centered=False):
    p, v, mean, buf = P0.copy(), 0.0, 0.0, 0.0
    for g in (G1, G2):
        g = g + weight_decay * p
        v = alpha * v + (1 - alpha) * g * g
        if centered:
            mean = alpha * mean + (1 - alpha) * g
            avg = np.sqrt(v - mean * mean) + eps
        else:
            avg = np.sqrt(v) + eps
        if momentum > 0:
            buf = momentum * buf + g / avg
            p = p - lr * buf
        else:
            p = p - lr * g / avg
    return p


def test_rmsprop_by_hand():
    check(lambda ps: optim.RMSprop(ps), rmsprop_by_hand(1e-2, 0.99, 1e-8))


def test_rmsprop_centered_momentum_weight_decay_by_hand():
    expected = rmsprop_by_hand(0.05, 0.9, 1e-3, weight_decay=0.1, momentum=0.8, centered=True)
    check(lambda ps: optim.RMSprop(ps, lr=0.05, alpha=0.9, eps=1e-3, weight_decay=0.1,
                                   momentum=0.8, centered=True), expected)


def adagrad_by_hand(lr, lr_decay=0.0, weight_decay=0.0, initial=0.0, eps=1e-10):
    p, s = P0.copy(), np.full_like(P0, initial)
    for t, g in enumerate((G1, G2), start=1):
        g = g + weight_decay * p
        clr = lr / (1 + (t - 1) * lr_decay)
        s = s + g * g
        p = p - clr * g / (np.sqrt(s) + eps)
    return p


def test_adagrad_by_hand():
    check(lambda ps: optim.Adagrad(ps), adagrad_by_hand(1e-2))


def test_adagrad_lr_decay_weight_decay_initial_accumulator_by_hand():
    expected = adagrad_by_hand(0.1, lr_decay=0.5, weight_decay=0.1, initial=0.3, eps=1e-3)
    check(lambda ps: optim.Adagrad(ps, lr=0.1, lr_decay=0.5, weight_decay=0.1,
                                   initial_accumulator_value=0.3, eps=1e-3), expected)


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad"])
def test_float32_parameters_stay_float32(name):
    p = fg.tensor(P0.astype(np.float32), requires_grad=True)
    opt = getattr(optim, name)([p], lr=0.1)
    p.grad = fg.tensor(G1.astype(np.float32))
    opt.step()
    assert p.dtype == fg.float32
    for value in opt.state[p].values():
        if value.ndim:
            assert value.dtype == fg.float32


def test_training_a_model_through_autograd_reduces_the_loss():
    fg.manual_seed(0)
    x = fg.randn(32, 3)
    y = x @ fg.tensor([[1.0], [-2.0], [0.5]]) + 0.3
    w = fg.zeros(3, 1, requires_grad=True)
    b = fg.zeros(1, requires_grad=True)
    opt = optim.Adam([w, b], lr=0.1)
    losses = []
    for _ in range(60):
        opt.zero_grad()
        loss = ((x @ w + b - y) ** 2).mean()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 1e-2 * losses[0]


# -- against torch.optim ------------------------------------------------------------------

CASES = [
    ("SGD", {"lr": 0.1}),
    ("SGD", {"lr": 0.1, "momentum": 0.9}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "dampening": 0.3}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True}),
    ("SGD", {"lr": 0.1, "weight_decay": 0.05}),
    ("SGD", {"lr": 0.1, "momentum": 0.8, "nesterov": True, "weight_decay": 0.05,
             "maximize": True}),
    ("SGD", {"lr": 0.1, "maximize": True}),
    ("Adam", {"lr": 0.01}),
    ("Adam", {"lr": 0.01, "amsgrad": True}),
    ("Adam", {"lr": 0.01, "weight_decay": 0.1}),
    ("Adam", {"lr": 0.01, "amsgrad": True, "weight_decay": 0.1, "maximize": True}),
    ("Adam", {"lr": 0.01, "betas": (0.5, 0.9), "eps": 1e-3}),
    ("Adam", {"lr": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("AdamW", {"lr": 0.01}),
    ("AdamW", {"lr": 0.01, "weight_decay": 0.1, "amsgrad": True}),
    ("AdamW", {"lr": 0.01, "maximize": True}),
    ("RMSprop", {"lr": 0.01}),
    ("RMSprop", {"lr": 0.01, "centered": True}),
    ("RMSprop", {"lr": 0.01, "momentum": 0.9}),
    ("RMSprop", {"lr": 0.01, "centered": True, "momentum": 0.9, "weight_decay": 0.1}),
    ("RMSprop", {"lr": 0.01, "alpha": 0.9, "eps": 1e-3, "maximize": True}),
    ("Adagrad", {"lr": 0.1}),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.1}),
    ("Adagrad", {"lr": 0.1, "weight_decay": 0.1, "initial_accumulator_value": 0.5}),
    ("Adagrad", {"lr": 0.1, "eps": 1e-3, "maximize": True}),
]

STEPS = 6


@pytest.mark.torch
@pytest.mark.parametrize(("name", "options"), CASES,
                         ids=[f"{n}-{'-'.join(map(str, o.items()))}" for n, o in CASES])
def test_matches_torch_step_for_step(name, options):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    shapes = [(4, 3), (3,)]
    initial = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    grads = [[rng.standard_normal(s).astype(np.float32) * (1 + step % 3) for s in shapes]
             for step in range(STEPS)]
    ours = [fg.tensor(a, requires_grad=True) for a in initial]
    theirs = [torch.tensor(a, requires_grad=True) for a in initial]
    ours_opt = getattr(optim, name)(ours, **options)
    theirs_opt = getattr(torch.optim, name)(theirs, **options)
    for step in range(STEPS):
        for p, q, g in zip(ours, theirs, grads[step], strict=True):
            p.grad = fg.tensor(g)
            q.grad = torch.tensor(g)
        ours_opt.step()
        theirs_opt.step()
        for p, q in zip(ours, theirs, strict=True):
            np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=2e-6,
                                       atol=2e-6, err_msg=f"step {step + 1}")
    for p, q in zip(ours, theirs, strict=True):
        ours_state, theirs_state = ours_opt.state[p], theirs_opt.state[q]
        assert set(ours_state) == set(theirs_state)
        for key, value in theirs_state.items():
            np.testing.assert_allclose(ours_state[key].numpy(), value.numpy(), rtol=2e-5,
                                       atol=1e-6, err_msg=key)


@pytest.mark.torch
def test_param_groups_and_missing_grads_match_torch():
    """Two groups with their own hyper-parameters; one parameter skips a step (no grad), so
    its step count lags, as in PyTorch."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    initial = [rng.standard_normal(3).astype(np.float32) for _ in range(3)]
    ours = [fg.tensor(a, requires_grad=True) for a in initial]
    theirs = [torch.tensor(a, requires_grad=True) for a in initial]

    def groups(ps):
        return [{"params": ps[:2]}, {"params": ps[2:], "lr": 0.05, "betas": (0.8, 0.99)}]

    ours_opt = optim.Adam(groups(ours), lr=0.01, amsgrad=True)
    theirs_opt = torch.optim.Adam(groups(theirs), lr=0.01, amsgrad=True)
    for step in range(5):
        for i, (p, q) in enumerate(zip(ours, theirs, strict=True)):
            if i == 1 and step in (1, 2):
                p.grad = q.grad = None
                continue
            g = rng.standard_normal(3).astype(np.float32)
            p.grad, q.grad = fg.tensor(g), torch.tensor(g)
        ours_opt.step()
        theirs_opt.step()
    for p, q in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=2e-6, atol=2e-6)
        assert ours_opt.state[p]["step"].item() == theirs_opt.state[q]["step"].item()
    assert ours_opt.state[ours[1]]["step"].item() == 3.0


@pytest.mark.torch
def test_state_dict_matches_torch_layout():
    torch = pytest.importorskip("torch")
    a, b = fg.ones(2, requires_grad=True), fg.ones(3, requires_grad=True)
    ta, tb = torch.ones(2, requires_grad=True), torch.ones(3, requires_grad=True)
    ours = optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1, momentum=0.9)
    theirs = torch.optim.SGD([{"params": [ta]}, {"params": [tb], "lr": 0.5}], lr=0.1,
                             momentum=0.9)
    a.grad, b.grad, ta.grad, tb.grad = fg.ones(2), fg.ones(3), torch.ones(2), torch.ones(3)
    ours.step()
    theirs.step()
    ours_sd, theirs_sd = ours.state_dict(), theirs.state_dict()
    assert set(ours_sd["state"]) == set(theirs_sd["state"])
    assert set(ours_sd["state"][1]) == set(theirs_sd["state"][1])
    for ours_group, theirs_group in zip(ours_sd["param_groups"], theirs_sd["param_groups"],
                                        strict=True):
        assert ours_group["params"] == theirs_group["params"]
        for key, value in ours_group.items():
            assert theirs_group[key] == value, key
