#!/usr/bin/env python3
"""Reads a softreg model file with nothing but the standard library and numpy, and predicts.

    read_safetensors.py MODEL IMAGES [--torch SNIPPET]

MODEL is a safetensors file written by `softreg train --out`; IMAGES an IDX file of images (raw
or gzip'd). Prints one JSON object: the predicted class of every image and the logits, computed
in float64 from the file's float32 weights. With --torch it also runs SNIPPET, the code
docs/formats.md gives users to load a model into torch.nn.Linear (the test extracts it from the
page), in SNIPPET's folder, where the test has put the model as the m.safetensors it loads; it
adds the float32 logits of the nn.Linear the snippet made ("torch_logits"). Without PyTorch, or
when the snippet fails, it fails.

The file format is documented in docs/formats.md; this reader is a second, independent reading
of it: 8 bytes of little-endian header length, the JSON header, then the tensors' bytes.
"""
import gzip
import json
import os
import runpy
import struct
import sys

import numpy as np


def read_model(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n].decode("utf-8"))
    data = raw[8 + n :]
    meta = header["__metadata__"]
    assert all(isinstance(v, str) for v in meta.values()), "metadata values are strings"
    assert meta["format"] == "softreg" and meta["format_version"] == "1", meta

    def tensor(name):
        t = header[name]
        assert t["dtype"] == "F32", t
        begin, end = t["data_offsets"]
        return np.frombuffer(data[begin:end], dtype="<f4").reshape(t["shape"])

    return {
        "weight": tensor("weight"),
        "bias": tensor("bias"),
        "class_names": json.loads(meta["class_names"]),
        "input_shape": json.loads(meta["input_shape"]),
        "input_scale": float(meta["input_scale"]),
        "output": meta["output"],
    }


def read_idx(path):
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    zero, kind, ndims = struct.unpack(">HBB", raw[:4])
    assert zero == 0 and kind == 0x08, "IDX of unsigned bytes"
    dims = struct.unpack(">" + "I" * ndims, raw[4 : 4 + 4 * ndims])
    return np.frombuffer(raw[4 + 4 * ndims :], dtype=np.uint8).reshape(dims)


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    model = read_model(argv[1])
    images = read_idx(argv[2])
    assert list(images.shape[1:]) == model["input_shape"], (images.shape, model["input_shape"])
    # The features as softreg computes them: stored value times input_scale, in float32.
    x = images.reshape(images.shape[0], -1).astype(np.float32) * np.float32(model["input_scale"])
    w, b = model["weight"], model["bias"]
    logits = x.astype(np.float64) @ w.astype(np.float64).T + b.astype(np.float64)
    if model["output"] == "logistic":
        classes = (logits[:, 0] > 0).astype(int)
    else:
        classes = logits.argmax(axis=1)
    out = {
        "classes": [int(c) for c in classes],
        "class_names": model["class_names"],
        "logits": logits.tolist(),
    }
    if len(argv) > 3:
        if len(argv) != 5 or argv[3] != "--torch":
            print(__doc__, file=sys.stderr)
            return 2
        import torch  # no PyTorch is a failure: the test is about loading into PyTorch

        snippet = os.path.abspath(argv[4])
        os.chdir(os.path.dirname(snippet))
        documented = runpy.run_path(snippet)
        net = documented["net"]
        assert type(net) is torch.nn.Linear, type(net)
        assert (net.in_features, net.out_features) == (w.shape[1], w.shape[0]), net
        scale = float(documented["meta"]["input_scale"])
        assert np.float32(scale) == np.float32(model["input_scale"]), scale
        with torch.no_grad():
            features = torch.from_numpy(images.reshape(images.shape[0], -1).copy()).float() * scale
            out["torch_logits"] = net(features).numpy().astype(float).tolist()
    json.dump(out, sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
