#include "softreg/objective.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <stdexcept>
#include <string>
#include <utility>

namespace softreg {

namespace {

// Eight doubles in one register (AVX-512; the compiler splits it for narrower vectors).
typedef double Lanes __attribute__((vector_size(64)));
constexpr std::size_t kLanes = 8;
// Rows read and converted together: each row of W is loaded once for a pair of rows, and each
// entry of the gradient once for a group.
constexpr std::size_t kGroup = 8;
// Classes whose logits a row pair keeps in registers at once (2 x 10 accumulators).
constexpr std::size_t kClassBlock = 10;
// The most stripes (contiguous parts of the rows, each summed by one task into its own partial
// gradient): 24 divides among 1, 2, 3, 4, 6 and 8 threads. Fewer for small data or big models:
// below 1024 rows a stripe's work (tens of microseconds) is less than waking a thread.
constexpr std::size_t kMaxStripes = 24;
constexpr std::size_t kMinStripeRows = 1024;
constexpr std::size_t kMaxPartialBytes = std::size_t{256} << 20;
// Sparse rows across processes: the columns whose running sums go from one process to the next
// in one message (16384 x K doubles).
constexpr std::size_t kColumnsPerMessage = 16384;

inline Lanes load(const double* p) {
  Lanes v;
  __builtin_memcpy(&v, p, sizeof v);
  return v;
}

inline void store(double* p, Lanes v) {
  __builtin_memcpy(p, &v, sizeof v);
}

// The lanes' sum in a fixed order.
inline double lane_sum(Lanes v) {
  return ((v[0] + v[4]) + (v[2] + v[6])) + ((v[1] + v[5]) + (v[3] + v[7]));
}

// o0[k] = Σⱼ w[k][j] x0[j] and o1[k] likewise for KB classes (rows of w, `d` apart); x0 and x1
// are `padded` long with zeros past d, and w's rows are read only to d.
template <std::size_t KB>
void logits_pair(const double* w, std::size_t d, const double* x0, const double* x1, double* o0,
                 double* o1) {
  Lanes a0[KB] = {}, a1[KB] = {};
  const std::size_t full = d / kLanes * kLanes;
  for (std::size_t j = 0; j < full; j += kLanes) {
    const Lanes v0 = load(x0 + j), v1 = load(x1 + j);
    for (std::size_t k = 0; k < KB; ++k) {
      const Lanes wv = load(w + k * d + j);
      a0[k] += wv * v0;
      a1[k] += wv * v1;
    }
  }
  for (std::size_t k = 0; k < KB; ++k) {
    double t0 = 0, t1 = 0;
    for (std::size_t j = full; j < d; ++j) {
      t0 += w[k * d + j] * x0[j];
      t1 += w[k * d + j] * x1[j];
    }
    o0[k] = lane_sum(a0[k]) + t0;
    o1[k] = lane_sum(a1[k]) + t1;
  }
}

using PairFn = void (*)(const double*, std::size_t, const double*, const double*, double*, double*);

template <std::size_t... KB>
constexpr std::array<PairFn, sizeof...(KB)> pair_table(std::index_sequence<KB...>) {
  return {&logits_pair<KB + 1>...};
}

// logits_pair for 1..kClassBlock classes.
constexpr auto kPairFns = pair_table(std::make_index_sequence<kClassBlock>{});

// The logits of `rows` (<= kGroup) converted rows x (`padded` apart) under params [W; b]:
// out[r][k], k < k_out.
void group_logits(const double* params, std::size_t k_out, std::size_t d, const double* x,
                  std::size_t padded, std::size_t rows, double* out) {
  const double* b = params + k_out * d;
  for (std::size_t r = 0; r < rows; r += 2) {
    const double* x0 = x + r * padded;
    const double* x1 = r + 1 < rows ? x0 + padded : x0;  // an odd last row pairs with itself
    double o1[kClassBlock];
    for (std::size_t k0 = 0; k0 < k_out; k0 += kClassBlock) {
      const std::size_t kb = std::min(kClassBlock, k_out - k0);
      double* row0 = out + r * k_out + k0;
      kPairFns[kb - 1](params + k0 * d, d, x0, x1, row0, o1);
      if (r + 1 < rows) std::copy(o1, o1 + kb, out + (r + 1) * k_out + k0);
    }
  }
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t k = 0; k < k_out; ++k) out[r * k_out + k] += b[k];
}

// p[j] += Σ_r g[r] x[r][j] for j < full, the rows added in order: R rows known at compile time
// (a whole group) unroll into one chain of FMAs per vector.
template <std::size_t R>
void add_rows(const double* g, const double* x, std::size_t padded, std::size_t full, double* p) {
  for (std::size_t j = 0; j < full; j += kLanes) {
    Lanes acc = load(p + j);
    for (std::size_t r = 0; r < R; ++r) acc += g[r] * load(x + r * padded + j);
    store(p + j, acc);
  }
}

void add_rows(const double* g, const double* x, std::size_t padded, std::size_t full, double* p,
              std::size_t rows) {
  if (rows == kGroup) return add_rows<kGroup>(g, x, padded, full, p);
  for (std::size_t j = 0; j < full; j += kLanes) {
    Lanes acc = load(p + j);
    for (std::size_t r = 0; r < rows; ++r) acc += g[r] * load(x + r * padded + j);
    store(p + j, acc);
  }
}

// partial[k][j] += Σ_r coef[r][k] x[r][j] for the group's rows in row order, and the intercept's
// partial[K d + k] += Σ_r coef[r][k].
void group_backward(const double* coef, std::size_t k_out, std::size_t d, const double* x,
                    std::size_t padded, std::size_t rows, double* partial) {
  const std::size_t full = d / kLanes * kLanes;
  for (std::size_t k = 0; k < k_out; ++k) {
    double g[kGroup];
    bool any = false;
    for (std::size_t r = 0; r < rows; ++r) any = (g[r] = coef[r * k_out + k]) != 0.0 || any;
    if (!any) continue;
    double* p = partial + k * d;
    add_rows(g, x, padded, full, p, rows);
    for (std::size_t j = full; j < d; ++j)
      for (std::size_t r = 0; r < rows; ++r) p[j] += g[r] * x[r * padded + j];
    for (std::size_t r = 0; r < rows; ++r) partial[k_out * d + k] += g[r];
  }
}

}  // namespace

