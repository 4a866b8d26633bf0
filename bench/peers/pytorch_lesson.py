#!/usr/bin/python3
"""The lesson's softmax regression on Fashion-MNIST, in PyTorch: the peer softreg is measured against.

    bench/peers/pytorch_lesson.py --variant scratch     # W, b by hand, softmax, cross-entropy, sgd
    bench/peers/pytorch_lesson.py --variant concise     # nn.Linear, nn.CrossEntropyLoss, optim.SGD

Both variants follow the lesson (d2l's train_ch3 / train_epoch_ch3) with its defaults: W from
N(0, 0.01^2), b = 0, minibatch SGD with batch 256 and learning rate 0.1, 10 epochs, reshuffled every
epoch, pixels scaled to [0, 1]. One difference, made on purpose: the data are preloaded as tensors
before timing starts, and batches are taken by indexing them with a fresh permutation each epoch
instead of going through a DataLoader, so the timing measures the training and not the loader.

Output matches `softreg train`: one line per epoch (its seconds cover that epoch's training and the
test-set evaluation), then a `trained ...` summary whose seconds are the sum of the epochs'.

Run with Debian's python3 (/usr/bin/python3, which has python3-torch and python3-numpy).
"""

import argparse
import gzip
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

BATCH_SIZE = 256
LR = 0.1


# ----------------------------------------------------------------------------- data
def read_idx(path, dims):
    """Read a gzip-compressed IDX file of unsigned bytes with `dims` dimensions into a numpy array."""
    with gzip.open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 + 4 * dims:
        sys.exit(f"{path}: too short for an IDX header ({len(raw)} bytes)")
    magic = int.from_bytes(raw[0:4], "big")
    if magic != 0x0800 + dims:  # 0x08: unsigned byte; then the number of dimensions
        sys.exit(f"{path}: IDX magic {magic:#x} but expected {0x0800 + dims:#x}")
    shape = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims)]
    body = raw[4 + 4 * dims :]
    if len(body) != int(np.prod(shape)):
        sys.exit(f"{path}: header claims shape {shape} but the file holds {len(body)} bytes of data")
    return np.frombuffer(body, dtype=np.uint8).reshape(shape)


def load_fashion_mnist(folder, limit=0):
    """Fashion-MNIST as tensors: images float32 (n, 1, 28, 28) in [0, 1], labels int64."""
    folder = Path(folder)

    def part(prefix):
        images = read_idx(folder / f"{prefix}-images-idx3-ubyte.gz", 3)
        labels = read_idx(folder / f"{prefix}-labels-idx1-ubyte.gz", 1)
        if len(images) != len(labels):
            sys.exit(f"{folder}: {prefix}: {len(images)} images but {len(labels)} labels")
        x = torch.from_numpy(images.astype(np.float32) / 255).reshape(-1, 1, 28, 28)
        y = torch.from_numpy(labels.astype(np.int64))
        return x, y

    train, test = part("train"), part("t10k")
    if limit > 0:
        train = train[0][:limit].clone(), train[1][:limit].clone()
    return train, test


def batches(x, y, shuffle):
    """Minibatches of BATCH_SIZE by indexing the preloaded tensors, in a fresh random order."""
    n = len(y)
    order = torch.randperm(n) if shuffle else torch.arange(n)
    for start in range(0, n, BATCH_SIZE):
        idx = order[start : start + BATCH_SIZE]
        yield x[idx], y[idx]


# ----------------------------------------------------------------------------- the lesson
def accuracy(y_hat, y):
    """Number of correct predictions."""
    return float((y_hat.argmax(dim=1) == y).sum())


def evaluate_accuracy(net, x, y):
    """Accuracy of `net` on a dataset, in the lesson's minibatches, without gradients."""
    if isinstance(net, nn.Module):
        net.eval()
    correct, count = 0.0, 0
    with torch.no_grad():
        for xb, yb in batches(x, y, shuffle=False):
            correct += accuracy(net(xb), yb)
            count += yb.numel()
    return correct / count


