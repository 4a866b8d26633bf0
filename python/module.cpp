// softreg._core: the Python module's C++ half (pybind11), a thin layer over classifier.hpp. It
// reads numpy arrays in place when their dtype and layout allow (float32 C order; CSR with int64
// indptr, int32 indices and float32 data), releases the GIL while fitting and predicting, and
// turns softreg's InputError into ValueError. The estimators are python/softreg/*.py.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <bit>
#include <chrono>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <type_traits>

#include "softreg/classifier.hpp"
#include "softreg/error.hpp"
#include "softreg/info.hpp"
#include "softreg/io.hpp"
#include "softreg/ops.hpp"

namespace py = pybind11;
using namespace softreg;

namespace {

// Whether an array's values are of a kind ('f' floating, 'i' signed integer) and size, in this
// machine's byte order. By what the dtype says, not by identity: an array read back by pickle
// (joblib's worker processes, pandas.read_pickle) has a dtype object of its own.
bool holds(const py::array& a, char kind, py::ssize_t size) {
  const py::dtype t = a.dtype();
  const char order = t.byteorder();  // '=' native, '|' not applicable, '<' little, '>' big
  const bool native = order == '=' || order == '|' ||
                      order == (std::endian::native == std::endian::little ? '<' : '>');
  return t.kind() == kind && t.itemsize() == size && native;
}

// X: a dense array (2-D, float32 or float64, any strides) or a CSR triple (indptr, indices,
// data) with its shape. The arrays must outlive the view: the caller keeps them.
struct Input {
  py::array dense;
  py::array indptr, indices, data;
  std::size_t rows = 0, cols = 0;
  bool sparse = false;