std::vector<double> parameters_of(const SoftmaxRegression& model) {
  std::vector<double> theta(model.weight().begin(), model.weight().end());
  theta.insert(theta.end(), model.bias().begin(), model.bias().end());
  return theta;
}

void set_parameters(SoftmaxRegression& model, std::span<const double> theta) {
  const std::size_t w = model.weight().size();
  if (theta.size() != w + model.bias().size())
    throw std::invalid_argument("set_parameters: " + std::to_string(theta.size()) +
                                " parameters for a model of " +
                                std::to_string(w + model.bias().size()));
  for (std::size_t i = 0; i < w; ++i) model.weight()[i] = static_cast<float>(theta[i]);
  for (std::size_t k = 0; k < model.bias().size(); ++k)
    model.bias()[k] = static_cast<float>(theta[w + k]);
}

namespace {

// The stripes of dense rows: they depend on the data's shape only, never on the threads or the
// processes.
std::size_t dense_stripes(std::size_t rows, std::size_t dimension) {
  const std::size_t by_memory = std::max<std::size_t>(1, kMaxPartialBytes / (8 * dimension));
  return std::max<std::size_t>(
      1, std::min({kMaxStripes, (rows + kMinStripeRows - 1) / kMinStripeRows, by_memory}));
}

}  // namespace

RowRange objective_rows(std::size_t rows, std::size_t inputs, std::size_t outputs,
                        std::uint32_t parts, std::uint32_t part) {
  if (parts == 0 || part >= parts) throw std::invalid_argument("objective_rows: part");
  const std::size_t stripes = dense_stripes(rows, outputs * (inputs + 1));
  const RowRange held = shard_rows(stripes, parts, part);  // the stripes, cut as rows are
  return {rows * held.begin / stripes, rows * held.end / stripes};
}