class Scratch:
    """The from-scratch version: parameters as plain tensors, every function written out."""

    def __init__(self):
        self.W = torch.normal(0, 0.01, size=(784, 10), requires_grad=True)
        self.b = torch.zeros(10, requires_grad=True)

    @staticmethod
    def softmax(X):
        X_exp = torch.exp(X)
        partition = X_exp.sum(1, keepdim=True)
        return X_exp / partition

    def net(self, X):
        return self.softmax(torch.matmul(X.reshape((-1, self.W.shape[0])), self.W) + self.b)

    @staticmethod
    def cross_entropy(y_hat, y):
        return -torch.log(y_hat[range(len(y_hat)), y])

    def sgd(self, batch_size):
        with torch.no_grad():
            for param in (self.W, self.b):
                param -= LR * param.grad / batch_size
                param.grad.zero_()

    def train_step(self, X, y):
        """One minibatch; returns the summed loss and the number of correct predictions."""
        y_hat = self.net(X)
        l = self.cross_entropy(y_hat, y)
        l.sum().backward()
        self.sgd(X.shape[0])
        return float(l.sum()), accuracy(y_hat, y)

    def __call__(self, X):
        return self.net(X)


class Concise:
    """The concise version: nn.Linear, nn.CrossEntropyLoss, torch.optim.SGD."""

    def __init__(self):
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))

        def init_weights(m):
            if type(m) == nn.Linear:
                nn.init.normal_(m.weight, std=0.01)
                nn.init.zeros_(m.bias)

        self.net.apply(init_weights)
        self.loss = nn.CrossEntropyLoss(reduction="none")
        self.trainer = torch.optim.SGD(self.net.parameters(), lr=LR)

    def train_step(self, X, y):
        self.net.train()
        y_hat = self.net(X)
        l = self.loss(y_hat, y)
        self.trainer.zero_grad()
        l.mean().backward()
        self.trainer.step()
        return float(l.sum()), accuracy(y_hat, y)

    def __call__(self, X):
        return self.net(X)


def train_epoch(model, x, y):
    """One pass over the training set; returns mean loss and accuracy (d2l's train_epoch_ch3)."""
    loss_sum, correct, count = 0.0, 0.0, 0
    for X, yb in batches(x, y, shuffle=True):
        l, c = model.train_step(X, yb)
        loss_sum += l
        correct += c
        count += yb.numel()
    return loss_sum / count, correct / count


# ----------------------------------------------------------------------------- main
def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--variant", choices=["scratch", "concise"], default="scratch")
    p.add_argument(
        "--data",
        default=os.environ.get("SOFTREG_DATA") or "/usr/share/datasets/fashion-mnist",
        help="folder of the Fashion-MNIST .gz files (default: $SOFTREG_DATA, else %(default)s)",
    )
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (default 2)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--limit", type=int, default=0, help="use only the first N training images")
    p.add_argument("--quiet", "-q", action="store_true", help="only the summary line")
    a = p.parse_args()
    if a.epochs < 1 or a.threads < 1 or a.limit < 0:
        p.error("--epochs and --threads must be >= 1, --limit >= 0")

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    (x_train, y_train), (x_test, y_test) = load_fashion_mnist(a.data, a.limit)
    model = Scratch() if a.variant == "scratch" else Concise()

    total = 0.0
    for epoch in range(1, a.epochs + 1):
        start = time.perf_counter()
        loss, train_acc = train_epoch(model, x_train, y_train)
        test_acc = evaluate_accuracy(model, x_test, y_test)
        seconds = time.perf_counter() - start
        total += seconds
        if not a.quiet:
            print(
                f"epoch {epoch}  loss {loss:.4f}  train acc {train_acc:.4f}  "
                f"test acc {test_acc:.4f}  ({seconds:.2f} s)",
                flush=True,
            )
    print(
        f"trained {a.epochs} epochs on {len(y_train)} images in {total:.2f} s: loss {loss:.4f}  "
        f"train acc {train_acc:.4f}  test acc {test_acc:.4f}"
    )


if __name__ == "__main__":
    main()
