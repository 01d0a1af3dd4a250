"""Learning-rate schedulers: values derived by hand always, lr sequences against
torch.optim.lr_scheduler over 30 steps where torch is installed."""

import math
import warnings

import pytest

import flowgrad as fg
import flowgrad.optim as optim
from flowgrad.optim import lr_scheduler

STEPS = 30


def make_sgd(lrs=(0.1,), momentum=0.9):
    params = [fg.ones(1, requires_grad=True) for _ in lrs]
    return optim.SGD([{"params": [p], "lr": lr} for p, lr in zip(params, lrs, strict=True)],
                     lr=lrs[0], momentum=momentum)


def lr_sequence(scheduler, steps=STEPS):
    lrs = [scheduler.get_last_lr()]
    for _ in range(steps):
        scheduler.optimizer.step()
        scheduler.step()
        lrs.append(scheduler.get_last_lr())
    return lrs


def first_group(lrs):
    return [step[0] for step in lrs]


# -- hand-derived -------------------------------------------------------------------------

def test_step_lr():
    lrs = first_group(lr_sequence(lr_scheduler.StepLR(make_sgd((1.0,)), step_size=3,
                                                      gamma=0.5), steps=7))
    assert lrs == pytest.approx([1, 1, 1, 0.5, 0.5, 0.5, 0.25, 0.25])


def test_multistep_lr_counts_repeated_milestones():
    scheduler = lr_scheduler.MultiStepLR(make_sgd((1.0,)), milestones=[1, 3, 3], gamma=0.1)
    assert first_group(lr_sequence(scheduler, steps=4)) == pytest.approx([1, 0.1, 0.1, 1e-3,
                                                                          1e-3])


def test_exponential_lr():
    lrs = first_group(lr_sequence(lr_scheduler.ExponentialLR(make_sgd((2.0,)), gamma=0.9)))
    assert lrs == pytest.approx([2.0 * 0.9**t for t in range(STEPS + 1)], rel=1e-12)


def test_cosine_annealing_follows_the_closed_form():
    base, eta_min, t_max = 0.1, 0.001, 10
    scheduler = lr_scheduler.CosineAnnealingLR(make_sgd((base,)), T_max=t_max, eta_min=eta_min)
    lrs = first_group(lr_sequence(scheduler))
    expected = [eta_min + (base - eta_min) * (1 + math.cos(math.pi * t / t_max)) / 2
                for t in range(STEPS + 1)]  # down to eta_min at 10, back up at 20, ...
    assert lrs == pytest.approx(expected, rel=1e-9, abs=1e-15)


def test_linear_lr_warmup():
    scheduler = lr_scheduler.LinearLR(make_sgd((1.0,)), start_factor=0.25, total_iters=3)
    assert first_group(lr_sequence(scheduler, steps=5)) == pytest.approx([0.25, 0.5, 0.75, 1.0,
                                                                          1.0, 1.0])


def test_lambda_lr_one_function_per_group():
    opt = make_sgd((1.0, 0.5))
    scheduler = lr_scheduler.LambdaLR(opt, [lambda t: t + 1, lambda t: 0.5**t])
    assert lr_sequence(scheduler, steps=2) == [[1.0, 0.5], [2.0, 0.25], [3.0, 0.125]]
    with pytest.raises(ValueError, match="2 parameter groups"):
        lr_scheduler.LambdaLR(opt, [lambda t: 1.0])


def test_one_cycle_lr_endpoints_and_momentum():
    opt = make_sgd((0.1,))
    scheduler = lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=20, pct_start=0.25,
                                        div_factor=10.0, final_div_factor=100.0)
    group = opt.param_groups[0]
    assert group["initial_lr"] == 0.1 and group["max_lr"] == 1.0
    assert group["min_lr"] == pytest.approx(1e-3)
    lrs, momenta = [scheduler.get_last_lr()[0]], [group["momentum"]]
    for _ in range(19):
        scheduler.step()
        lrs.append(scheduler.get_last_lr()[0])
        momenta.append(group["momentum"])
    assert lrs[0] == pytest.approx(0.1) and momenta[0] == pytest.approx(0.95)
    assert lrs[4] == pytest.approx(1.0) and momenta[4] == pytest.approx(0.85)  # peak at 25% - 1
    assert lrs[-1] == pytest.approx(1e-3) and momenta[-1] == pytest.approx(0.95)
    assert lrs[2] == pytest.approx(1.0 + (0.1 - 1.0) / 2 * (math.cos(math.pi * 0.5) + 1))
    scheduler.step()  # step 20 == total_steps is still allowed (as in PyTorch)
    with pytest.raises(ValueError, match="total_steps=20"):
        scheduler.step()