Objective::Objective(const Features& x, std::span<const std::int32_t> labels, std::size_t rows,
                     std::size_t inputs, std::size_t classes, Output output, double lambda,
                     std::span<const double> weights, ThreadPool& pool, bool hessian,
                     const Sharding& sharding)
    : x_(x),
      labels_(labels),
      rows_(rows),
      inputs_(inputs),
      outputs_(output == Output::logistic ? 1 : classes),
      output_(output),
      lambda_(lambda),
      weights_(weights),
      pool_(pool),
      hessian_(hessian) {
  const bool sharded = sharding.comm != nullptr && sharding.comm->size() > 1;
  if (rows == 0 && !sharded) throw std::invalid_argument("Objective: no rows");
  if (labels.size() < rows) throw std::invalid_argument("Objective: fewer labels than rows");
  if (!weights.empty() && weights.size() != rows)
    throw std::invalid_argument("Objective: one weight per row");
  if (!(lambda >= 0) || !std::isfinite(lambda)) throw std::invalid_argument("Objective: lambda");
  if (output == Output::logistic && classes != 2)
    throw std::invalid_argument("Objective: a logistic model has two classes");
  if (x.sparse()) {
    // Stripes of the rows (of all processes') for the losses and the intercept's sums; the
    // gradient is summed column by column over the transpose, built here once.
    global_rows_ = rows;
    if (sharded) {
      comm_ = sharding.comm;
      const std::vector<double> held = allgather_values(*comm_, static_cast<double>(rows));
      std::size_t total = 0;
      for (std::size_t p = 0; p < held.size(); ++p) {
        process_first_row_.push_back(total);
        if (static_cast<int>(p) == comm_->rank()) first_row_ = total;
        total += static_cast<std::size_t>(held[p]);
      }
      process_first_row_.push_back(total);
      if (total != sharding.global_rows)
        throw std::invalid_argument("Objective: the processes hold " + std::to_string(total) +
                                    " rows, not " + std::to_string(sharding.global_rows));
      global_rows_ = total;
      if (total == 0) throw std::invalid_argument("Objective: no rows");
    }
    stripes_ = std::clamp<std::size_t>((global_rows_ + kMinStripeRows - 1) / kMinStripeRows, 1,
                                       kMaxStripes);
    first_stripe_ = 0;
    last_stripe_ = stripes_;
    if (comm_ != nullptr) {
      // The stripes this process's rows meet, and how many stripes end in each process's rows
      // (whose sums that process finishes).
      first_stripe_ = last_stripe_ = stripe_of(first_row_);
      if (rows != 0) last_stripe_ = stripe_of(first_row_ + rows - 1) + 1;
      for (std::size_t p = 0; p + 1 < process_first_row_.size(); ++p) {
        std::size_t ending = 0;
        for (std::size_t st = 0; st < stripes_; ++st) {
          const std::size_t end = stripe_begin(st + 1);
          ending += end > process_first_row_[p] && end <= process_first_row_[p + 1];
        }
        stripe_counts_.push_back(ending);
      }
    }
    // S: the weights summed in row order (across processes too: each continues the sum of the
    // processes before it).
    double sum = 0;
    if (comm_ != nullptr) chain_receive(std::span(&sum, 1));
    for (std::size_t i = 0; i < rows; ++i) sum += weights.empty() ? 1.0 : weights[i];
    weight_sum_ = chain_sum(sum);
    if (!(weight_sum_ > 0)) throw std::invalid_argument("Objective: the weights sum to 0");
    if (hessian) probabilities_.resize(rows * outputs_);
    row_coef_.resize(rows * outputs_);
    scratch_size_ = 3 * outputs_;
    scratch_.assign(stripes_ * scratch_size_, 0.0);
    losses_.resize(stripes_);
    const std::uint64_t nnz = x.offsets[rows];
    csc_offsets_.assign(inputs + 1, 0);
    for (std::uint64_t e = 0; e < nnz; ++e) ++csc_offsets_[std::size_t{x.cols[e]} + 1];
    for (std::size_t j = 0; j < inputs; ++j) csc_offsets_[j + 1] += csc_offsets_[j];
    csc_rows_.resize(nnz);
    if (x.vals != nullptr) csc_vals_.resize(nnz);
    std::vector<std::uint64_t> next(csc_offsets_.begin(), csc_offsets_.end() - 1);
    for (std::size_t i = 0; i < rows; ++i)
      for (std::uint64_t e = x.offsets[i]; e < x.offsets[i + 1]; ++e) {
        const std::uint64_t at = next[x.cols[e]]++;
        csc_rows_[at] = static_cast<std::uint32_t>(i);
        if (x.vals != nullptr) csc_vals_[at] = x.vals[e];
      }
    return;
  }
  // The stripes depend on the data's shape only, never on the threads or the processes.
  global_rows_ = sharded ? sharding.global_rows : rows;
  stripes_ = dense_stripes(global_rows_, dimension());
  last_stripe_ = stripes_;
  if (sharded) {
    comm_ = sharding.comm;
    const auto parts = static_cast<std::uint32_t>(comm_->size());
    const RowRange mine = shard_rows(stripes_, parts, static_cast<std::uint32_t>(comm_->rank()));
    first_stripe_ = mine.begin;
    last_stripe_ = mine.end;
    first_row_ = stripe_begin(first_stripe_);
    if (rows != stripe_begin(last_stripe_) - first_row_)
      throw std::invalid_argument("Objective: a process holds other rows than objective_rows'");
    for (std::uint32_t p = 0; p < parts; ++p) {
      const std::size_t held = shard_rows(stripes_, parts, p).size();
      partial_counts_.push_back(held * dimension());
      stripe_counts_.push_back(held);
    }
    gathered_partials_.resize(stripes_ * dimension());
    gathered_losses_.resize(stripes_);
  }
  // S, the sum of the weights: each stripe's in row order, the stripes' in stripe order (the
  // same sum held in one process or in many).
  {
    std::vector<double> sums(last_stripe_ - first_stripe_, 0.0);
    for (std::size_t s = first_stripe_; s < last_stripe_; ++s)
      for (std::size_t i = stripe_begin(s); i < stripe_begin(s + 1); ++i)
        sums[s - first_stripe_] += weights.empty() ? 1.0 : weights[i - first_row_];
    std::vector<double> all(stripes_);
    if (comm_ != nullptr)
      comm_->allgather(sums, stripe_counts_, all);
    else
      all = sums;
    for (const double w : all) weight_sum_ += w;
  }
  if (!(weight_sum_ > 0)) throw std::invalid_argument("Objective: the weights sum to 0");
  if (hessian) probabilities_.resize(rows * outputs_);
  const std::size_t padded = (inputs + kLanes - 1) / kLanes * kLanes;
  scratch_size_ = kGroup * padded + 3 * kGroup * outputs_;
  scratch_.assign(stripes_ * scratch_size_, 0.0);
  partials_.resize(stripes_ * dimension());
  losses_.resize(stripes_);
}

