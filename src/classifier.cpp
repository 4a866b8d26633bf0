#include "softreg/classifier.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

#include "softreg/error.hpp"

namespace softreg {

namespace {

template <typename T>
T element(const void* data, std::size_t i) {
  return static_cast<const T*>(data)[i];
}

std::int64_t index_at(const void* data, bool wide, std::size_t i) {
  return wide ? element<std::int64_t>(data, i) : element<std::int32_t>(data, i);
}

double value_at(const void* data, bool wide, std::size_t i) {
  return wide ? element<double>(data, i) : element<float>(data, i);
}

[[noreturn]] void bad(const char* what, const std::string& message) {
  throw InputError(std::string(what) + ": " + message);
}

void check_value(double v, const char* what, std::size_t i, std::size_t j) {
  if (!std::isfinite(v) || std::fabs(v) > 3.4e38)
    bad(what, "the value at row " + std::to_string(i) + ", column " + std::to_string(j) +
                  " is not a finite float32 number");
}

}  // namespace

FeatureView::FeatureView(std::size_t rows, std::size_t cols, const char* what) : rows_(rows) {
  if (cols == 0) bad(what, "no features (0 columns)");
  if (cols > 0xffffffffu) bad(what, "more than 2^32 - 1 columns");
  x_.inputs = cols;
}

FeatureView FeatureView::of(const DenseMatrix& m, const char* what) {
  FeatureView v(m.rows, m.cols, what);
  const bool c_order = !m.f64 && m.col_stride == 1 &&
                       (m.rows <= 1 || m.row_stride == static_cast<std::ptrdiff_t>(m.cols));
  if (c_order) {
    const auto* f = static_cast<const float*>(m.data);
    for (std::size_t i = 0; i < m.rows * m.cols; ++i)
      if (!std::isfinite(f[i])) check_value(f[i], what, i / m.cols, i % m.cols);
    v.x_.floats = f;
    return v;
  }
  v.view_ = false;
  v.values_.resize(m.rows * m.cols);
  for (std::size_t i = 0; i < m.rows; ++i)
    for (std::size_t j = 0; j < m.cols; ++j) {
      const auto at = static_cast<std::size_t>(static_cast<std::ptrdiff_t>(i) * m.row_stride +
                                               static_cast<std::ptrdiff_t>(j) * m.col_stride);
      const double x = value_at(m.data, m.f64, at);
      check_value(x, what, i, j);
      v.values_[i * m.cols + j] = static_cast<float>(x);
    }
  v.x_.floats = v.values_.data();
  return v;
}

FeatureView FeatureView::of(const CsrMatrix& m, const char* what) {
  FeatureView v(m.rows, m.cols, what);
  if (index_at(m.indptr, m.indptr64, 0) != 0) bad(what, "indptr does not start at 0");
  bool sorted = true;
  for (std::size_t i = 0; i < m.rows; ++i) {
    const std::int64_t b = index_at(m.indptr, m.indptr64, i);
    const std::int64_t e = index_at(m.indptr, m.indptr64, i + 1);
    if (e < b) bad(what, "indptr decreases at row " + std::to_string(i));
    for (std::int64_t k = b; k < e; ++k) {
      const std::int64_t j = index_at(m.indices, m.indices64, static_cast<std::size_t>(k));
      if (j < 0 || static_cast<std::size_t>(j) >= m.cols)
        bad(what, "column index " + std::to_string(j) + " in row " + std::to_string(i) +
                      " is outside [0, " + std::to_string(m.cols) + ")");
      if (k > b && j <= index_at(m.indices, m.indices64, static_cast<std::size_t>(k - 1)))
        sorted = false;
      check_value(value_at(m.data, m.data64, static_cast<std::size_t>(k)), what, i,
                  static_cast<std::size_t>(j));
    }
  }
  const auto nnz = static_cast<std::size_t>(index_at(m.indptr, m.indptr64, m.rows));
  if (sorted && m.indptr64 && !m.indices64 && !m.data64) {
    v.x_.offsets = static_cast<const std::uint64_t*>(m.indptr);
    v.x_.cols = static_cast<const std::uint32_t*>(m.indices);
    v.x_.vals = static_cast<const float*>(m.data);
    return v;
  }
  // Converted once; a row's duplicate columns are summed (scipy's meaning) and its columns sorted.
  v.view_ = false;
  v.offsets_.reserve(m.rows + 1);
  v.offsets_.push_back(0);
  v.cols_.reserve(nnz);
  v.values_.reserve(nnz);
  std::vector<std::pair<std::uint32_t, double>> row;
  for (std::size_t i = 0; i < m.rows; ++i) {
    const auto b = static_cast<std::size_t>(index_at(m.indptr, m.indptr64, i));
    const auto e = static_cast<std::size_t>(index_at(m.indptr, m.indptr64, i + 1));
    row.clear();
    for (std::size_t k = b; k < e; ++k)
      row.emplace_back(static_cast<std::uint32_t>(index_at(m.indices, m.indices64, k)),
                       value_at(m.data, m.data64, k));
    std::sort(row.begin(), row.end(),
              [](const auto& a, const auto& c) { return a.first < c.first; });
    for (std::size_t k = 0; k < row.size(); ++k) {
      if (!v.cols_.empty() && v.cols_.size() > v.offsets_.back() &&
          v.cols_.back() == row[k].first) {
        v.values_.back() = static_cast<float>(v.values_.back() + row[k].second);
        continue;
      }
      v.cols_.push_back(row[k].first);
      v.values_.push_back(static_cast<float>(row[k].second));
    }
    v.offsets_.push_back(v.cols_.size());
  }
  v.x_.offsets = v.offsets_.data();
  v.x_.cols = v.cols_.data();
  v.x_.vals = v.values_.data();
  return v;
}

namespace {

// A Dataset of the view's rows for the SGD trainer, which reads Datasets (a copy).
Dataset dataset_of(const FeatureView& view, std::span<const std::int32_t> labels,
                   std::size_t classes) {
  const Features& x = view.features();
  Dataset d;
  d.rows = view.rows();
  d.inputs = view.cols();
  d.shape = {d.inputs};
  d.source = "X";
  for (std::size_t k = 0; k < classes; ++k) d.class_names.push_back(std::to_string(k));
  d.labels.assign(labels.begin(), labels.end());
  if (x.sparse()) {
    d.sparse.offsets.assign(x.offsets, x.offsets + d.rows + 1);
    d.sparse.cols.assign(x.cols, x.cols + x.offsets[d.rows]);
    d.sparse.vals.assign(x.vals, x.vals + x.offsets[d.rows]);
  } else {
    d.values.assign(x.floats, x.floats + d.rows * d.inputs);
  }
  return d;
}

}  // namespace

ClassifierFit fit_classifier(SoftmaxRegression& model, const FeatureView& x,
                             std::span<const std::int32_t> labels,
                             std::span<const double> sample_weight,
                             const ClassifierOptions& options) {
  if (x.cols() != model.inputs())
    throw InputError("X has " + std::to_string(x.cols()) + " features but the model " +
                     std::to_string(model.inputs()));
  if (labels.size() != x.rows())
    throw InputError("y has " + std::to_string(labels.size()) + " labels for " +
                     std::to_string(x.rows()) + " rows of X");
  if (x.rows() == 0) throw InputError("X: no rows");
  for (std::size_t i = 0; i < labels.size(); ++i)
    if (labels[i] < 0 || static_cast<std::size_t>(labels[i]) >= model.classes())
      throw InputError("y: label " + std::to_string(labels[i]) + " at row " + std::to_string(i) +
                       " is not a class index in [0, " + std::to_string(model.classes()) + ")");
  if (!sample_weight.empty()) {
    if (sample_weight.size() != x.rows())
      throw InputError("sample_weight has " + std::to_string(sample_weight.size()) +
                       " entries for " + std::to_string(x.rows()) + " rows");
    double sum = 0;
    for (const double w : sample_weight) {
      if (!std::isfinite(w) || w < 0)
        throw InputError("sample_weight: every weight must be finite and >= 0");
      sum += w;
    }
    if (sum <= 0) throw InputError("sample_weight: the weights sum to 0");
  }
  ClassifierFit result;
  if (options.solver == Solver::sgd) {
    if (!options.fit_intercept)
      throw InputError("fit_intercept=False is for lbfgs and newton; sgd always has an intercept");
    if (!sample_weight.empty())
      throw InputError(
          "sample_weight and class_weight weigh the objective of lbfgs and newton; "
          "sgd does not take them");
    const Dataset train = dataset_of(x, labels, model.classes());
    Dataset test = train.empty_like("no test set");
    if (train.is_sparse()) test.sparse.offsets = {0};
    TrainOptions o = options.sgd;
    o.threads = options.threads;
    if (options.penalize)
      o.sgd.weight_decay = static_cast<float>(1.0 / (options.C * static_cast<double>(x.rows())));
    Rng rng(options.seed);
    if (options.lesson_init) model.init(rng);
    const std::vector<EpochMetrics> history = Trainer(o).fit(model, train, test, rng);
    result.iterations = static_cast<int>(history.size());
    result.objective = history.empty() ? 0.0 : history.back().loss;
    result.converged = true;
    result.lambda = o.sgd.weight_decay;
    return result;
  }
  FitOptions fo;
  fo.solver = options.solver;
  fo.penalty = options.penalize ? Penalty{Penalty::c, options.C} : Penalty{Penalty::lambda, 0.0};
  if (options.penalize && !(options.C > 0 && std::isfinite(options.C)))
    throw InputError("C must be a finite number > 0");
  fo.tol = options.tol;
  fo.max_iter = options.max_iter;
  fo.lbfgs_memory = options.lbfgs_memory;
  fo.fit_intercept = options.fit_intercept;
  if (!options.fit_intercept) std::fill(model.bias().begin(), model.bias().end(), 0.0f);
  ThreadPool pool(options.threads);
  const FitResult r = fit(model, x.features(), labels, x.rows(), sample_weight, fo, pool);
  result.iterations = r.solve.iterations;
  result.objective = r.solve.objective;
  result.converged = r.solve.converged;
  result.lambda = r.lambda;
  return result;
}

Matrix<double> decision_function(const SoftmaxRegression& model, const FeatureView& view,
                                 unsigned threads) {
  if (view.cols() != model.inputs())
    throw InputError("X has " + std::to_string(view.cols()) + " features but the model " +
                     std::to_string(model.inputs()));
  const Features& x = view.features();
  const std::size_t n = view.rows(), d = model.inputs(), k_out = model.outputs();
  Matrix<double> out(n, k_out);
  const std::span<const float> w = model.weight(), b = model.bias();
  constexpr std::size_t kBlock = 256;
  ThreadPool pool(threads);
  pool.run((n + kBlock - 1) / kBlock, [&](std::size_t t) {
    const std::size_t end = std::min(n, (t + 1) * kBlock);
    for (std::size_t i = t * kBlock; i < end; ++i)
      for (std::size_t k = 0; k < k_out; ++k) {
        double s = b[k];
        const float* wk = w.data() + k * d;
        if (x.sparse()) {
          for (std::uint64_t e = x.offsets[i]; e < x.offsets[i + 1]; ++e)
            s += static_cast<double>(wk[x.cols[e]]) * x.value(e);
        } else {
          const float* row = x.floats + i * d;
          for (std::size_t j = 0; j < d; ++j) s += static_cast<double>(wk[j]) * row[j];
        }
        out(i, k) = s;
      }
  });
  return out;
}

Matrix<double> predict_proba(const SoftmaxRegression& model, const FeatureView& x,
                             unsigned threads) {
  const Matrix<double> z = decision_function(model, x, threads);
  Matrix<double> p(z.rows, model.classes());
  for (std::size_t i = 0; i < z.rows; ++i) {
    if (model.output() == Output::logistic) {
      const double v = z(i, 0);
      const double p1 = v >= 0 ? 1.0 / (1.0 + std::exp(-v)) : std::exp(v) / (1.0 + std::exp(v));
      p(i, 0) = 1.0 - p1;
      p(i, 1) = p1;
      continue;
    }
    const auto row = z.row(i);
    const double m = *std::max_element(row.begin(), row.end());
    double sum = 0;
    for (std::size_t k = 0; k < z.cols; ++k) sum += (p(i, k) = std::exp(row[k] - m));
    for (std::size_t k = 0; k < z.cols; ++k) p(i, k) /= sum;
  }
  return p;
}

std::vector<std::int32_t> predict_classes(const SoftmaxRegression& model, const FeatureView& x,
                                          unsigned threads) {
  const Matrix<double> z = decision_function(model, x, threads);
  std::vector<std::int32_t> y(z.rows);
  for (std::size_t i = 0; i < z.rows; ++i) {
    if (model.output() == Output::logistic) {
      y[i] = z(i, 0) > 0 ? 1 : 0;
      continue;
    }
    const auto row = z.row(i);
    y[i] = static_cast<std::int32_t>(std::max_element(row.begin(), row.end()) - row.begin());
  }
  return y;
}

}  // namespace softreg
