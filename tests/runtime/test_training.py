"""Training loops on least squares, whose optimum is known in closed form: full batch,
mini-batch, online, streams; evaluation, early stopping, History, save/load."""

import copy
import weakref

import numpy as np
import pytest

from adgen.runtime import optimizers as O
from adgen.runtime.training import EarlyStopping, History, fit, load_params, save_params


def least_squares(w, b, X, y):
    r = X @ w + b - y
    return np.mean(r * r)


def ridge(w, b, X, y, lam):
    r = X @ w + b - y
    return np.mean(r * r) + lam * np.sum(w * w)


W_TRUE, B_TRUE = np.array([1.0, -2.0, 0.5]), 0.3
RNG = np.random.default_rng(0)
X = RNG.normal(size=(200, 3))
Y = X @ W_TRUE + B_TRUE  # noiseless: every sample's gradient vanishes at the optimum
Y_NOISY = Y + 0.1 * RNG.normal(size=200)
START = (np.zeros(3), 0.0)


def flat(params):
    return np.append(params[0], params[1])


def test_full_batch_reaches_the_least_squares_solution():
    data = (X.copy(), Y_NOISY.copy())
    start = copy.deepcopy(START)
    params, hist = fit(least_squares, start, data, O.sgd(0.3), epochs=150, progress=False)
    solution = np.linalg.lstsq(np.column_stack([X, np.ones(200)]), Y_NOISY, rcond=None)[0]
    np.testing.assert_allclose(flat(params), solution, atol=1e-6)
    assert isinstance(params, tuple) and isinstance(params[1], float)
    assert hist.epochs == hist.steps == 150 and len(hist.time) == 150
    assert hist.loss[0] == pytest.approx(least_squares(*START, X, Y_NOISY), rel=1e-12)
    assert all(b <= a + 1e-15 for a, b in zip(hist.loss, hist.loss[1:]))  # + rounding
    assert hist.stopped_epoch is None and hist.best_epoch is None
    # nothing of the caller's was modified
    assert np.array_equal(data[0], X) and np.array_equal(data[1], Y_NOISY)
    assert np.array_equal(start[0], START[0]) and start[1] == START[1]


def test_extra_arguments_after_the_batch():
    lam = 0.5
    params, _ = fit(ridge, START, (X, Y_NOISY), O.nesterov(0.1), args=(lam,), epochs=200,
                    progress=False)
    Xa = np.column_stack([X, np.ones(200)])
    penalty = np.diag([lam, lam, lam, 0.0])
    solution = np.linalg.solve(Xa.T @ Xa / 200 + penalty, Xa.T @ Y_NOISY / 200)
    np.testing.assert_allclose(flat(params), solution, atol=1e-6)


def test_mini_batch_sgd_converges():
    params, hist = fit(least_squares, START, (X, Y), O.sgd(0.05), epochs=40, batch_size=16,
                       rng=np.random.default_rng(1), progress=False)
    np.testing.assert_allclose(flat(params), np.append(W_TRUE, B_TRUE), atol=1e-6)
    assert hist.steps == 40 * 13  # 12 batches of 16 and one of 8 per epoch
    again, _ = fit(least_squares, START, (X, Y), O.sgd(0.05), epochs=40, batch_size=16,
                   rng=np.random.default_rng(1), progress=False)
    assert np.array_equal(flat(again), flat(params))  # the rng decides everything
    other, _ = fit(least_squares, START, (X, Y), O.sgd(0.05), epochs=2, batch_size=16,
                   rng=np.random.default_rng(2), progress=False)
    unshuffled, _ = fit(least_squares, START, (X, Y), O.sgd(0.05), epochs=2, batch_size=16,
                        shuffle=False, progress=False)
    assert not np.array_equal(flat(other), flat(unshuffled))


def test_online_learning_one_sample_at_a_time():
    params, hist = fit(least_squares, START, (X, Y), O.sgd(0.05), epochs=10, batch_size=1,
                       rng=np.random.default_rng(1), progress=False)
    np.testing.assert_allclose(flat(params), np.append(W_TRUE, B_TRUE), atol=1e-6)
    assert hist.steps == 2000


def test_online_learning_from_a_one_pass_stream():
    alive, most_alive, produced = set(), [0], [0]

    def stream(n):
        rng = np.random.default_rng(3)
        for _ in range(n):
            x = rng.normal(size=(1, 3))
            y = x @ W_TRUE + B_TRUE
            for a in (x, y):  # ids of the samples not yet freed
                alive.add(id(a))
                weakref.finalize(a, alive.discard, id(a))
            most_alive[0] = max(most_alive[0], len(alive))
            produced[0] += 1
            yield x, y

    params, hist = fit(least_squares, START, stream(2000), O.sgd(0.05), progress=False)
    np.testing.assert_allclose(flat(params), np.append(W_TRUE, B_TRUE), atol=1e-6)
    assert produced[0] == hist.steps == 2000 and hist.epochs == 1
    assert most_alive[0] <= 4  # this sample and the previous one, never the stream
    with pytest.raises(ValueError, match="one-pass"):
        fit(least_squares, START, stream(10), O.sgd(0.05), epochs=2, progress=False)