  FeatureView view() const {
    if (!sparse) {
      if (dense.ndim() != 2) throw InputError("X: expected a 2-D array");
      DenseMatrix m;
      m.data = dense.data();
      m.f64 = holds(dense, 'f', 8);
      if (!m.f64 && !holds(dense, 'f', 4))
        throw InputError("X: expected float32 or float64 values");
      m.rows = static_cast<std::size_t>(dense.shape(0));
      m.cols = static_cast<std::size_t>(dense.shape(1));
      const auto item = static_cast<py::ssize_t>(dense.itemsize());
      if (dense.strides(0) % item != 0 || dense.strides(1) % item != 0)
        throw InputError("X: strides that are not whole elements");
      m.row_stride = dense.strides(0) / item;
      m.col_stride = dense.strides(1) / item;
      return FeatureView::of(m);
    }
    CsrMatrix m;
    m.rows = rows;
    m.cols = cols;
    const auto kind = [](const py::array& a, const char* what, bool floating) {
      if (a.ndim() != 1 || !(a.flags() & py::array::c_style))
        throw InputError(std::string(what) + ": expected a contiguous 1-D array");
      if (floating) {
        if (holds(a, 'f', 8)) return true;
        if (holds(a, 'f', 4)) return false;
        throw InputError(std::string(what) + ": expected float32 or float64");
      }
      if (holds(a, 'i', 8)) return true;
      if (holds(a, 'i', 4)) return false;
      throw InputError(std::string(what) + ": expected int32 or int64 indices");
    };
    m.indptr64 = kind(indptr, "X.indptr", false);
    m.indices64 = kind(indices, "X.indices", false);
    m.data64 = kind(data, "X.data", true);
    if (static_cast<std::size_t>(indptr.shape(0)) != rows + 1)
      throw InputError("X.indptr: expected rows + 1 entries");
    // FeatureView::of checks indptr against these before it reads an index or a value.
    m.indices_size = static_cast<std::size_t>(indices.shape(0));
    m.data_size = static_cast<std::size_t>(data.shape(0));
    m.indptr = indptr.data();
    m.indices = indices.data();
    m.data = data.data();
    return FeatureView::of(m);
  }
};

Input input_of(const py::object& x, const py::object& shape) {
  Input in;
  if (py::isinstance<py::tuple>(x)) {
    const auto t = x.cast<py::tuple>();
    if (t.size() != 3) throw InputError("X: a CSR triple (indptr, indices, data) was expected");
    in.sparse = true;
    in.indptr = t[0].cast<py::array>();
    in.indices = t[1].cast<py::array>();
    in.data = t[2].cast<py::array>();
    const auto s = shape.cast<std::pair<std::size_t, std::size_t>>();
    in.rows = s.first;
    in.cols = s.second;
  } else {
    in.dense = x.cast<py::array>();
  }
  return in;
}

SoftmaxRegression model_of(const py::array_t<float, py::array::c_style | py::array::forcecast>& w,
                           const py::array_t<float, py::array::c_style | py::array::forcecast>& b,
                           std::size_t classes) {
  if (w.ndim() != 2 || b.ndim() != 1 || b.shape(0) != w.shape(0))
    throw InputError("coef_ and intercept_ do not fit together");
  const auto outputs = static_cast<std::size_t>(w.shape(0));
  const Output output = outputs == 1 && classes == 2 ? Output::logistic : Output::softmax;
  if (output == Output::softmax && outputs != classes)
    throw InputError("coef_ has " + std::to_string(outputs) + " rows for " +
                     std::to_string(classes) + " classes");
  SoftmaxRegression m(static_cast<std::size_t>(w.shape(1)), classes, output);
  std::memcpy(m.weight().data(), w.data(), m.weight().size() * sizeof(float));
  std::memcpy(m.bias().data(), b.data(), m.bias().size() * sizeof(float));
  return m;
}

py::array_t<double> to_numpy(const Matrix<double>& m) {
  py::array_t<double> out({m.rows, m.cols});
  std::memcpy(out.mutable_data(), m.data.data(), m.data.size() * sizeof(double));
  return out;
}

using Doubles = py::array_t<double, py::array::c_style | py::array::forcecast>;
using Ints = py::array_t<std::int32_t, py::array::c_style | py::array::forcecast>;

Matrix<double> matrix_of(const Doubles& a) {
  if (a.ndim() != 2) throw InputError("expected a 2-D array of scores (rows x classes)");
  Matrix<double> m(static_cast<std::size_t>(a.shape(0)), static_cast<std::size_t>(a.shape(1)));
  std::memcpy(m.data.data(), a.data(), m.data.size() * sizeof(double));
  return m;
}

std::vector<double> vector_of(const Doubles& a) {
  if (a.ndim() != 1) throw InputError("expected a 1-D array");
  return {a.data(), a.data() + a.size()};
}

std::span<const std::int32_t> labels_of(const Ints& y, std::size_t rows, std::size_t classes) {
  if (y.ndim() != 1 || static_cast<std::size_t>(y.size()) != rows)
    throw InputError("expected one label per row");
  for (py::ssize_t i = 0; i < y.size(); ++i)
    if (y.data()[i] < 0 || static_cast<std::size_t>(y.data()[i]) >= classes)
      throw InputError("label " + std::to_string(y.data()[i]) + " at row " + std::to_string(i) +
                       " is not a column index in [0, " + std::to_string(classes) + ")");
  return {y.data(), rows};
}

py::array_t<double> vector_to_numpy(const std::vector<double>& v) {
  py::array_t<double> out(v.size());
  std::copy(v.begin(), v.end(), out.mutable_data());
  return out;
}

void add_ops(py::module_& ops) {
  ops.def("softmax_naive", [](const Doubles& z) { return to_numpy(softmax_naive(matrix_of(z))); });
  ops.def("softmax", [](const Doubles& z) { return to_numpy(softmax(matrix_of(z))); });
  ops.def("log_softmax", [](const Doubles& z) { return to_numpy(log_softmax(matrix_of(z))); });
  ops.def("logsumexp", [](const Doubles& z) { return vector_to_numpy(logsumexp(matrix_of(z))); });
  ops.def("cross_entropy", [](const Doubles& z, const Ints& y) {
    const Matrix<double> m = matrix_of(z);
    return vector_to_numpy(cross_entropy(m, labels_of(y, m.rows, m.cols)));
  });
  ops.def("accuracy", [](const Doubles& z, const Ints& y) {
    const Matrix<double> m = matrix_of(z);
    return accuracy(m, labels_of(y, m.rows, m.cols));
  });
  ops.def("sigmoid", [](double x) { return sigmoid(x); });
}

info::Base base_of(const std::string& unit) {
  if (unit == "bits") return info::Base::two;
  if (unit == "nats") return info::Base::e;
  throw InputError("unit must be \"bits\" or \"nats\", not \"" + unit + "\"");
}

void add_info(py::module_& m) {
  m.def("normalize",
        [](const Doubles& w) { return vector_to_numpy(info::normalize(vector_of(w))); });
  m.def(
      "entropy",
      [](const Doubles& p, const std::string& unit) {
        return info::entropy(info::normalize(vector_of(p), "p"), base_of(unit));
      },
      py::arg("p"), py::arg("unit") = "bits");
  m.def(
      "cross_entropy",
      [](const Doubles& p, const Doubles& q, const std::string& unit) {
        return info::cross_entropy(info::normalize(vector_of(p), "p"),
                                   info::normalize(vector_of(q), "q"), base_of(unit));
      },
      py::arg("p"), py::arg("q"), py::arg("unit") = "bits");
  m.def(
      "kl_divergence",
      [](const Doubles& p, const Doubles& q, const std::string& unit) {
        return info::kl_divergence(info::normalize(vector_of(p), "p"),
                                   info::normalize(vector_of(q), "q"), base_of(unit));
      },
      py::arg("p"), py::arg("q"), py::arg("unit") = "bits");
  m.def("huffman", [](const Doubles& w) {
    const info::HuffmanCode code = info::huffman(vector_of(w));
    py::list nodes;
    for (const auto& n : code.nodes)
      nodes.append(py::dict(py::arg("weight") = n.weight, py::arg("symbols") = n.symbols,
                            py::arg("yes") = n.yes, py::arg("no") = n.no));
    return py::dict(py::arg("codewords") = code.codewords, py::arg("lengths") = code.lengths,
                    py::arg("nodes") = nodes, py::arg("root") = code.root);
  });
}

// Raises `type` with a library message: a parameter it names as `name` (error.hpp) is the
// estimators' parameter of that name, so the backquotes go; bytes of a file it quotes that are
// not UTF-8 are decoded with backslashreplace, never lost.
void set_error(PyObject* type, std::string_view message) {
  const std::string m = with_names(message, [](std::string_view n) { return std::string(n); });
  PyObject* text =
      PyUnicode_DecodeUTF8(m.data(), static_cast<py::ssize_t>(m.size()), "backslashreplace");
  PyErr_SetObject(type, text);
  Py_XDECREF(text);
}

}  // namespace

