"""softreg.SoftmaxRegression, the lesson's model and loop from Python: on Fashion-MNIST it is
`softreg train`'s run (the same weights to float rounding, and the lesson's 0.8347); partial_fit goes
on epoch by epoch; scikit-learn's estimator checks pass."""
import gzip
import os
import subprocess

import numpy as np
import pytest
from sklearn.datasets import load_digits, load_iris
from sklearn.utils.estimator_checks import parametrize_with_checks

import softreg

FASHION = os.environ.get("SOFTREG_DATA", "/usr/share/datasets/fashion-mnist")
EXE = os.environ.get("SOFTREG_EXE", "softreg")


def idx(name):
    for candidate in (name + ".gz", name, name.replace("-idx", ".idx") + ".gz"):
        path = os.path.join(FASHION, candidate)
        if os.path.exists(path):
            opener = gzip.open if path.endswith(".gz") else open
            with opener(path, "rb") as f:
                data = f.read()
            dims = data[3]
            shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
            return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)
    pytest.skip(f"Fashion-MNIST is not in {FASHION} (Debian's dataset-fashion-mnist)")


def images(part):
    x = idx(f"{part}-images-idx3-ubyte")
    y = idx(f"{part}-labels-idx1-ubyte")
    # The features softreg train reads: each byte times 1/255 in float32.
    return x.reshape(len(x), -1).astype(np.float32) * np.float32(1 / 255), y