def test_a_reiterable_of_batches_gives_several_epochs():
    batches = [(X[i:i + 50], Y[i:i + 50]) for i in range(0, 200, 50)]
    params, hist = fit(least_squares, START, batches, O.adam(0.05), epochs=300,
                       progress=False)
    np.testing.assert_allclose(flat(params), np.append(W_TRUE, B_TRUE), atol=1e-6)
    assert hist.steps == 1200 and hist.epochs == 300


def test_eval_hook_and_early_stopping_on_a_metric():
    # validation targets from half the true weights: the path from 0 passes them, then
    # the validation loss rises again
    X_val = np.random.default_rng(5).normal(size=(50, 3))
    y_val = X_val @ (0.5 * W_TRUE) + 0.5 * B_TRUE
    seen = []

    def evaluate(params):
        seen.append(params)
        return {"val": least_squares(*params, X_val, y_val), "w0": params[0][0]}

    _, hist = fit(least_squares, START, (X, Y_NOISY), O.sgd(0.1), epochs=10, eval_fn=evaluate,
                  eval_every=3, progress=False)
    assert [m["epoch"] for m in hist.metrics] == [2, 5, 8] and len(seen) == 3
    assert hist.metrics[0]["val"] == least_squares(*seen[0], X_val, y_val)
    stop = EarlyStopping(patience=2, monitor="val")
    params, hist = fit(least_squares, START, (X, Y_NOISY), O.sgd(0.1), epochs=500,
                       eval_fn=evaluate, early_stopping=stop, progress=False)
    vals = [m["val"] for m in hist.metrics]
    best = int(np.argmin(vals))
    assert hist.stopped_epoch == best + 2 < 20 and hist.best_epoch == best > 0
    assert vals[best - 1] > vals[best] < vals[best + 1] < vals[best + 2]
    assert least_squares(*params, X_val, y_val) == vals[best]


def test_early_stopping_on_the_training_loss():
    stop = EarlyStopping(patience=3)
    _, hist = fit(least_squares, START, (X, Y), O.sgd(0.0), epochs=100, early_stopping=stop,
                  progress=False)
    assert hist.epochs == 4 and hist.stopped_epoch == 3 and hist.best_epoch == 0
    # diverging (eta too large): the best is the first epoch, and its parameters come back
    first, _ = fit(least_squares, START, (X, Y), O.sgd(1.5), epochs=1, progress=False)
    params, hist = fit(least_squares, START, (X, Y), O.sgd(1.5), epochs=100,
                       early_stopping=EarlyStopping(patience=2, min_delta=1e-3),
                       progress=False)
    assert hist.best_epoch == 0 and hist.epochs == 3
    assert np.array_equal(flat(params), flat(first))
    last, _ = fit(least_squares, START, (X, Y), O.sgd(1.5), epochs=100, progress=False,
                  early_stopping=EarlyStopping(patience=2, restore_best=False))
    assert np.abs(flat(last)).max() > np.abs(flat(first)).max()


def test_history_and_parameters_round_trip(tmp_path):
    _, hist = fit(least_squares, START, (X, Y), O.momentum(0.05), epochs=5,
                  eval_fn=lambda p: float(p[1]), progress=False)
    assert [m["epoch"] for m in hist.metrics] == list(range(5))
    hist.save(tmp_path / "history.json")
    assert History.load(tmp_path / "history.json") == hist
    rng = np.random.default_rng(4)
    params = tuple(rng.normal(size=(i % 3 + 1, 2)) for i in range(11)) + (
        rng.normal(size=4).astype(np.float32), 0.1 + 0.2, np.float64(-7.25))
    save_params(tmp_path / "params.npz", params)
    loaded = load_params(tmp_path / "params.npz")
    assert len(loaded) == len(params)
    for a, b in zip(loaded, params):
        assert np.array_equal(a, b) and np.asarray(a).dtype == np.asarray(b).dtype
        assert np.shape(a) == np.shape(b)
    assert loaded[-2] == 0.1 + 0.2 and isinstance(loaded[-2], float)


def test_progress_bar_shows_the_loss(capsys):
    fit(least_squares, START, (X, Y), O.sgd(0.1), epochs=3, batch_size=100,
        rng=np.random.default_rng(0))
    err = capsys.readouterr().err
    assert "loss=" in err and "6/6" in err


def test_bad_arguments():
    with pytest.raises(ValueError, match="rng"):
        fit(least_squares, START, (X, Y), O.sgd(0.1), batch_size=10, progress=False)
    with pytest.raises(ValueError, match="batch_size"):
        fit(least_squares, START, [(X, Y)], O.sgd(0.1), batch_size=10, progress=False)
    with pytest.raises(ValueError, match="differ in length"):
        fit(least_squares, START, (X, Y[:10]), O.sgd(0.1), progress=False)
    with pytest.raises(ValueError, match="eval_fn"):
        fit(least_squares, START, (X, Y), O.sgd(0.1), progress=False,
            early_stopping=EarlyStopping(monitor="val"))
    with pytest.raises(KeyError, match="val"):
        fit(least_squares, START, (X, Y), O.sgd(0.1), progress=False, eval_fn=lambda p: 1.0,
            early_stopping=EarlyStopping(monitor="val"))
