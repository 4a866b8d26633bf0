"""The lesson's notebooks (examples/notebooks, docs/lesson.md): the Spanish and the English one are
made by make_notebooks.py from one list of cells and committed without outputs; here
`scripts/notebooks` runs both headless (nbconvert and Debian's python3-ipykernel; any error fails
it) and renders them to HTML, their key outputs are checked, and headless Chromium opens each HTML
file and must load every figure."""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "examples" / "notebooks"
NAMES = {"es": "regresion_softmax", "en": "softmax_regression"}
FIGURES = 8  # sigmoid, images, Huffman tree, curves, predictions, mistakes, templates, Newton


def test_the_notebooks_are_make_notebooks_output_with_the_same_cells_and_no_outputs():
    r = subprocess.run([sys.executable, str(NOTEBOOKS / "make_notebooks.py"), "--check"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    es, en = (json.loads((NOTEBOOKS / f"{NAMES[k]}.ipynb").read_text()) for k in ("es", "en"))
    shape = [[(c["cell_type"], c["id"], c["metadata"].get("tags", [])) for c in nb["cells"]]
             for nb in (es, en)]
    assert shape[0] == shape[1]
    for nb in (es, en):
        assert all(c.get("outputs", []) == [] for c in nb["cells"])
    # Every section the lesson has (docs/lesson.md links to them): the headings in order.
    headings = [c["source"][0] for c in en["cells"] if c["cell_type"] == "markdown"
                and c["source"][0].startswith("## ")]
    assert [h.split(".")[0] for h in headings] == [f"## {i}" for i in range(1, 11)]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    out = tmp_path_factory.mktemp("notebooks")
    r = subprocess.run([str(ROOT / "scripts" / "notebooks"), str(out)], capture_output=True,
                       text=True, timeout=1800)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-5000:]
    return out


def outputs(out, language):
    """Each tagged cell's printed text, and the figures of the whole notebook."""
    nb = json.loads((out / f"{NAMES[language]}.ipynb").read_text())
    tagged, figures = {}, 0
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        for o in cell["outputs"]:
            assert o["output_type"] != "error", o
            figures += "image/png" in o.get("data", {})
        text = "".join("".join(o["text"]) for o in cell["outputs"] if o["output_type"] == "stream")
        for tag in cell["metadata"].get("tags", []):
            tagged[tag] = text
    return tagged, figures


def numbers(text):
    return [float(x) for x in re.findall(r"-?\d+\.\d+(?:e[-+]\d+)?", text)]


@pytest.mark.parametrize("language", ["es", "en"])
def test_each_notebook_runs_top_to_bottom_and_computes_the_lesson(rendered, language):
    out, figures = outputs(rendered, language)
    assert figures == FIGURES
    # The guessing game: 2 and 1.75 questions, the wrong strategy's 2, KL 0.25.
    game = out["game"]
    for line in ("H = 2.00", "H = 1.75", "H(p, q) = 2.00", "KL = 0.25"):
        assert line in game, game
    # The table's sums: the entropy, the best strategy's mean questions (= the entropy), the
    # wrong strategy's (= the cross-entropy).
    assert numbers(game.strip().splitlines()[-1]) == [1.75, 1.75, 2.0], game
    # The naive softmax overflows to NaN at logits of 1000; the stable one does not.
    naive, stable = out["overflow"].splitlines()[:2]
    assert naive.count("nan") == 3 and "nan" not in stable
    assert sum(numbers(stable)) == pytest.approx(1.0, abs=1e-6)
    # softmax(0, z)₁ = σ(z); picking = the one-hot sum = softreg's cross-entropy.
    assert numbers(out["two-classes"].splitlines()[-1])[0] < 1e-12
    pick = [numbers(line) for line in out["pick"].splitlines()]
    assert len(pick) == 3 and pick[0] == pick[1] == pick[2]
    # The lesson's ten lines, ending at softreg train's test accuracy 0.8347.
    lesson = [line for line in out["lesson"].splitlines() if line.startswith("epoch ")]
    assert len(lesson) == 10
    assert lesson[-1].startswith("epoch 10  ") and "test acc 0.8347" in lesson[-1]
    # PyTorch's concise version and softreg's agree within 0.005.
    torch_acc = float(re.search(r"pytorch (\d\.\d+)", out["concise"]).group(1))
    softreg_acc = float(re.search(r"softreg (\d\.\d+)", out["concise"]).group(1))
    assert softreg_acc == 0.8347
    assert abs(torch_acc - softreg_acc) <= 0.005, out["concise"]
    assert "trained 10 epochs" in out["text"], out["text"]


def test_both_languages_compute_the_same_numbers(rendered):
    es, _ = outputs(rendered, "es")
    en, _ = outputs(rendered, "en")
    for tag in ("game", "overflow", "two-classes", "pick", "breast-cancer"):
        assert numbers(es[tag]) == numbers(en[tag]), tag
    strip = [[line.split("  (")[0] for line in t["lesson"].splitlines()] for t in (es, en)]
    assert strip[0] == strip[1]


def chromium_dom(html):
    profile = html.parent / f"profile-{html.stem}"
    r = subprocess.run(
        ["timeout", "180", "chromium", "--headless", "--no-sandbox", "--disable-gpu",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--disable-extensions", "--proxy-server=127.0.0.1:9",
         f"--user-data-dir={profile}", "--virtual-time-budget=10000", "--dump-dom",
         html.as_uri()], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    return r.stdout


def with_image_check(source, target):
    """The rendered page with a script that, once it has loaded, counts its images that
    decoded (complete, with a width) and writes "loaded/all" on <body>."""
    script = ("<script>window.addEventListener('load', () => { const all = [...document.images];"
              " const ok = all.filter(i => i.complete && i.naturalWidth > 0).length;"
              " document.body.setAttribute('data-images', ok + '/' + all.length); });</script>")
    html = source.read_text()
    assert "</body>" in html
    target.write_text(html.replace("</body>", script + "</body>", 1))
    return target


@pytest.mark.parametrize("language", ["es", "en"])
def test_the_html_shows_every_figure_in_chromium(rendered, language, tmp_path):
    source = rendered / f"{NAMES[language]}.html"
    # The figures are inline (data: URLs): the page needs no other file.
    assert source.read_text().count('src="data:image/png;base64,') == FIGURES
    dom = chromium_dom(with_image_check(source, tmp_path / source.name))
    m = re.search(r'data-images="(\d+)/(\d+)"', dom)
    assert m, dom[:2000]
    assert (int(m.group(1)), int(m.group(2))) == (FIGURES, FIGURES)


def test_the_chromium_check_sees_a_figure_that_does_not_load(tmp_path):
    page = tmp_path / "broken.html"
    page.write_text('<html><body><img src="data:image/png;base64,iVBORw0KGgo=">'
                    '<img src="missing.png"></body></html>')
    dom = chromium_dom(with_image_check(page, tmp_path / "checked.html"))
    assert 'data-images="0/2"' in dom


def test_every_section_needs_only_the_set_up_cell():
    """Each section (the cells under one "## N." heading) uses no name that only another
    section defines: after the first cell, it runs on its own."""
    import ast
    import builtins
    nb = json.loads((NOTEBOOKS / f"{NAMES['en']}.ipynb").read_text())
    sections = [["(before the first section)"]]  # the title and the set-up cell
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown" and cell["source"][0].startswith("## "):
            sections.append([cell["source"][0].strip()])
        elif cell["cell_type"] == "code":
            sections[-1].append("".join(cell["source"]))

    def defined_and_used(code):
        tree = ast.parse(code)
        defined, used = set(), set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Name):
                (used if isinstance(node.ctx, ast.Load) else defined).add(node.id)
            elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                defined.add(node.name)
                defined.update(a.arg for a in node.args.args)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                defined.update((a.asname or a.name).split(".")[0] for a in node.names)
        return defined, used

    setup, _ = defined_and_used(sections[0][1])
    assert {"softreg", "fashion", "CLASSES", "np", "plt"} <= setup
    for heading, *code in sections[1:]:
        defined, used = defined_and_used("\n".join(code))
        missing = used - defined - setup - set(dir(builtins))
        assert not missing, f"{heading} uses {sorted(missing)} from elsewhere"
