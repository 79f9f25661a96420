"""Optimizers: every update rule against a by-hand NumPy reference and against torch.optim."""
import numpy as np
import pytest

from unrolled.framework.model import Model, TrainingDiverged
from unrolled.framework.optimizers import (OPTIMIZERS, SGD, Adagrad, Adam, AdamW, RMSprop,
                                           get_optimizer)
from unrolled.layers.dense import Dense

STEPS = 6


def make_layer(dtype=np.float64, seed=0, name="dense"):
    layer = Dense(3, name=name)
    layer.dtype = np.dtype(dtype)
    layer.seed(seed)
    layer(np.ones((2, 4), dtype=dtype))
    return layer


def gradient_sequence(layer, seed=1):
    rng = np.random.default_rng(seed)
    return [{k: rng.standard_normal(v.shape).astype(v.dtype) for k, v in layer.p.items()}
            for _ in range(STEPS)]


def run_ours(opt, layer, grads):
    trace = []
    for g in grads:
        layer.g = {"d" + k: v.copy() for k, v in g.items()}
        opt.step([layer])
        trace.append({k: v.copy() for k, v in layer.p.items()})
    return trace


# ------------------------------------------------------------------ by-hand references (formulas)
def ref_sgd(p, grads, lr, momentum=0.0, dampening=0.0, nesterov=False, weight_decay=0.0):
    p, b, out = p.copy(), None, []
    for g in grads:
        d = g + weight_decay * p
        if momentum:
            b = d.copy() if b is None else momentum * b + (1 - dampening) * d
            d = d + momentum * b if nesterov else b
        p = p - lr * d
        out.append(p)
    return out


def ref_rmsprop(p, grads, lr, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False):
    p = p.copy()
    v, a, b, out = np.zeros_like(p), np.zeros_like(p), np.zeros_like(p), []
    for g in grads:
        g = g + weight_decay * p
        v = alpha * v + (1 - alpha) * g ** 2
        if centered:
            a = alpha * a + (1 - alpha) * g
            denom = np.sqrt(v - a ** 2) + eps
        else:
            denom = np.sqrt(v) + eps
        if momentum > 0:
            b = momentum * b + g / denom
            p = p - lr * b
        else:
            p = p - lr * g / denom
        out.append(p)
    return out


def ref_adagrad(p, grads, lr, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0,
                eps=1e-10):
    p = p.copy()
    s, out = np.full_like(p, initial_accumulator_value), []
    for t, g in enumerate(grads, start=1):
        g = g + weight_decay * p
        clr = lr / (1 + (t - 1) * lr_decay)
        s = s + g ** 2
        p = p - clr * g / (np.sqrt(s) + eps)
        out.append(p)
    return out


def ref_adam(p, grads, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False,
             decoupled=False):
    b1, b2 = betas
    p = p.copy()
    m, v, vmax, out = np.zeros_like(p), np.zeros_like(p), np.zeros_like(p), []
    for t, g in enumerate(grads, start=1):
        if decoupled:
            p = p * (1 - lr * weight_decay)
        else:
            g = g + weight_decay * p
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g ** 2
        vmax = np.maximum(vmax, v)
        vhat = (vmax if amsgrad else v) / (1 - b2 ** t)
        mhat = m / (1 - b1 ** t)
        p = p - lr * mhat / (np.sqrt(vhat) + eps)
        out.append(p)
    return out


def ref_adamw(p, grads, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01, amsgrad=False):
    return ref_adam(p, grads, lr, betas, eps, weight_decay, amsgrad, decoupled=True)


