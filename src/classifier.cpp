#include "softreg/classifier.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
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

FeatureView::FeatureView(std::size_t rows, std::size_t cols, const char* what)
    : rows_(rows), name_(what) {
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

FeatureView FeatureView::of(const Dataset& d) {
  FeatureView v(d.rows, d.inputs, d.source.c_str());
  v.x_ = Features::of(d);
  return v;
}

FeatureView FeatureView::of(const CsrMatrix& m, const char* what) {
  FeatureView v(m.rows, m.cols, what);
  // indptr first, whole: every index and value read below is then within the caller's arrays.
  if (index_at(m.indptr, m.indptr64, 0) != 0) bad(what, "indptr does not start at 0");
  for (std::size_t i = 0; i < m.rows; ++i)
    if (index_at(m.indptr, m.indptr64, i + 1) < index_at(m.indptr, m.indptr64, i))
      bad(what, "indptr decreases at row " + std::to_string(i));
  const std::int64_t last = index_at(m.indptr, m.indptr64, m.rows);
  if (static_cast<std::uint64_t>(last) > std::min(m.indices_size, m.data_size))
    bad(what, "indptr ends at " + std::to_string(last) + " but indices has " +
                  std::to_string(m.indices_size) + " entries and data " +
                  std::to_string(m.data_size));
  bool sorted = true;
  for (std::size_t i = 0; i < m.rows; ++i) {
    const std::int64_t b = index_at(m.indptr, m.indptr64, i);
    const std::int64_t e = index_at(m.indptr, m.indptr64, i + 1);
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

Examples examples_of(const LabelledView& v, std::size_t inputs, const char* what) {
  Examples e;
  e.x.inputs = inputs;
  e.source = what;
  if (v.x == nullptr) return e;
  if (v.x->cols() != inputs)
    throw InputError(v.x->name() + " has " + std::to_string(v.x->cols()) +
                     " features but the model " + std::to_string(inputs));
  if (v.labels.size() != v.x->rows())
    throw InputError(v.x->name() + ": " + std::to_string(v.labels.size()) + " labels for " +
                     std::to_string(v.x->rows()) + " rows");
  e.x = v.x->features();
  e.labels = v.labels;
  e.rows = v.x->rows();
  e.source = v.x->name();
  return e;
}

// SGD's options: the caller's, with its threads and the penalty as the weight decay λ.
TrainOptions o_for_sgd(const ClassifierOptions& options, std::size_t rows) {
  TrainOptions o = options.sgd;
  o.threads = options.threads;
  o.sgd.weight_decay = static_cast<float>(options.penalty.lambda_for(static_cast<double>(rows)));
  return o;
}

// Rows `rows` of x with their labels, copied into a data set of x's storage (bytes, floats or
// sparse rows).
Dataset copy_rows(const Features& x, std::span<const std::int32_t> labels,
                  std::span<const std::uint32_t> rows, const std::string& source) {
  Dataset d;
  d.rows = rows.size();
  d.inputs = x.inputs;
  d.scale = x.scale;
  d.shape = {x.inputs};
  d.source = source;
  const std::size_t n = x.inputs;
  if (x.sparse()) d.sparse.offsets = {0};
  for (const std::uint32_t i : rows) {
    d.labels.push_back(labels[i]);
    if (x.sparse()) {
      for (std::uint64_t e = x.offsets[i]; e < x.offsets[i + 1]; ++e) {
        d.sparse.cols.push_back(x.cols[e]);
        if (x.vals != nullptr) d.sparse.vals.push_back(x.vals[e]);
      }
      d.sparse.offsets.push_back(d.sparse.cols.size());
    } else if (x.bytes != nullptr) {
      d.pixels.insert(d.pixels.end(), x.bytes + i * n, x.bytes + (i + 1) * n);
    } else {
      d.values.insert(d.values.end(), x.floats + i * n, x.floats + (i + 1) * n);
    }
  }
  return d;
}

}  // namespace

ClassifierFit fit_classifier(SoftmaxRegression& model, const FeatureView& x,
                             std::span<const std::int32_t> labels,
                             std::span<const double> sample_weight,
                             const ClassifierOptions& options, const FitWatch& watch) {
  // Across processes each checks its own rows, and the rows and weights of all together; an
  // error of any ends every process with it (agree_on_errors).
  const Comm* comm = options.comm != nullptr && options.comm->size() > 1 ? options.comm : nullptr;
  std::string error;
  double rows = static_cast<double>(x.rows()), weight_sum = 0;
  bool weighted = !sample_weight.empty();
  try {
    if (x.cols() != model.inputs())
      throw InputError(x.name() + " has " + std::to_string(x.cols()) + " features but the model " +
                       std::to_string(model.inputs()));
    if (labels.size() != x.rows())
      throw InputError("y has " + std::to_string(labels.size()) + " labels for " +
                       std::to_string(x.rows()) + " rows of " + x.name());
    for (std::size_t i = 0; i < labels.size(); ++i)
      if (labels[i] < 0 || static_cast<std::size_t>(labels[i]) >= model.classes())
        throw InputError("y: label " + std::to_string(labels[i]) + " at row " + std::to_string(i) +
                         " is not a class index in [0, " + std::to_string(model.classes()) + ")");
    if (!sample_weight.empty()) {
      if (sample_weight.size() != x.rows())
        throw InputError("sample_weight has " + std::to_string(sample_weight.size()) +
                         " entries for " + std::to_string(x.rows()) + " rows");
      for (const double w : sample_weight) {
        if (!std::isfinite(w) || w < 0)
          throw InputError("sample_weight: every weight must be finite and >= 0");
        weight_sum += w;
      }
    }
  } catch (const InputError& e) {
    if (comm == nullptr) throw;
    error = e.what();
  }
  if (comm != nullptr) {
    agree_on_errors(*comm, error);
    // Rows, weighted parts and weights of every process (a part of no rows has no weights).
    const std::vector<double> mine = {rows, weighted ? 1.0 : 0.0, weight_sum};
    const std::vector<std::size_t> counts(static_cast<std::size_t>(comm->size()), 3);
    std::vector<double> all(3 * counts.size());
    comm->allgather(mine, counts, all);
    rows = weight_sum = 0;
    weighted = false;
    for (std::size_t p = 0; p < counts.size(); ++p) {
      rows += all[3 * p];
      weighted = weighted || all[3 * p + 1] > 0;
      weight_sum += all[3 * p + 2];
    }
  }
  if (rows == 0) throw InputError(x.name() + ": no rows");
  if (weighted && weight_sum <= 0)
    throw InputError(x.name() +
                     ": the rows' weights (sample weights times class weights) sum to 0: no row "
                     "would count");
  const Penalty& penalty = options.penalty;
  if (!(penalty.value >= 0 && std::isfinite(penalty.value)) ||
      (penalty.kind == Penalty::c && penalty.value == 0))
    throw InputError(penalty.kind == Penalty::c ? "C must be a finite number > 0"
                                                : "the penalty λ must be a finite number >= 0");
  if (options.validation_fraction != 0 && options.solver != Solver::sgd)
    throw InputError("validation_fraction is for sgd (lbfgs and newton fit to the optimum)");
  ClassifierFit result;
  if (options.solver == Solver::sgd) {
    if (!options.fit_intercept)
      throw InputError("fit_intercept=False is for lbfgs and newton; sgd always has an intercept");
    if (!sample_weight.empty())
      throw InputError(
          "sample_weight and class_weight weigh the objective of lbfgs and newton; "
          "sgd does not take them");
    Examples train{x.features(), labels, x.rows(), x.name()};
    const Examples test = examples_of(watch.test, x.cols(), "no test set");
    Rng own(options.seed);
    Rng& rng = watch.rng != nullptr ? *watch.rng : own;
    // A validation split: the training rows in place (in X's order), the held-out ones copied.
    std::vector<std::uint32_t> kept, held;
    Dataset held_out;
    if (options.validation_fraction != 0) {
      if (watch.validation.x != nullptr)
        throw InputError("validation_fraction holds rows out of X: give it or a validation set");
      char fraction[32];
      std::snprintf(fraction, sizeof fraction, "validation_fraction %g",
                    options.validation_fraction);
      const std::vector<std::uint8_t> out = stratified_held_out(
          labels, model.classes(), options.validation_fraction, rng, "validation_fraction");
      std::vector<std::size_t> count(model.classes(), 0);
      for (std::uint32_t i = 0; i < out.size(); ++i) {
        (out[i] ? held : kept).push_back(i);
        if (!out[i]) ++count[static_cast<std::size_t>(labels[i])];
      }
      for (std::size_t c = 0; c < count.size(); ++c)
        if (count[c] == 0)
          throw InputError(std::string(fraction) + " leaves class " + std::to_string(c) + " of " +
                           x.name() + " without a training row");
      if (held.empty())
        throw InputError(std::string(fraction) + " holds out no row of " + x.name());
      held_out = copy_rows(x.features(), labels, held, x.name() + " (validation split)");
      train.subset = kept;
      train.rows = kept.size();
    }
    // λ of C is 1 / (C n) for the n rows trained on (softreg train's, after its split; across
    // processes, every process's rows).
    const std::size_t trained_rows = comm != nullptr ? static_cast<std::size_t>(rows) : train.rows;
    TrainOptions sgd_options = o_for_sgd(options, trained_rows);
    sgd_options.comm = comm;
    Trainer trainer(sgd_options);
    if (!held.empty()) trainer.validate_on(held_out);
    if (options.lesson_init) model.init(rng);
    if (watch.validation.x != nullptr)
      trainer.validate_on(examples_of(watch.validation, x.cols(), "validation"));
    if (watch.resume != nullptr) trainer.resume_from(*watch.resume);
    TrainCallbacks callbacks = watch.epochs;
    callbacks.stop_requested = watch.stop_requested;
    result.history = trainer.fit(model, train, test, rng, callbacks);
    result.iterations = result.history.empty() ? 0 : result.history.back().epoch;
    result.objective = result.history.empty() ? 0.0 : result.history.back().loss;
    result.converged = true;
    result.lambda = penalty.lambda_for(static_cast<double>(trained_rows));
    return result;
  }
  FitOptions fo;
  fo.solver = options.solver;
  fo.penalty = penalty;
  fo.tol = options.tol;
  fo.max_iter = options.max_iter;
  fo.lbfgs_memory = options.lbfgs_memory;
  fo.fit_intercept = options.fit_intercept;
  fo.comm = options.comm;
  if (!options.fit_intercept) std::fill(model.bias().begin(), model.bias().end(), 0.0f);
  ThreadPool pool(options.threads);
  const FitResult r = fit(model, x.features(), labels, x.rows(), sample_weight, fo, pool,
                          watch.on_iteration, watch.stop_requested);
  if (r.solve.interrupted)
    throw Interrupted(
        "interrupted after iteration " + std::to_string(r.solve.iterations) + ": nothing was saved",
        r.solve.iterations);
  result.iterations = r.solve.iterations;
  result.objective = r.solve.objective;
  result.gradient = r.solve.gradient;
  result.converged = r.solve.converged;
  result.stopped = r.solve.stopped;
  result.lambda = r.lambda;
  result.seconds = r.seconds;
  return result;
}

Matrix<double> decision_function(const SoftmaxRegression& model, const FeatureView& view,
                                 unsigned threads) {
  if (view.cols() != model.inputs())
    throw InputError(view.name() + " has " + std::to_string(view.cols()) +
                     " features but the model " + std::to_string(model.inputs()));
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
        double s = 0;
        const float* wk = w.data() + k * d;
        if (x.sparse()) {
          for (std::uint64_t e = x.offsets[i]; e < x.offsets[i + 1]; ++e)
            s += static_cast<double>(wk[x.cols[e]]) * (x.vals != nullptr ? x.vals[e] : 1.0f);
        } else if (x.bytes != nullptr) {
          const std::uint8_t* row = x.bytes + i * d;
          for (std::size_t j = 0; j < d; ++j) s += static_cast<double>(wk[j]) * row[j];
        } else {
          const float* row = x.floats + i * d;
          for (std::size_t j = 0; j < d; ++j) s += static_cast<double>(wk[j]) * row[j];
        }
        out(i, k) = static_cast<double>(x.scale) * s + b[k];
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