void Objective::set_lambda(double lambda) {
  if (!(lambda >= 0) || !std::isfinite(lambda)) throw std::invalid_argument("Objective: lambda");
  lambda_ = lambda;
}

void Objective::load_row(std::size_t i, double* row) const {
  const double scale = x_.scale;
  if (x_.bytes != nullptr) {
    const std::uint8_t* p = x_.bytes + i * inputs_;
    for (std::size_t j = 0; j < inputs_; ++j) row[j] = p[j] * scale;
  } else {
    const float* p = x_.floats + i * inputs_;
    for (std::size_t j = 0; j < inputs_; ++j) row[j] = p[j] * scale;
  }
}

void Objective::check(std::span<const double> params, std::span<double> out) const {
  if (params.size() != dimension() || (!out.empty() && out.size() != dimension()))
    throw std::invalid_argument("Objective: " + std::to_string(params.size()) + " parameters for " +
                                std::to_string(dimension()));
}

double Objective::coefficients(Pass kind, std::size_t row, const double* z, double* p,
                               double* g) const {
  const std::size_t k_out = outputs_;
  const double inv_s = 1.0 / weight_sum_;
  const bool backward = kind != Pass::value;
  const double sw = weights_.empty() ? 1.0 : weights_[row];
  const auto y = static_cast<std::size_t>(labels_[row]);
  if (kind == Pass::diagonal) {
    for (std::size_t k = 0; k < k_out; ++k) g[k] = sw * inv_s * p[k] * (1.0 - p[k]);
    return 0;
  }
  if (kind == Pass::hessian) {
    // z holds uᵢ = V xᵢ + v; p the probabilities at the gradient's point.
    if (output_ == Output::logistic) {
      g[0] = sw * inv_s * p[0] * (1.0 - p[0]) * z[0];
    } else {
      double pu = 0;
      for (std::size_t k = 0; k < k_out; ++k) pu += p[k] * z[k];
      for (std::size_t k = 0; k < k_out; ++k) g[k] = sw * inv_s * p[k] * (z[k] - pu);
    }
    return 0;
  }
  if (output_ == Output::logistic) {
    // softplus(z) - y z, with softplus(z) = max(z, 0) + log1p(e^-|z|): no overflow.
    const double t = z[0];
    const double loss =
        sw * (std::max(t, 0.0) + std::log1p(std::exp(-std::abs(t))) - (y == 1 ? t : 0.0));
    if (!backward) return loss;
    const double e = std::exp(-std::abs(t));
    p[0] = t >= 0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
    g[0] = sw * inv_s * (p[0] - (y == 1 ? 1.0 : 0.0));
    return loss;
  }
  const double m = *std::max_element(z, z + k_out);
  double e = 0;
  for (std::size_t k = 0; k < k_out; ++k) e += std::exp(z[k] - m);
  const double loss = sw * (m + std::log(e) - z[y]);
  if (!backward) return loss;
  for (std::size_t k = 0; k < k_out; ++k) {
    p[k] = std::exp(z[k] - m) / e;
    g[k] = sw * inv_s * (p[k] - (k == y ? 1.0 : 0.0));
  }
  return loss;
}