PYBIND11_MODULE(_core, mod) {
  mod.doc() = "softreg's C++ core: fit and predict on numpy arrays and CSR triples";
  // softreg's InputError is softreg._core.InputError, a ValueError; its Error a RuntimeError.
  static py::exception<InputError> input_error(mod, "InputError", PyExc_ValueError);
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const InputError& e) {
      set_error(input_error.ptr(), e.what());
    } catch (const Error& e) {
      set_error(PyExc_RuntimeError, e.what());
    }
  });

  mod.def(
      "fit",
      [](const py::object& x, const py::object& shape,
         py::array_t<std::int32_t, py::array::c_style | py::array::forcecast> y,
         std::size_t classes,
         std::optional<py::array_t<double, py::array::c_style | py::array::forcecast>>
             sample_weight,
         const std::string& solver, double C, bool penalize, double tol, int max_iter,
         unsigned threads, std::uint64_t seed,
         std::optional<py::array_t<float, py::array::c_style | py::array::forcecast>> coef,
         std::optional<py::array_t<float, py::array::c_style | py::array::forcecast>> intercept,
         int epochs, std::size_t batch_size, double lr, double momentum, bool softmax_always,
         bool lesson_init, const std::string& optimizer, const std::string& schedule, int average,
         double weight_decay, bool fit_intercept, int step_every, double step_gamma,
         std::uint64_t warmup, double validation_fraction, int early_stopping,
         const py::object& test_x, const py::object& test_shape,
         std::optional<py::array_t<std::int32_t, py::array::c_style | py::array::forcecast>> test_y,
         int lbfgs_memory) {
        const Input in = input_of(x, shape);
        const FeatureView view = in.view();
        if (classes < 2) throw InputError("y: needs at least two classes");
        const Output output = classes == 2 && !softmax_always ? Output::logistic : Output::softmax;
        SoftmaxRegression model(view.cols(), classes, output);
        if (coef && intercept) model = model_of(*coef, *intercept, classes);
        ClassifierOptions o;
        o.solver = solver == "newton" ? Solver::newton
                   : solver == "sgd"  ? Solver::sgd
                                      : Solver::lbfgs;
        // LogisticRegression's C (penalty "l2"), or SoftmaxRegression's alpha as λ itself.
        o.penalty = penalize ? Penalty{Penalty::c, C} : Penalty{Penalty::lambda, weight_decay};
        o.tol = tol;
        o.max_iter = max_iter;
        o.lbfgs_memory = lbfgs_memory;
        o.threads = threads;
        o.seed = seed;
        o.sgd.epochs = epochs;
        o.sgd.batch_size = batch_size;
        o.sgd.sgd.lr = static_cast<float>(lr);
        o.sgd.sgd.momentum = static_cast<float>(momentum);
        o.sgd.sgd.adagrad = optimizer == "adagrad";
        using Schedule = TrainOptions::Schedule;
        o.sgd.schedule = schedule == "cosine"   ? Schedule::cosine
                         : schedule == "linear" ? Schedule::linear
                         : schedule == "step"   ? Schedule::step
                                                : Schedule::constant;
        o.sgd.step_every = step_every;
        o.sgd.step_gamma = static_cast<float>(step_gamma);
        o.sgd.warmup = warmup;
        o.sgd.average_from = average;
        o.sgd.early_stopping = early_stopping;
        o.validation_fraction = validation_fraction;
        o.fit_intercept = fit_intercept;
        o.lesson_init = lesson_init && !(coef && intercept);
        std::span<const double> weights;
        if (sample_weight)
          weights = {sample_weight->data(), static_cast<std::size_t>(sample_weight->size())};
        const std::span<const std::int32_t> labels(y.data(), static_cast<std::size_t>(y.size()));
        // lbfgs, newton: every iteration's objective, gradient test and seconds since the start.
        std::vector<double> objective, gradient, seconds;
        FitWatch watch;
        // SGD: a test set evaluated after every epoch (SoftmaxRegression.fit's eval_set).
        std::optional<Input> test_in;
        std::optional<FeatureView> test_view;
        if (!test_x.is_none() && test_y) {
          test_in = input_of(test_x, test_shape);
          test_view.emplace(test_in->view());
          watch.test = {&*test_view, {test_y->data(), static_cast<std::size_t>(test_y->size())}};
        }
        const auto start = std::chrono::steady_clock::now();
        watch.on_iteration = [&](const Iteration& it) {
          objective.push_back(it.objective);
          gradient.push_back(it.gradient);
          seconds.push_back(
              std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
        };
        ClassifierFit r;
        {
          py::gil_scoped_release release;
          r = fit_classifier(model, view, labels, weights, o, watch);
        }
        py::dict history;
        if (o.solver == Solver::sgd) {
          std::vector<double> loss, train_acc, val_loss, val_acc, lr, test_loss, test_acc;
          for (const EpochMetrics& m : r.history) {
            loss.push_back(m.loss);
            test_loss.push_back(m.test_loss);
            test_acc.push_back(m.test_accuracy);
            train_acc.push_back(m.train_accuracy);
            seconds.push_back((seconds.empty() ? 0.0 : seconds.back()) + m.seconds);
            lr.push_back(m.lr);
            if (m.validated) {
              val_loss.push_back(m.validation_loss);
              val_acc.push_back(m.validation_accuracy);
            }
          }
          history["loss"] = py::array_t<double>(loss.size(), loss.data());
          history["train_accuracy"] = py::array_t<double>(train_acc.size(), train_acc.data());
          history["lr"] = py::array_t<double>(lr.size(), lr.data());
          if (test_view) {
            history["test_loss"] = py::array_t<double>(test_loss.size(), test_loss.data());
            history["test_accuracy"] = py::array_t<double>(test_acc.size(), test_acc.data());
          }
          if (!val_loss.empty()) {
            history["validation_loss"] = py::array_t<double>(val_loss.size(), val_loss.data());
            history["validation_accuracy"] = py::array_t<double>(val_acc.size(), val_acc.data());
          }
        } else {
          history["objective"] = py::array_t<double>(objective.size(), objective.data());
          history["gradient"] = py::array_t<double>(gradient.size(), gradient.data());
        }
        history["seconds"] = py::array_t<double>(seconds.size(), seconds.data());
        py::array_t<float> w({model.outputs(), model.inputs()});
        std::memcpy(w.mutable_data(), model.weight().data(), model.weight().size() * sizeof(float));
        py::array_t<float> b(model.outputs());
        std::memcpy(b.mutable_data(), model.bias().data(), model.bias().size() * sizeof(float));
        // SGD with early stopping: the epoch whose weights were kept (0 without validation).
        return py::make_tuple(w, b, r.iterations, r.objective, r.converged, view.is_view(), history,
                              best_validation_epoch(r.history));
      },
      py::arg("X"), py::arg("shape"), py::arg("y"), py::arg("classes"), py::arg("sample_weight"),
      py::arg("solver"), py::arg("C"), py::arg("penalize"), py::arg("tol"), py::arg("max_iter"),
      py::arg("threads"), py::arg("seed"), py::arg("coef"), py::arg("intercept"), py::arg("epochs"),
      py::arg("batch_size"), py::arg("lr"), py::arg("momentum"), py::arg("softmax_always") = false,
      py::arg("lesson_init") = false, py::arg("optimizer") = "sgd",
      py::arg("schedule") = "constant", py::arg("average") = 0, py::arg("weight_decay") = 0.0,
      py::arg("fit_intercept") = true, py::arg("step_every") = 1, py::arg("step_gamma") = 0.1,
      py::arg("warmup") = 0, py::arg("validation_fraction") = 0.0, py::arg("early_stopping") = 0,
      py::arg("test_X") = py::none(), py::arg("test_shape") = py::none(),
      py::arg("test_y") = py::none(), py::arg("lbfgs_memory") = 10,
      "Fits on X (an array or a CSR triple) and y (class indices); returns (coef, intercept, "
      "n_iter, objective, converged, read_in_place, history, kept_epoch).");

  mod.def(
      "decision_function",
      [](const py::object& x, const py::object& shape,
         const py::array_t<float, py::array::c_style | py::array::forcecast>& coef,
         const py::array_t<float, py::array::c_style | py::array::forcecast>& intercept,
         std::size_t classes, unsigned threads, const std::string& what) {
        const Input in = input_of(x, shape);
        const FeatureView view = in.view();
        const SoftmaxRegression model = model_of(coef, intercept, classes);
        Matrix<double> out;
        {
          py::gil_scoped_release release;
          out = what == "proba" ? predict_proba(model, view, threads)
                                : decision_function(model, view, threads);
        }
        return to_numpy(out);
      },
      py::arg("X"), py::arg("shape"), py::arg("coef"), py::arg("intercept"), py::arg("classes"),
      py::arg("threads"), py::arg("what") = "decision",
      "The scores X coefᵀ + intercept (what='decision') or the class probabilities "
      "(what='proba'), float64.");

  mod.def(
      "save_model",
      [](const std::string& path,
         const py::array_t<float, py::array::c_style | py::array::forcecast>& coef,
         const py::array_t<float, py::array::c_style | py::array::forcecast>& intercept,
         const std::vector<std::string>& class_names, const std::vector<std::size_t>& input_shape,
         float input_scale, const std::vector<float>& input_mean,
         const std::vector<float>& input_std, const std::map<std::string, std::string>& notes) {
        ModelInfo info;
        info.class_names = class_names;
        info.input_shape = input_shape;
        info.input_scale = input_scale;
        info.input_mean = input_mean;
        info.input_std = input_std;
        info.notes = notes;
        const SoftmaxRegression model = model_of(coef, intercept, class_names.size());
        try {
          save_model(path, model, info);
        } catch (const std::invalid_argument& e) {
          throw InputError(path + ": " + e.what());
        }
      },
      "Writes a softreg model file (docs/formats.md) that the CLI reads.");

  mod.def(
      "load_model",
      [](const std::string& path) {
        const SavedModel saved = load_model(path);
        const SoftmaxRegression& m = saved.model;
        py::array_t<float> w({m.outputs(), m.inputs()});
        std::memcpy(w.mutable_data(), m.weight().data(), m.weight().size() * sizeof(float));
        py::array_t<float> b(m.outputs());
        std::memcpy(b.mutable_data(), m.bias().data(), m.bias().size() * sizeof(float));
        return py::dict(py::arg("coef") = w, py::arg("intercept") = b,
                        py::arg("class_names") = saved.info.class_names,
                        py::arg("input_shape") = saved.info.input_shape,
                        py::arg("input_scale") = saved.info.input_scale,
                        py::arg("input_mean") = saved.info.input_mean,
                        py::arg("input_std") = saved.info.input_std,
                        py::arg("notes") = saved.info.notes);
      },
      "Reads and checks a softreg model file.");

  mod.def(
      "text_rows",
      [](const std::vector<std::string>& documents, const std::string& note) {
        const std::optional<TextOptions> o =
            model_text_options({{"text_features", note}}, "the model");
        std::vector<std::int64_t> indptr = {0};
        std::vector<std::int32_t> indices;
        std::vector<float> values;
        {
          py::gil_scoped_release release;
          for (const std::string& d : documents) {
            for (const auto& [col, v] : text_features(d, *o)) {
              indices.push_back(static_cast<std::int32_t>(col));
              values.push_back(v);
            }
            indptr.push_back(static_cast<std::int64_t>(indices.size()));
          }
        }
        const auto array = [](const auto& v) {
          using T = typename std::decay_t<decltype(v)>::value_type;
          py::array_t<T> a(v.size());
          std::copy(v.begin(), v.end(), a.mutable_data());
          return a;
        };
        return py::make_tuple(array(indptr), array(indices), array(values), o->columns());
      },
      py::arg("documents"), py::arg("note"),
      "Documents as the model's text features (its text_features note): CSR (indptr, indices, "
      "data) and the number of columns.");

  py::module_ ops = mod.def_submodule("ops", "The lesson's functions on float64 arrays");
  add_ops(ops);
  py::module_ inf = mod.def_submodule("info", "The guessing game's mathematics");
  add_info(inf);
}
