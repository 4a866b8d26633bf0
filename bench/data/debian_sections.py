#!/usr/bin/env python3
"""A real text task for development and benchmarks (issue 18): Debian package descriptions ->
Section. Reads `apt-cache dumpavail` (run `apt-get update` first) or a file of the same stanzas,
and writes four files into OUT:

    train.txt, test.txt        fastText's format: "__label__SECTION text", one package a line
    train.libsvm, test.libsvm  the same documents as LIBSVM: unigrams and bigrams of the tokens,
                               the vocabulary from the training set only (features unseen there
                               are dropped), binary values, columns numbered from 1 in the
                               vocabulary's sorted order, labels numbered from 0 in the sections'
                               sorted order (sections.txt lists them, one a line, line i = label i)

    bench/data/debian_sections.py OUT [--dumpavail FILE]

The task, exactly:
- one document per package name (the first stanza of a name counts; later ones are dropped);
- text: the short description (the first line of Description), lowercased, its words (split on
  white space) joined by single spaces; a word that is the package's name, once the punctuation
  around it is stripped, is removed, so the name never gives the class away;
- class: the Section's last component ("libs", "python", "games", ...; "non-free/games" is
  "games"); packages without a Section or with an empty description are dropped;
- test set: the packages whose md5(name), read as a number, is 0 modulo 5; the rest train.
Tokens for the LIBSVM files: maximal runs of letters and digits (Python's str.isalnum, so any
script's letters count), after lowercasing. Only the standard library is used.
"""
import argparse
import hashlib
import subprocess
import sys
from pathlib import Path


def stanzas(text):
    """The fields of each stanza as a dict (continuation lines joined to their field)."""
    fields, key = {}, None
    for line in text.splitlines():
        if not line.strip():
            if fields:
                yield fields
            fields, key = {}, None
        elif line[0] in " \t" and key is not None:
            fields[key] += "\n" + line
        elif ":" in line:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    if fields:
        yield fields


def tokens(text):
    out, word = [], []
    for ch in text:
        if ch.isalnum():
            word.append(ch)
        elif word:
            out.append("".join(word))
            word = []
    if word:
        out.append("".join(word))
    return out


def documents(text):
    seen = set()
    for f in stanzas(text):
        name, section = f.get("Package"), f.get("Section", "")
        description = f.get("Description", "").split("\n", 1)[0].strip().lower()
        if not name or name in seen or not section:
            continue
        seen.add(name)
        words = description.split()
        words = [w for w in words if w.strip(".,;:()[]\"'") != name.lower()]
        description = " ".join(words)
        if not description:
            continue
        label = section.rsplit("/", 1)[-1]
        test = int(hashlib.md5(name.encode()).hexdigest(), 16) % 5 == 0
        yield name, label, description, test


def features(description):
    t = tokens(description)
    return set(t) | {a + " " + b for a, b in zip(t, t[1:])}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("out", type=Path)
    p.add_argument("--dumpavail", type=Path, help="a file of apt-cache dumpavail's output")
    a = p.parse_args()
    if a.dumpavail:
        text = a.dumpavail.read_text(encoding="utf-8", errors="replace")
    else:
        r = subprocess.run(["apt-cache", "dumpavail"], stdout=subprocess.PIPE, text=True,
                           errors="replace")
        if r.returncode != 0:
            sys.exit("debian_sections: apt-cache dumpavail failed (run apt-get update first)")
        text = r.stdout
    docs = list(documents(text))
    if not docs:
        sys.exit("debian_sections: no packages with a Section and a description in the input")
    sections = sorted({label for _, label, _, _ in docs})
    label_of = {s: i for i, s in enumerate(sections)}
    vocabulary = sorted(set().union(*(features(d) for _, _, d, test in docs if not test)))
    column = {f: i + 1 for i, f in enumerate(vocabulary)}
    a.out.mkdir(parents=True, exist_ok=True)
    (a.out / "sections.txt").write_text("".join(s + "\n" for s in sections))
    counts = {}
    for part, want in (("train", False), ("test", True)):
        n = 0
        with open(a.out / f"{part}.txt", "w", encoding="utf-8") as text_file, \
                open(a.out / f"{part}.libsvm", "w") as libsvm:
            for _, label, description, test in docs:
                if test != want:
                    continue
                n += 1
                text_file.write(f"__label__{label} {description}\n")
                cols = sorted(column[f] for f in features(description) if f in column)
                libsvm.write(str(label_of[label]) + "".join(f" {c}:1" for c in cols) + "\n")
        counts[part] = n
    print(f"debian_sections: {counts['train']} training and {counts['test']} test documents, "
          f"{len(sections)} sections, {len(vocabulary)} features, in {a.out}")


if __name__ == "__main__":
    main()