double Objective::pass(Pass kind, std::span<const double> params, std::span<double> out) {
  if (x_.sparse()) return sparse_pass(kind, params, out);
  const std::size_t k_out = outputs_, d = inputs_;
  const std::size_t padded = (d + kLanes - 1) / kLanes * kLanes;
  const double inv_s = 1.0 / weight_sum_;
  const bool backward = kind != Pass::value;
  pool_.run(last_stripe_ - first_stripe_, [&](std::size_t local) {
    // This process's stripe `local`: global stripe s, local rows [begin, end).
    const std::size_t s = first_stripe_ + local;
    const std::size_t begin = stripe_begin(s) - first_row_, end = stripe_begin(s + 1) - first_row_;
    // The stripe's scratch: a group's rows, logits, coefficients, and the probabilities when
    // they are not kept.
    double* x = scratch_.data() + local * scratch_size_;
    double* o = x + kGroup * padded;
    double* coef = o + kGroup * k_out;
    double* own = coef + kGroup * k_out;
    double* partial = partials_.data() + local * dimension();
    if (backward) std::fill(partial, partial + dimension(), 0.0);
    double loss = 0;
    for (std::size_t i = begin; i < end; i += kGroup) {
      const std::size_t n = std::min(kGroup, end - i);
      for (std::size_t r = 0; r < n; ++r) load_row(i + r, x + r * padded);
      if (kind != Pass::diagonal) group_logits(params.data(), k_out, d, x, padded, n, o);
      for (std::size_t r = 0; r < n; ++r) {
        const std::size_t row = i + r;
        double* p = hessian_ ? &probabilities_[row * k_out] : &own[r * k_out];
        loss += coefficients(kind, row, &o[r * k_out], p, &coef[r * k_out]);
      }
      if (kind == Pass::diagonal)
        for (std::size_t v = 0; v < n * padded; ++v) x[v] *= x[v];  // the diagonal weighs xᵢⱼ²
      if (backward) group_backward(coef, k_out, d, x, padded, n, partial);
    }
    losses_[local] = loss;
  });
  // Sharded: every process's stripes, in stripe order (rank order is stripe order).
  const std::vector<double>* losses = &losses_;
  const std::vector<double>* partials = &partials_;
  if (comm_ != nullptr) {
    const std::size_t held = last_stripe_ - first_stripe_;
    comm_->allgather(std::span(losses_).first(held), stripe_counts_, gathered_losses_);
    losses = &gathered_losses_;
    if (backward) {
      comm_->allgather(std::span(partials_).first(held * dimension()), partial_counts_,
                       gathered_partials_);
      partials = &gathered_partials_;
    }
  }
  double total = 0;
  for (double l : *losses) total += l;
  if (backward) {
    // out = Σ_s partial_s, each entry summed over the stripes in order.
    const std::size_t n = dimension(), blocks = (n + 1023) / 1024;
    const double* all = partials->data();
    pool_.run(blocks, [&](std::size_t b) {
      for (std::size_t j = b * 1024; j < std::min(n, (b + 1) * 1024); ++j) {
        double v = 0;
        for (std::size_t s = 0; s < stripes_; ++s) v += all[s * n + j];
        out[j] = v;
      }
    });
  }
  return total * inv_s;
}

