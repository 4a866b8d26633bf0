// softreg._core: the Python module's C++ half (pybind11), a thin layer over classifier.hpp. It
// reads numpy arrays in place when their dtype and layout allow (float32 C order; CSR with int64
// indptr, int32 indices and float32 data), releases the GIL while fitting and predicting, and
// turns softreg's InputError into ValueError. The estimators are python/softreg/*.py.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstring>
#include <optional>
#include <string>

#include "softreg/classifier.hpp"
#include "softreg/error.hpp"
#include "softreg/ops.hpp"

namespace py = pybind11;
using namespace softreg;

namespace {

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
      m.f64 = dense.dtype().is(py::dtype::of<double>());
      if (!m.f64 && !dense.dtype().is(py::dtype::of<float>()))
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
        if (a.dtype().is(py::dtype::of<double>())) return true;
        if (a.dtype().is(py::dtype::of<float>())) return false;
        throw InputError(std::string(what) + ": expected float32 or float64");
      }
      if (a.dtype().is(py::dtype::of<std::int64_t>())) return true;
      if (a.dtype().is(py::dtype::of<std::int32_t>())) return false;
      throw InputError(std::string(what) + ": expected int32 or int64 indices");
    };
    m.indptr64 = kind(indptr, "X.indptr", false);
    m.indices64 = kind(indices, "X.indices", false);
    m.data64 = kind(data, "X.data", true);
    if (static_cast<std::size_t>(indptr.shape(0)) != rows + 1)
      throw InputError("X.indptr: expected rows + 1 entries");
    const std::int64_t nnz = m.indptr64 ? static_cast<const std::int64_t*>(indptr.data())[rows]
                                        : static_cast<const std::int32_t*>(indptr.data())[rows];
    if (nnz < 0 || indices.shape(0) < nnz || data.shape(0) < nnz)
      throw InputError("X: indptr's last entry is not the number of stored values");
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
  const Output output = outputs == 1 ? Output::logistic : Output::softmax;
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

}  // namespace

PYBIND11_MODULE(_core, mod) {
  mod.doc() = "softreg's C++ core: fit and predict on numpy arrays and CSR triples";
  py::register_exception<InputError>(mod, "InputError", PyExc_ValueError);

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
         int epochs, std::size_t batch_size, double lr, double momentum) {
        const Input in = input_of(x, shape);
        const FeatureView view = in.view();
        if (classes < 2) throw InputError("y: needs at least two classes");
        const Output output = classes == 2 ? Output::logistic : Output::softmax;
        SoftmaxRegression model(view.cols(), classes, output);
        if (coef && intercept) model = model_of(*coef, *intercept, classes);
        ClassifierOptions o;
        o.solver = solver == "newton" ? Solver::newton
                   : solver == "sgd"  ? Solver::sgd
                                      : Solver::lbfgs;
        o.C = C;
        o.penalize = penalize;
        o.tol = tol;
        o.max_iter = max_iter;
        o.threads = threads;
        o.seed = seed;
        o.sgd.epochs = epochs;
        o.sgd.batch_size = batch_size;
        o.sgd.sgd.lr = static_cast<float>(lr);
        o.sgd.sgd.momentum = static_cast<float>(momentum);
        std::span<const double> weights;
        if (sample_weight)
          weights = {sample_weight->data(), static_cast<std::size_t>(sample_weight->size())};
        const std::span<const std::int32_t> labels(y.data(), static_cast<std::size_t>(y.size()));
        ClassifierFit r;
        {
          py::gil_scoped_release release;
          r = fit_classifier(model, view, labels, weights, o);
        }
        py::array_t<float> w({model.outputs(), model.inputs()});
        std::memcpy(w.mutable_data(), model.weight().data(), model.weight().size() * sizeof(float));
        py::array_t<float> b(model.outputs());
        std::memcpy(b.mutable_data(), model.bias().data(), model.bias().size() * sizeof(float));
        return py::make_tuple(w, b, r.iterations, r.objective, r.converged, view.is_view());
      },
      py::arg("X"), py::arg("shape"), py::arg("y"), py::arg("classes"), py::arg("sample_weight"),
      py::arg("solver"), py::arg("C"), py::arg("penalize"), py::arg("tol"), py::arg("max_iter"),
      py::arg("threads"), py::arg("seed"), py::arg("coef"), py::arg("intercept"), py::arg("epochs"),
      py::arg("batch_size"), py::arg("lr"), py::arg("momentum"),
      "Fits on X (an array or a CSR triple) and y (class indices); returns (coef, intercept, "
      "n_iter, objective, converged, read_in_place).");

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
}