CASES = [
    (SGD, ref_sgd, "SGD", dict(lr=0.1)),
    (SGD, ref_sgd, "SGD", dict(lr=0.05, momentum=0.9)),
    (SGD, ref_sgd, "SGD", dict(lr=0.05, momentum=0.8, dampening=0.3, weight_decay=0.01)),
    (SGD, ref_sgd, "SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.1)),
    (RMSprop, ref_rmsprop, "RMSprop", dict(lr=0.01)),
    (RMSprop, ref_rmsprop, "RMSprop", dict(lr=0.01, alpha=0.9, centered=True)),
    (RMSprop, ref_rmsprop, "RMSprop", dict(lr=0.01, momentum=0.9, weight_decay=0.1, eps=1e-6)),
    (RMSprop, ref_rmsprop, "RMSprop", dict(lr=0.02, momentum=0.5, centered=True, alpha=0.8)),
    (Adagrad, ref_adagrad, "Adagrad", dict(lr=0.1)),
    (Adagrad, ref_adagrad, "Adagrad", dict(lr=0.1, lr_decay=0.05, weight_decay=0.1,
                                           initial_accumulator_value=0.2)),
    (Adam, ref_adam, "Adam", dict(lr=0.01)),
    (Adam, ref_adam, "Adam", dict(lr=0.01, betas=(0.8, 0.99), weight_decay=0.1)),
    (Adam, ref_adam, "Adam", dict(lr=0.01, amsgrad=True, eps=1e-6)),
    (Adam, ref_adam, "Adam", dict(lr=0.05, betas=(0.3, 0.9))),     # lerp weight >= 0.5 branch
    (AdamW, ref_adamw, "AdamW", dict(lr=0.01)),
    (AdamW, ref_adamw, "AdamW", dict(lr=0.01, weight_decay=0.3, amsgrad=True)),
]
IDS = [f"{c[2]}-{i}" for i, c in enumerate(CASES)]


@pytest.mark.parametrize("cls, ref, torch_name, kwargs", CASES, ids=IDS)
def test_update_matches_formula(cls, ref, torch_name, kwargs):
    layer = make_layer()
    start = {k: v.copy() for k, v in layer.p.items()}
    grads = gradient_sequence(layer)
    trace = run_ours(cls(**kwargs), layer, grads)
    for name in start:
        expected = ref(start[name], [g[name] for g in grads], **kwargs)
        for step in range(STEPS):
            np.testing.assert_allclose(trace[step][name], expected[step], rtol=0, atol=1e-12,
                                       err_msg=f"{name} at step {step + 1}")
    # the parameters really moved (a no-op optimizer would fail the comparisons above anyway)
    assert not np.allclose(trace[-1]["W"], start["W"])


@pytest.mark.parametrize("cls, ref, torch_name, kwargs", CASES, ids=IDS)
def test_update_matches_torch(cls, ref, torch_name, kwargs):
    torch = pytest.importorskip("torch")
    layer = make_layer()
    tparams = {k: torch.nn.Parameter(torch.tensor(v.copy())) for k, v in layer.p.items()}
    grads = gradient_sequence(layer)
    trace = run_ours(cls(**kwargs), layer, grads)
    topt = getattr(torch.optim, torch_name)(list(tparams.values()), foreach=False, **kwargs)
    for step, g in enumerate(grads):
        for k, tp in tparams.items():
            tp.grad = torch.tensor(g[k])
        topt.step()
        for k, tp in tparams.items():
            np.testing.assert_allclose(trace[step][k], tp.detach().numpy(), rtol=0, atol=1e-12,
                                       err_msg=f"{k} at step {step + 1}")


@pytest.mark.parametrize("layer_lr", [None, np.float64(0.1)], ids=["model_lr", "numpy_layer_lr"])
@pytest.mark.parametrize("kwargs", [dict(lr=0.1), dict(lr=0.05, momentum=0.9, nesterov=True)],
                         ids=["plain", "nesterov"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sgd_on_a_large_parameter_matches_the_formula_exactly(dtype, kwargs, layer_lr):
    """Parameters larger than the optimizer's work array are updated a block at a time; that
    changes no bit of p - lr g (against the by-hand reference, in the parameter's dtype), also
    when a layer's own lr is a NumPy float64 (it must not promote a float32 update)."""
    layer = Dense(307, name="big", lr=layer_lr)   # 300 x 307 > 65536: several blocks, one partial
    layer.dtype = np.dtype(dtype)
    layer.seed(0)
    layer(np.ones((2, 300), dtype=dtype))
    assert layer.p["W"].size > 65536 and layer.p["W"].size % 65536
    start = {k: v.copy() for k, v in layer.p.items()}
    grads = gradient_sequence(layer)[:3]
    trace = run_ours(SGD(**kwargs), layer, grads)
    if layer_lr is not None:                      # the layer's lr at the optimizer's base lr
        kwargs = {**kwargs, "lr": float(layer_lr)}
    expected = ref_sgd(start["W"], [g["W"] for g in grads], **kwargs)
    for step in range(3):
        assert trace[step]["W"].dtype == dtype
        np.testing.assert_array_equal(trace[step]["W"], expected[step].astype(dtype))


def test_registry_names_and_torch_defaults():
    assert set(OPTIMIZERS) == {"sgd", "rmsprop", "adagrad", "adam", "adamw"}
    for name, cls in OPTIMIZERS.items():
        assert isinstance(get_optimizer(name), cls)
        assert isinstance(get_optimizer(name.upper()), cls)
    assert SGD().lr == 0.01
    assert Adam().lr == 1e-3 and Adam().betas == (0.9, 0.999) and Adam().eps == 1e-8
    assert AdamW().weight_decay == 0.01 and Adam().weight_decay == 0.0
    assert RMSprop().lr == 0.01 and RMSprop().alpha == 0.99
    assert Adagrad().lr == 0.01 and Adagrad().eps == 1e-10
    with pytest.raises(ValueError, match="unknown optimizer"):
        get_optimizer("adamax")


def test_defaults_equal_torch_defaults():
    torch = pytest.importorskip("torch")
    p = [torch.nn.Parameter(torch.zeros(2))]
    for name, tname in [("rmsprop", "RMSprop"), ("adagrad", "Adagrad"), ("adam", "Adam"),
                        ("adamw", "AdamW"), ("sgd", "SGD")]:
        ours = OPTIMIZERS[name]().config()
        theirs = getattr(torch.optim, tname)(p).defaults
        for key, value in ours.items():
            if name == "sgd" and key == "lr":
                continue   # kept at 0.01 (torch's SGD default changed over versions)
            expected = theirs[key]
            assert (tuple(value) if isinstance(value, tuple) else value) == expected, (name, key)


@pytest.mark.parametrize("kwargs, cls", [(dict(betas=(1.0, 0.9)), Adam), (dict(eps=-1), Adam),
                                         (dict(lr=0), Adam), (dict(momentum=-0.1), RMSprop),
                                         (dict(lr_decay=-1), Adagrad),
                                         (dict(nesterov=True), SGD)])
def test_bad_arguments_are_refused(kwargs, cls):
    with pytest.raises(ValueError):
        cls(**kwargs)


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_float32_state_stays_float32(name):
    layer = make_layer(np.float32)
    opt = get_optimizer(name)
    if name == "sgd":
        opt = SGD(momentum=0.9)
    if name == "rmsprop":
        opt = RMSprop(momentum=0.9, centered=True)
    if name in ("adam", "adamw"):
        opt = OPTIMIZERS[name](amsgrad=True, weight_decay=0.1)
    run_ours(opt, layer, gradient_sequence(layer))
    for v in layer.p.values():
        assert v.dtype == np.float32
    arrays = opt.state_arrays()
    assert arrays
    for key, v in arrays.items():
        if key.endswith("/step"):
            assert v.ndim == 0 and v == STEPS
        else:
            assert v.dtype == np.float32, key


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_state_arrays_resume_exactly(name):
    def make():
        return {"sgd": SGD(momentum=0.9), "rmsprop": RMSprop(momentum=0.5, centered=True)}.get(
            name, OPTIMIZERS[name](lr=0.05))

    layer_a, layer_b = make_layer(), make_layer()
    grads = gradient_sequence(layer_a)
    opt_a = make()
    run_ours(opt_a, layer_a, grads)

    opt_b = make()
    run_ours(opt_b, layer_b, grads[:3])
    saved = {k: v.copy() for k, v in opt_b.state_arrays().items()}
    assert any(k.endswith("/step") for k in saved)
    opt_c = make()
    opt_c.load_state_arrays(saved)
    run_ours(opt_c, layer_b, grads[3:])
    for k in layer_a.p:
        assert np.array_equal(layer_a.p[k], layer_b.p[k])


def test_per_layer_lr_follows_the_schedule():
    layer = make_layer()
    layer.lr = 0.5
    opt = SGD(lr=0.1)
    opt.lr = 0.05     # the schedule halved the rate
    start = layer.p["W"].copy()
    g = np.ones_like(start)
    layer.g = {"dW": g, "db": np.zeros_like(layer.p["b"])}
    opt.step([layer])
    np.testing.assert_allclose(layer.p["W"], start - 0.25 * g, rtol=0, atol=1e-15)


@pytest.mark.parametrize("optimizer", [SGD(lr=1e150), Adam(lr=1e200), RMSprop(lr=1e200)],
                         ids=["sgd", "adam", "rmsprop"])
def test_absurd_learning_rate_raises_training_diverged(optimizer):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, 5))
    Y = X @ rng.standard_normal((5, 2))
    model = Model([Dense(16, "tanh"), Dense(2)], optimizer=optimizer, seed=0)
    with pytest.raises(TrainingDiverged) as info:
        model.train(X, Y, epochs=50, batch_size=16, verbose=0)
    assert info.value.epoch is not None and info.value.batch is not None
    for key, value in model.get_weights().items():
        assert np.isfinite(value).all(), key