double Objective::sparse_pass(Pass kind, std::span<const double> params, std::span<double> out) {
  const std::size_t k_out = outputs_, d = inputs_;
  const bool backward = kind != Pass::value;
  // 0. W feature-major (column j's K weights side by side), so that each stored value reads one
  // run of K doubles instead of K values d apart: a copy, the same numbers.
  const bool transposed = k_out > 1 && kind != Pass::diagonal;
  if (transposed) {
    params_t_.resize(d * k_out);
    pool_.run((d + 4095) / 4096, [&](std::size_t b) {
      for (std::size_t j = b * 4096; j < std::min(d, (b + 1) * 4096); ++j)
        for (std::size_t k = 0; k < k_out; ++k) params_t_[j * k_out + k] = params[k * d + j];
    });
  }
  // 1. Row by row, in stripes: logits (or uᵢ = V xᵢ + v), loss and the row's coefficients. A
  // stripe that began in the processes before this one is summed after them (step 2).
  const bool continued = comm_ != nullptr && rows_ > 0 && stripe_begin(first_stripe_) < first_row_;
  if (continued)
    head_losses_.assign(std::min(stripe_begin(first_stripe_ + 1), first_row_ + rows_) - first_row_,
                        0.0);
  pool_.run(last_stripe_ - first_stripe_, [&](std::size_t local) {
    const std::size_t s = first_stripe_ + local;
    const std::size_t begin = std::max(stripe_begin(s), first_row_) - first_row_,
                      end = std::min(stripe_begin(s + 1), first_row_ + rows_) - first_row_;
    double* const z = scratch_.data() + s * scratch_size_;
    double* const own = z + k_out;
    double* const bias = own + k_out;
    double loss = 0;
    std::fill(bias, bias + k_out, 0.0);
    const bool head = continued && local == 0;
    for (std::size_t row = begin; row < end; ++row) {
      if (kind != Pass::diagonal) {
        for (std::size_t k = 0; k < k_out; ++k) z[k] = params[k_out * d + k];
        for (std::uint64_t e = x_.offsets[row]; e < x_.offsets[row + 1]; ++e) {
          const double v = x_.value(e);
          if (transposed) {
            const double* w = params_t_.data() + std::size_t{x_.cols[e]} * k_out;
            for (std::size_t k = 0; k < k_out; ++k) z[k] += w[k] * v;
          } else {
            const double* w = params.data() + x_.cols[e];
            for (std::size_t k = 0; k < k_out; ++k) z[k] += w[k * d] * v;
          }
        }
      }
      double* p = hessian_ ? &probabilities_[row * k_out] : own;
      double* g = &row_coef_[row * k_out];
      const double l = coefficients(kind, row, z, p, g);
      if (head) {
        head_losses_[row - begin] = l;
        continue;
      }
      loss += l;
      if (backward)
        for (std::size_t k = 0; k < k_out; ++k) bias[k] += g[k];
    }
    losses_[s] = loss;
  });
  if (comm_ != nullptr) finish_stripes(backward);
  double total = 0;
  for (double l : losses_) total += l;
  if (!backward) return total / weight_sum_;
  // 3. Column by column: out[k][j] = Σ_{i stores j} gᵢₖ xᵢⱼ (xᵢⱼ² for the diagonal), each sum
  // over the rows in row order; the bias's entries are the stripes' sums in stripe order.
  if (comm_ != nullptr) {
    sharded_columns(kind, out);
  } else {
    const std::size_t blocks = (d + 255) / 256;
    pool_.run(blocks, [&](std::size_t b) {
      std::vector<double> acc(k_out);
      for (std::size_t j = b * 256; j < std::min(d, (b + 1) * 256); ++j) {
        std::fill(acc.begin(), acc.end(), 0.0);
        add_column(kind, j, acc.data());
        for (std::size_t k = 0; k < k_out; ++k) out[k * d + j] = acc[k];
      }
    });
  }
  for (std::size_t k = 0; k < k_out; ++k) {
    double v = 0;
    for (std::size_t s = 0; s < stripes_; ++s) v += scratch_[s * scratch_size_ + 2 * k_out + k];
    out[k_out * d + k] = v;
  }
  return total / weight_sum_;
}