def test_the_lessons_run_from_python_is_softreg_trains(tmp_path):
    X, y = images("train")
    Xt, yt = images("t10k")
    clf = softreg.SoftmaxRegression().fit(X, y, eval_set=(Xt, yt))
    out = tmp_path / "m.safetensors"
    r = subprocess.run([EXE, "train", "--data", FASHION, "--out", str(out)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    # The lesson's ten lines, printed from history_ (the notebooks do this), are softreg
    # train's but for the seconds.
    h = clf.history_
    lines = [f"epoch {e + 1}  loss {h['loss'][e]:.4f}  train acc {h['train_accuracy'][e]:.4f}  "
             f"test acc {h['test_accuracy'][e]:.4f}" for e in range(10)]
    cli_lines = [line.split("  (")[0] for line in r.stdout.splitlines()
                 if line.startswith("epoch ")]
    assert lines == cli_lines
    cli = softreg.load(out)
    # The same draws, batches and steps; the CLI reads the bytes and scales each dot product, a
    # float array is read as floats: the same weights up to float rounding (measured: 3e-7).
    np.testing.assert_allclose(clf.coef_, cli.coef_, rtol=0, atol=2e-6)
    np.testing.assert_allclose(clf.intercept_, cli.intercept_, rtol=0, atol=2e-6)
    assert round(clf.score(Xt, yt), 4) == 0.8347 == round(h["test_accuracy"][-1], 4)
    # The loaded model reads pixels as the CLI does (times its input scale 1/255) and names
    # the classes as the data set does.
    raw = idx("t10k-images-idx3-ubyte").reshape(len(yt), -1)
    assert cli.input_scale_ == np.float32(1 / 255)
    assert list(cli.classes_[:2]) == ["T-shirt/top", "Trouser"]
    assert np.mean(cli.decision_function(raw).argmax(axis=1) == clf.predict(Xt)) > 0.999


def test_partial_fit_trains_one_epoch_a_call_from_the_current_weights():
    X, y = load_iris(return_X_y=True)
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    clf = softreg.SoftmaxRegression(batch_size=16, lr=0.1)
    with pytest.raises(ValueError, match="classes must be given"):
        clf.partial_fit(X, y)
    scores = []
    for _ in range(20):
        clf.partial_fit(X, y, classes=[0, 1, 2])
        scores.append(clf.score(X, y))
    assert clf.n_iter_ == 20
    assert scores[-1] > 0.9 and scores[-1] >= scores[0]
    # The same calls give the same model.
    again = softreg.SoftmaxRegression(batch_size=16, lr=0.1)
    for _ in range(20):
        again.partial_fit(X, y, classes=[0, 1, 2])
    np.testing.assert_array_equal(again.coef_, clf.coef_)
    with pytest.raises(ValueError, match="not one of classes"):
        clf.partial_fit(X, np.full(len(y), 7))


def test_two_classes_keep_two_logits_and_scikit_learns_shapes():
    X, y = load_iris(return_X_y=True)
    X, y = X[y < 2], y[y < 2]
    clf = softreg.SoftmaxRegression(epochs=30, batch_size=10).fit(X, y)
    assert clf.coef_.shape == (2, 4)
    assert clf.decision_function(X).shape == (len(y),)
    assert clf.score(X, y) == 1.0


def test_results_do_not_depend_on_n_jobs():
    X, y = images("t10k")
    one = softreg.SoftmaxRegression(epochs=2, n_jobs=1).fit(X, y)
    two = softreg.SoftmaxRegression(epochs=2, n_jobs=2).fit(X, y)
    np.testing.assert_array_equal(one.coef_, two.coef_)


@parametrize_with_checks([softreg.SoftmaxRegression(epochs=50, batch_size=16)])
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


@pytest.mark.parametrize("options", [
    ["--schedule", "step", "--step-every", "3", "--step-gamma", "0.5", "--warmup", "50"],
    ["--optimizer", "adagrad", "--average", "3", "--schedule", "cosine"],
    ["--momentum", "0.9", "--batch-size", "64", "--lr", "0.05", "--schedule", "linear"]],
    ids=["step-warmup", "adagrad-average-cosine", "momentum-linear"])
def test_sgd_options_mean_what_softreg_trains_do(tmp_path, options):
    X, y = images("t10k")  # 10,000 images, 5 epochs: quick
    cli_to_python = {"--schedule": "schedule", "--step-every": "step_every",
                     "--step-gamma": "step_gamma", "--warmup": "warmup",
                     "--optimizer": "optimizer", "--average": "average",
                     "--momentum": "momentum", "--batch-size": "batch_size", "--lr": "lr"}
    params = {}
    for flag, value in zip(options[::2], options[1::2]):
        key = cli_to_python[flag]
        params[key] = value if key in ("schedule", "optimizer") else \
            (float(value) if "." in value else int(value))
    clf = softreg.SoftmaxRegression(epochs=5, **params).fit(X, y)
    # softreg train on the same images: the test set given as the training set.
    out = tmp_path / "m.safetensors"
    r = subprocess.run([EXE, "train", "--data", str(tmp_path), "-q", "--out", str(out),
                        "--epochs", "5", *options], capture_output=True, text=True,
                       env={**os.environ, "SOFTREG_DATA": ""}, cwd=tmp_path) \
        if _link_test_as_train(tmp_path) else None
    assert r.returncode == 0, r.stderr
    cli = softreg.load(out)
    # Bytes there, floats here: the same steps to float rounding, measured 4e-8 (step), 2e-7
    # (momentum) and 6e-6 (AdaGrad, whose division by sqrt(G) magnifies it) on weights up to
    # 0.9; an option that meant something else would move them by 1e-2 and more.
    np.testing.assert_allclose(clf.coef_, cli.coef_, rtol=0, atol=2e-5)


def _link_test_as_train(folder):
    """A Fashion-MNIST folder whose training files are the test files (a quick training set)."""
    for part, target in (("train", "t10k"), ("t10k", "t10k")):
        for kind in ("images-idx3", "labels-idx1"):
            source = os.path.join(FASHION, f"{target}-{kind}-ubyte.gz")
            if not os.path.exists(source):
                pytest.skip("Fashion-MNIST's gzip'd files are not in " + FASHION)
            os.symlink(source, os.path.join(folder, f"{part}-{kind}-ubyte.gz"))
    return True


def test_early_stopping_holds_out_and_keeps_what_softreg_train_does(tmp_path):
    # scikit-learn's digits (8x8 images, values 0..16) as a CSV table: softreg train parses the
    # same float32 values Python passes, so the two runs can be compared bit for bit.
    X, y = load_digits(return_X_y=True)
    table = tmp_path / "digits.csv"
    with open(table, "w") as f:
        f.write(",".join(f"f{j}" for j in range(64)) + ",label\n")
        for row, label in zip(X.astype(int), y):
            f.write(",".join(map(str, row)) + f",{label}\n")
    clf = softreg.SoftmaxRegression(epochs=30, lr=0.2, batch_size=32, early_stopping=True,
                                    validation_fraction=0.2, n_iter_no_change=2,
                                    random_state=3).fit(X.astype(np.float32), y)
    out = tmp_path / "m.safetensors"
    # --test: a test set of its own, so that no split but the validation split draws.
    r = subprocess.run([EXE, "train", "--csv", str(table), "--test", str(table), "--solver",
                        "sgd", "--out", str(out), "--epochs", "30", "--lr", "0.2",
                        "--batch-size", "32", "--validation-split", "0.2", "--early-stopping",
                        "2", "--seed", "3"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    stopped = [line for line in r.stdout.splitlines() if line.startswith("stopped")]
    assert stopped, r.stdout
    # "stopped early after epoch 9: kept the weights of epoch 7 (validation loss 1.1558)"
    ran = int(stopped[0].split("after epoch ")[1].split(":")[0])
    kept = int(stopped[0].split("weights of epoch ")[1].split(" ")[0])
    assert kept < ran < 30  # it did stop early, and kept an earlier epoch
    assert (clf.n_iter_, clf.best_epoch_) == (ran, kept)
    assert len(clf.history_["validation_loss"]) == ran
    assert np.argmin(clf.history_["validation_loss"]) + 1 == kept
    # The same split (stratified, 359 rows held out), draws and steps on the same floats.
    cli = softreg.load(out)
    np.testing.assert_array_equal(clf.coef_, cli.coef_)
    np.testing.assert_array_equal(clf.intercept_, cli.intercept_)


def test_early_stopping_parameters_are_checked():
    X, y = load_iris(return_X_y=True)
    for bad in ({"validation_fraction": 0.0}, {"validation_fraction": 1.0},
                {"n_iter_no_change": 0}, {"early_stopping": "yes"}):
        with pytest.raises(ValueError):
            softreg.SoftmaxRegression(**{"early_stopping": True, **bad}).fit(X, y)
    with pytest.raises(ValueError, match="eval_set: y_test must hold one of the classes"):
        softreg.SoftmaxRegression(epochs=1).fit(X, y, eval_set=(X, np.full(len(y), 7)))
    with pytest.raises(ValueError, match="eval_set: y_test must hold one of the classes"):
        softreg.SoftmaxRegression(epochs=1).fit(X, y, eval_set=(X, y[:10]))
    with pytest.raises(ValueError, match="without a training row"):
        softreg.SoftmaxRegression(early_stopping=True, validation_fraction=0.9).fit(
            X[:52], np.r_[np.zeros(50), [1, 2]])
