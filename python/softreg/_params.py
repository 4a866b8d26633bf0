"""The checks of the estimators' parameters, made in Python before anything reaches softreg._core:
a bad value raises ValueError (scikit-learn's convention for parameters) whose message starts
with the parameter's name, says what was expected and repeats the value given. The limits are
the command line's (`softreg train`, docs/cli.md)."""
import math
import numbers

import numpy as np

MAX_CLASSES = 65536          # softreg's limit on the classes of a model (kMaxClasses)
FLOAT_MAX = 3.4e38           # lr and momentum become float32s: beyond this they are infinite
SEED_MAX = 2**64 - 1         # seeds are unsigned 64-bit


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def _is_real(value):
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def check_int(name, value, low, high):
    """value as a Python int when it is a whole number (a numpy integer too, not a bool) from
    low to high, else ValueError."""
    if not _is_int(value) or not low <= value <= high:
        raise ValueError(f"{name} must be a whole number from {low} to {high}, got {value!r}")
    return int(value)


def check_real(name, value, low, high=None, *, low_open=False, high_open=False):
    """value as a Python float when it is a finite number (a numpy number too, not a bool)
    above low (>= low, or > low with low_open) and, unless high is None, below high (<= high,
    or < high with high_open), else ValueError."""
    expected = f"a finite number {'>' if low_open else '>='} {low:g}"
    if high is not None:
        expected += f" and {'<' if high_open else '<='} {high:g}"
    if not _is_real(value) or not math.isfinite(value) or \
            (value <= low if low_open else value < low) or \
            (high is not None and (value >= high if high_open else value > high)):
        raise ValueError(f"{name} must be {expected}, got {value!r}")
    return float(value)


def check_choice(name, value, choices):
    """value when it is one of choices (strings, or None), else ValueError."""
    if (value is not None and not isinstance(value, str)) or value not in choices:
        shown = [repr(c) for c in choices]
        expected = shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " or " + shown[-1]
        raise ValueError(f"{name} must be {expected}, got {value!r}")
    return value


def check_bool(name, value):
    """value as a Python bool when it is True or False (numpy's too), else ValueError."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def check_seed(name, value, random_state=False):
    """A seed for softreg's generator: None is 0, a whole number from 0 to 2**64 - 1 is itself;
    with random_state=True a numpy RandomState may be given too, and then a seed is drawn from
    it (scikit-learn's meaning: the fit depends on, and advances, the generator's state)."""
    if value is None:
        return 0
    if _is_int(value) and 0 <= value <= SEED_MAX:
        return int(value)
    if random_state and isinstance(value, np.random.RandomState):
        return int(value.randint(0, np.iinfo(np.int64).max, dtype=np.int64))
    also = ", a numpy RandomState" if random_state else ""
    raise ValueError(f"{name} must be None{also} or a whole number from 0 to {SEED_MAX}, got "
                     f"{value!r}")


def check_class_weight(name, value):
    """None, "balanced" or a dict {class: weight} of finite weights >= 0, else ValueError."""
    if value is None or (isinstance(value, str) and value == "balanced"):
        return value
    if not isinstance(value, dict):
        raise ValueError(f"{name} must be None, 'balanced' or a dict {{class: weight}}, got "
                         f"{value!r}")
    for label, weight in value.items():
        if not _is_real(weight) or not math.isfinite(weight) or weight < 0:
            raise ValueError(f"{name} must give each class a finite weight >= 0, got {weight!r} "
                             f"for class {label!r}")
    return value


def check_classes(name, count):
    """ValueError when count classes are more than softreg's models hold."""
    if count > MAX_CLASSES:
        raise ValueError(f"{name} has {count} classes, at most {MAX_CLASSES}")


def check_documents(name, documents):
    """ValueError naming the first document (a str) that is not valid UTF-8: a lone surrogate,
    as "\\udcff" from bytes decoded with errors="surrogateescape", has no UTF-8 encoding."""
    for i, d in enumerate(documents):
        try:
            d.encode("utf-8")
        except UnicodeEncodeError as e:
            raise ValueError(f"{name}: document {i} is not valid UTF-8 ({e.reason}: "
                             f"{d[e.start:e.end]!r} at character {e.start})") from None