def test_one_cycle_lr_cycles_adam_beta1():
    opt = optim.Adam([fg.ones(1, requires_grad=True)], lr=0.1)
    lr_scheduler.OneCycleLR(opt, max_lr=0.1, epochs=2, steps_per_epoch=5)
    assert opt.param_groups[0]["betas"] == (0.95, 0.999)


def test_one_cycle_lr_needs_momentum_to_cycle():
    opt = optim.Adagrad([fg.ones(1, requires_grad=True)])
    with pytest.raises(ValueError, match="cycle_momentum=False"):
        lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=10)
    lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=10, cycle_momentum=False)


def test_reduce_lr_on_plateau():
    opt = make_sgd((1.0,))
    scheduler = lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=1, cooldown=1,
                                               min_lr=0.2)
    lrs = []
    for loss in [1.0, 0.5, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6]:
        scheduler.step(fg.tensor(loss))
        lrs.append(scheduler.get_last_lr()[0])
    # 2 bad steps reduce; then 1 step of cooldown; 2 more bad steps; floor at min_lr
    assert lrs == [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.2, 0.2]


def test_reduce_lr_on_plateau_max_mode_and_abs_threshold():
    opt = make_sgd((1.0,))
    scheduler = lr_scheduler.ReduceLROnPlateau(opt, mode="max", patience=0,
                                               threshold=0.1, threshold_mode="abs")
    for accuracy in [0.5, 0.65, 0.7]:  # 0.7 is not 0.1 better than 0.65
        scheduler.step(accuracy)
    assert scheduler.get_last_lr() == [pytest.approx(0.1)]
    assert scheduler.best == 0.65


@pytest.mark.parametrize(
    ("make", "error", "words"),
    [
        (lambda opt: lr_scheduler.StepLR(object(), 1), TypeError, "expected an optimizer"),
        (lambda opt: lr_scheduler.StepLR(opt, 0), ValueError, "step_size"),
        (lambda opt: lr_scheduler.StepLR(opt, 2, last_epoch=3), KeyError, "initial_lr"),
        (lambda opt: lr_scheduler.LinearLR(opt, start_factor=0), ValueError, "start_factor"),
        (lambda opt: lr_scheduler.CosineAnnealingLR(opt, T_max=0), ValueError, "T_max"),
        (lambda opt: lr_scheduler.OneCycleLR(opt, max_lr=1.0), ValueError, "total_steps"),
        (lambda opt: lr_scheduler.OneCycleLR(opt, 1.0, 10, pct_start=1), ValueError,
         "pct_start"),
        (lambda opt: lr_scheduler.OneCycleLR(opt, [1.0, 2.0], 10), ValueError, "max_lr has 2"),
        (lambda opt: lr_scheduler.ReduceLROnPlateau(opt, factor=1.0), ValueError, "factor"),
        (lambda opt: lr_scheduler.ReduceLROnPlateau(opt, mode="up"), ValueError, "mode"),
    ],
)
def test_bad_arguments(make, error, words):
    with pytest.raises(error, match=words):
        make(make_sgd())


def test_schedulers_compose_on_one_optimizer():
    opt = make_sgd((1.0,))
    warmup = lr_scheduler.LinearLR(opt, start_factor=0.5, total_iters=2)
    decay = lr_scheduler.ExponentialLR(opt, gamma=0.5)
    lrs = [opt.param_groups[0]["lr"]]
    for _ in range(3):
        warmup.step()
        decay.step()
        lrs.append(opt.param_groups[0]["lr"])
    assert lrs == pytest.approx([0.5, 0.375, 0.25, 0.125])


