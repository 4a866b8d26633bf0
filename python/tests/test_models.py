"""Model files between Python and the command line: a model Python saves evaluates in the CLI to
the accuracy Python measures, and a model the CLI trains loads into Python and predicts what
`softreg predict` predicts."""
import csv
import json
import os
import subprocess

import numpy as np

import softreg

DATA = os.environ.get("SOFTREG_TEST_DATA", os.path.join(os.path.dirname(__file__), "..", "..",
                                                        "tests", "data"))
EXE = os.environ.get("SOFTREG_EXE", "softreg")


def table(name):
    with open(os.path.join(DATA, name)) as f:
        rows = list(csv.reader(f))
    X = np.array([[float(v) for v in r[:-1]] for r in rows[1:]])
    y = np.array([r[-1] for r in rows[1:]])
    return X, y


def softreg_cli(*args):
    r = subprocess.run([EXE, *args], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_a_model_saved_by_python_evaluates_in_the_cli_to_the_same_accuracy(tmp_path):
    X, y = table("iris.csv")
    clf = softreg.LogisticRegression(C=0.05).fit(X, y)  # not a perfect fit: errors to count
    path = tmp_path / "m.safetensors"
    clf.save(path)
    report = json.loads(softreg_cli("eval", "--model", str(path), "--csv",
                                    os.path.join(DATA, "iris.csv"), "--json"))
    assert report["accuracy"] == clf.score(X, y)
    again = softreg.load(path)
    np.testing.assert_array_equal(again.predict(X), clf.predict(X))
    np.testing.assert_allclose(again.predict_proba(X), clf.predict_proba(X), rtol=1e-12)


def test_a_model_the_cli_trained_loads_and_predicts_as_the_cli_does(tmp_path):
    path = tmp_path / "cancer.safetensors"
    cancer = os.path.join(DATA, "breast_cancer.csv")
    softreg_cli("train", "--csv", cancer, "--standardize", "--model", "logistic", "-q",
                "--out", str(path))
    clf = softreg.load(path)
    X, y = table("breast_cancer.csv")
    assert clf.coef_.shape == (1, X.shape[1])
    report = json.loads(softreg_cli("eval", "--model", str(path), "--csv", cancer, "--json"))
    # The CLI's model standardises its inputs: the loaded estimator reads raw X the same way.
    assert abs(clf.score(X, y.astype(clf.classes_.dtype)) - report["accuracy"]) < 1e-12


def sanitizers():
    """The sanitizers' settings of this process (the debug preset preloads ASan): a fresh
    interpreter that imports an instrumented module needs them too."""
    return {k: v for k, v in os.environ.items()
            if k in ("LD_PRELOAD", "ASAN_OPTIONS", "LSAN_OPTIONS", "UBSAN_OPTIONS")}


def test_cmake_install_puts_an_importable_package(tmp_path):
    build = os.environ.get("SOFTREG_BUILD_DIR")
    if not build:
        import pytest
        pytest.skip("SOFTREG_BUILD_DIR is not set (ctest sets it)")
    r = subprocess.run(["cmake", "--install", build, "--prefix", str(tmp_path)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    site = tmp_path / "lib" / "python3" / "dist-packages"
    assert (site / "softreg" / "__init__.py").exists()
    code = ("import softreg, numpy as np; "
            "c = softreg.LogisticRegression().fit(np.eye(4), [0, 1, 0, 1]); "
            "print(softreg.__file__, c.predict(np.eye(4)).tolist())")
    r = subprocess.run(["/usr/bin/python3", "-c", code], capture_output=True, text=True,
                       env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin", **sanitizers()},
                       cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(str(site / "softreg")), r.stdout
    assert r.stdout.strip().endswith("[0, 1, 0, 1]")


def test_a_text_model_predicts_documents_as_softreg_predict_does(tmp_path):
    docs = tmp_path / "train.txt"
    docs.write_text("__label__games a fun puzzle game with levels\n"
                    "__label__games arcade shooter game for kids\n"
                    "__label__libs shared library for image decoding\n"
                    "__label__libs runtime library of the compression codec\n"
                    "__label__docs the manual of the editor in html\n"
                    "__label__docs documentation and examples for the library\n"
                    "__label__games strategy game with online play\n")
    model = tmp_path / "text.safetensors"
    softreg_cli("train", "--text", str(docs), "--test", str(docs), "-q", "--out", str(model))
    queries = ["a puzzle game", "library for json", "html manual", "nothing known here"]
    (tmp_path / "q.txt").write_text("\n".join(queries) + "\n")
    lines = softreg_cli("predict", "--model", str(model), "--text", str(tmp_path / "q.txt"),
                        "--format", "json").splitlines()
    cli = [json.loads(line) for line in lines]
    clf = softreg.load(model)
    assert list(clf.predict(queries)) == [c["class"] for c in cli]
    probabilities = clf.predict_proba(queries)
    for row, c in zip(probabilities, cli):
        assert abs(row[c["index"]] - c["probability"]) < 1e-6
    assert clf.predict("a puzzle game")[0] == cli[0]["class"]