void Objective::add_column(Pass kind, std::size_t j, double* acc) const {
  const std::size_t k_out = outputs_;
  for (std::uint64_t e = csc_offsets_[j]; e < csc_offsets_[j + 1]; ++e) {
    double v = (csc_vals_.empty() ? 1.0 : csc_vals_[e]) * static_cast<double>(x_.scale);
    if (kind == Pass::diagonal) v *= v;
    const double* g = &row_coef_[std::size_t{csc_rows_[e]} * k_out];
    for (std::size_t k = 0; k < k_out; ++k) acc[k] += g[k] * v;
  }
}

std::size_t Objective::stripe_of(std::size_t row) const {
  std::size_t s = std::min(stripes_ - 1, row * stripes_ / global_rows_);
  while (s + 1 < stripes_ && stripe_begin(s + 1) <= row) ++s;
  while (s > 0 && stripe_begin(s) > row) --s;
  return s;
}

void Objective::chain_receive(std::span<double> acc) const {
  if (comm_ != nullptr && comm_->rank() > 0)
    comm_->receive(comm_->rank() - 1, acc);
  else
    std::fill(acc.begin(), acc.end(), 0.0);
}

void Objective::chain_send(std::span<const double> acc) const {
  if (comm_ != nullptr && comm_->rank() + 1 < comm_->size()) comm_->send(comm_->rank() + 1, acc);
}

void Objective::from_last(std::span<const double> mine, std::span<double> all) const {
  std::vector<std::size_t> counts(static_cast<std::size_t>(comm_->size()), 0);
  counts.back() = all.size();
  comm_->allgather(comm_->rank() + 1 == comm_->size() ? mine : mine.first(0), counts, all);
}

double Objective::chain_sum(double mine_from) const {
  if (comm_ == nullptr) return mine_from;
  double v = mine_from;
  chain_send(std::span(&v, 1));
  double all = 0;
  from_last(std::span(&v, 1), std::span(&all, 1));
  return all;
}

void Objective::finish_stripes(bool backward) {
  // 2. The stripe that began before this process's rows continues from the sums the process
  // before handed on (loss, then the intercept's K), in row order; the sums of the stripe this
  // process's rows end in go on to the next process when it continues there.
  const std::size_t k_out = outputs_, held = last_stripe_ - first_stripe_;
  std::vector<double> open(1 + k_out);
  chain_receive(open);
  const bool continued = stripe_begin(first_stripe_) < first_row_;
  if (continued && held > 0) {
    double* bias = scratch_.data() + first_stripe_ * scratch_size_ + 2 * k_out;
    double loss = open[0];
    std::copy(open.begin() + 1, open.end(), bias);
    for (std::size_t i = 0; i < head_losses_.size(); ++i) {
      loss += head_losses_[i];
      if (backward)
        for (std::size_t k = 0; k < k_out; ++k) bias[k] += row_coef_[i * k_out + k];
    }
    losses_[first_stripe_] = loss;
  }
  // What the next process continues: this process's last stripe when it goes on past its rows
  // (or, holding no rows, what it was handed).
  if (held > 0) {
    const std::size_t last = last_stripe_ - 1;
    if (stripe_begin(last + 1) > first_row_ + rows_) {
      open[0] = losses_[last];
      const double* bias = scratch_.data() + last * scratch_size_ + 2 * k_out;
      std::copy(bias, bias + k_out, open.begin() + 1);
    } else {
      std::fill(open.begin(), open.end(), 0.0);
    }
  }
  chain_send(open);
  // Every stripe's sums from the process its rows end in, in stripe order.
  std::vector<double> mine;
  for (std::size_t s = first_stripe_; s < last_stripe_; ++s) {
    if (stripe_begin(s + 1) > first_row_ + rows_) continue;
    mine.push_back(losses_[s]);
    const double* bias = scratch_.data() + s * scratch_size_ + 2 * k_out;
    mine.insert(mine.end(), bias, bias + k_out);
  }
  std::vector<std::size_t> counts(stripe_counts_);
  for (std::size_t& c : counts) c *= 1 + k_out;
  std::vector<double> all(stripes_ * (1 + k_out));
  comm_->allgather(mine, counts, all);
  for (std::size_t s = 0; s < stripes_; ++s) {
    losses_[s] = all[s * (1 + k_out)];
    std::copy(all.begin() + static_cast<std::ptrdiff_t>(s * (1 + k_out) + 1),
              all.begin() + static_cast<std::ptrdiff_t>((s + 1) * (1 + k_out)),
              scratch_.begin() + static_cast<std::ptrdiff_t>(s * scratch_size_ + 2 * k_out));
  }
}