@pytest.mark.parametrize("make", [
    lambda opt: lr_scheduler.StepLR(opt, step_size=4, gamma=0.5),
    lambda opt: lr_scheduler.CosineAnnealingLR(opt, T_max=7, eta_min=0.01),
    lambda opt: lr_scheduler.OneCycleLR(opt, max_lr=[1.0, 0.5], total_steps=30),
    lambda opt: lr_scheduler.ReduceLROnPlateau(opt, patience=1),
])
def test_state_dict_resumes_the_schedule(make):
    def advance(scheduler, steps, start):
        lrs = []
        for step in range(start, start + steps):
            if isinstance(scheduler, lr_scheduler.ReduceLROnPlateau):
                scheduler.step(1.0 if step % 3 else 0.5 / (step + 1))
            else:
                scheduler.step()
            lrs.append(scheduler.get_last_lr())
        return lrs

    opt = make_sgd((0.1, 0.2))
    scheduler = make(opt)
    advance(scheduler, 6, 0)
    opt_state, scheduler_state = opt.state_dict(), scheduler.state_dict()
    assert "optimizer" not in scheduler_state
    expected = advance(scheduler, 10, 6)

    resumed_opt = make_sgd((0.1, 0.2))
    resumed = make(resumed_opt)
    resumed_opt.load_state_dict(opt_state)
    resumed.load_state_dict(scheduler_state)
    assert advance(resumed, 10, 6) == expected


def test_lambda_lr_state_dict_keeps_callable_objects_state():
    class Warmup:
        def __init__(self):
            self.scale = 1.0

        def __call__(self, epoch):
            return self.scale * (epoch + 1)

    fn = Warmup()
    scheduler = lr_scheduler.LambdaLR(make_sgd((1.0,)), [fn])
    fn.scale = 3.0
    state = scheduler.state_dict()
    assert state["lr_lambdas"] == [{"scale": 3.0}]
    other = Warmup()
    resumed = lr_scheduler.LambdaLR(make_sgd((1.0,)), [other])
    resumed.load_state_dict(state)
    assert other.scale == 3.0
    assert lr_scheduler.LambdaLR(make_sgd((1.0,)), lambda t: 1.0).state_dict()["lr_lambdas"] \
        == [None]


# -- against torch.optim.lr_scheduler -----------------------------------------------------

TORCH_CASES = {
    "StepLR": {"step_size": 4, "gamma": 0.5},
    "MultiStepLR": {"milestones": [3, 8, 8, 20], "gamma": 0.3},
    "ExponentialLR": {"gamma": 0.93},
    "CosineAnnealingLR": {"T_max": 12, "eta_min": 0.001},
    "LinearLR": {},
    "LinearLR-down": {"start_factor": 1.0, "end_factor": 0.1, "total_iters": 17},
    "LambdaLR": {"lr_lambda": lambda epoch: 1.0 / (1 + 0.3 * epoch)},
    "OneCycleLR": {"max_lr": [1.0, 0.4], "total_steps": STEPS},
    "OneCycleLR-linear-3phase": {"max_lr": 0.5, "epochs": 3, "steps_per_epoch": 10,
                                 "anneal_strategy": "linear", "three_phase": True,
                                 "pct_start": 0.4},
}


def torch_pair(torch, momentum=0.9, optimizer="SGD"):
    ours = [fg.ones(1, requires_grad=True) for _ in range(2)]
    theirs = [torch.ones(1, requires_grad=True) for _ in range(2)]

    def groups(ps):
        return [{"params": [ps[0]], "lr": 0.1}, {"params": [ps[1]], "lr": 0.05}]

    if optimizer == "SGD":
        return (optim.SGD(groups(ours), lr=0.1, momentum=momentum),
                torch.optim.SGD(groups(theirs), lr=0.1, momentum=momentum))
    return optim.Adam(groups(ours), lr=0.1), torch.optim.Adam(groups(theirs), lr=0.1)


@pytest.mark.torch
@pytest.mark.parametrize("case", list(TORCH_CASES))
def test_lr_sequence_matches_torch(case):
    torch = pytest.importorskip("torch")
    name, options = case.split("-")[0], TORCH_CASES[case]
    ours_opt, theirs_opt = torch_pair(torch)
    ours = getattr(lr_scheduler, name)(ours_opt, **options)
    theirs = getattr(torch.optim.lr_scheduler, name)(theirs_opt, **options)
    ours_lrs, theirs_lrs = [ours.get_last_lr()], [theirs.get_last_lr()]
    momenta = ([[g["momentum"] for g in ours_opt.param_groups]],
               [[g["momentum"] for g in theirs_opt.param_groups]])
    for _ in range(STEPS):
        ours_opt.step()
        theirs_opt.step()
        ours.step()
        theirs.step()
        ours_lrs.append(ours.get_last_lr())
        theirs_lrs.append(theirs.get_last_lr())
        momenta[0].append([g["momentum"] for g in ours_opt.param_groups])
        momenta[1].append([g["momentum"] for g in theirs_opt.param_groups])
    for ours_step, theirs_step in zip(ours_lrs, theirs_lrs, strict=True):
        assert ours_step == pytest.approx(theirs_step, rel=1e-12, abs=1e-15)
    for ours_step, theirs_step in zip(*momenta, strict=True):
        assert ours_step == pytest.approx(theirs_step, rel=1e-12)


@pytest.mark.torch
def test_one_cycle_betas_match_torch():
    torch = pytest.importorskip("torch")
    ours_opt, theirs_opt = torch_pair(torch, optimizer="Adam")
    ours = lr_scheduler.OneCycleLR(ours_opt, max_lr=0.3, total_steps=STEPS)
    theirs = torch.optim.lr_scheduler.OneCycleLR(theirs_opt, max_lr=0.3, total_steps=STEPS)
    for _ in range(STEPS):
        ours_opt.step()
        theirs_opt.step()
        ours.step()
        theirs.step()
        for ours_group, theirs_group in zip(ours_opt.param_groups, theirs_opt.param_groups,
                                            strict=True):
            assert ours_group["betas"] == pytest.approx(theirs_group["betas"], rel=1e-12)
            assert ours_group["lr"] == pytest.approx(theirs_group["lr"], rel=1e-12)


@pytest.mark.torch
@pytest.mark.parametrize("options", [
    {},
    {"mode": "max", "factor": 0.5, "patience": 2, "cooldown": 2},
    {"threshold_mode": "abs", "threshold": 0.05, "patience": 1, "min_lr": [0.02, 0.01]},
])
def test_reduce_lr_on_plateau_matches_torch(options):
    torch = pytest.importorskip("torch")
    ours_opt, theirs_opt = torch_pair(torch)
    ours = lr_scheduler.ReduceLROnPlateau(ours_opt, **options)
    theirs = torch.optim.lr_scheduler.ReduceLROnPlateau(theirs_opt, **options)
    metrics = [1.0 / (1 + t) if t < 5 else 0.2 + 0.01 * ((t * 7) % 5) for t in range(60)]
    for metric in metrics:
        ours.step(metric)
        theirs.step(metric)
        assert ours.get_last_lr() == pytest.approx(theirs.get_last_lr(), rel=1e-12)
    assert ours.num_bad_epochs == theirs.num_bad_epochs and ours.best == theirs.best


@pytest.mark.torch
def test_chained_schedulers_match_torch():
    torch = pytest.importorskip("torch")
    ours_opt, theirs_opt = torch_pair(torch)
    ours = [lr_scheduler.LinearLR(ours_opt, start_factor=0.2, total_iters=5),
            lr_scheduler.CosineAnnealingLR(ours_opt, T_max=STEPS)]
    theirs = [torch.optim.lr_scheduler.LinearLR(theirs_opt, start_factor=0.2, total_iters=5),
              torch.optim.lr_scheduler.CosineAnnealingLR(theirs_opt, T_max=STEPS)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(STEPS):
            ours_opt.step()
            theirs_opt.step()
            for scheduler in ours + theirs:
                scheduler.step()
            assert [g["lr"] for g in ours_opt.param_groups] == pytest.approx(
                [g["lr"] for g in theirs_opt.param_groups], rel=1e-12)