void Objective::sharded_columns(Pass kind, std::span<double> out) {
  // Each column's sum continues the processes' before, in row order: process p takes the
  // running sums of a block of columns from p − 1, adds its rows and hands them to p + 1, block
  // after block, so the processes work on different blocks at once (a pipeline). The last
  // process's sums are everyone's.
  const std::size_t k_out = outputs_, d = inputs_;
  column_sums_.resize(d * k_out);
  for (std::size_t j0 = 0; j0 < d; j0 += kColumnsPerMessage) {
    const std::size_t j1 = std::min(d, j0 + kColumnsPerMessage);
    const std::span<double> block = std::span(column_sums_).subspan(j0 * k_out, (j1 - j0) * k_out);
    chain_receive(block);
    pool_.run((j1 - j0 + 255) / 256, [&](std::size_t b) {
      for (std::size_t j = j0 + b * 256; j < std::min(j1, j0 + (b + 1) * 256); ++j)
        add_column(kind, j, &column_sums_[j * k_out]);
    });
    chain_send(block);
  }
  column_totals_.resize(d * k_out);
  from_last(column_sums_, column_totals_);
  for (std::size_t j = 0; j < d; ++j)
    for (std::size_t k = 0; k < k_out; ++k) out[k * d + j] = column_totals_[j * k_out + k];
}

double Objective::value(std::span<const double> theta) {
  check(theta, {});
  const double loss = pass(Pass::value, theta, {});
  double w2 = 0;
  for (std::size_t j = 0; j < outputs_ * inputs_; ++j) w2 += theta[j] * theta[j];
  return loss + 0.5 * lambda_ * w2;
}

double Objective::value_gradient(std::span<const double> theta, std::span<double> gradient) {
  check(theta, gradient);
  const double loss = pass(Pass::gradient, theta, gradient);
  double w2 = 0;
  for (std::size_t j = 0; j < outputs_ * inputs_; ++j) {
    w2 += theta[j] * theta[j];
    gradient[j] += lambda_ * theta[j];
  }
  have_probabilities_ = true;
  return loss + 0.5 * lambda_ * w2;
}

bool Objective::hessian_diagonal(std::span<double> diagonal) {
  if (!hessian_) throw std::logic_error("Objective::hessian_diagonal of an objective without");
  if (!have_probabilities_)
    throw std::logic_error("Objective::hessian_diagonal before value_gradient");
  if (diagonal.size() != dimension()) throw std::invalid_argument("Objective: diagonal size");
  pass(Pass::diagonal, {}, diagonal);
  for (std::size_t j = 0; j < outputs_ * inputs_; ++j) diagonal[j] += lambda_;
  return true;
}

void Objective::hessian_vector(std::span<const double> v, std::span<double> hv) {
  if (!hessian_) throw std::logic_error("Objective::hessian_vector of an objective without");
  if (!have_probabilities_)
    throw std::logic_error("Objective::hessian_vector before value_gradient");
  check(v, hv);
  pass(Pass::hessian, v, hv);
  for (std::size_t j = 0; j < outputs_ * inputs_; ++j) hv[j] += lambda_ * v[j];
}

}  // namespace softreg
