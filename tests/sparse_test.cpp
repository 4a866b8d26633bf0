// The sparse kernels against the dense ones on the same data densified: the objective's value,
// gradient, Hessian-vector product and diagonal; evaluation; and the lazy SGD step against the
// plain eager update, on random compressed rows of odd shapes (empty rows, one column, all
// zeros, large indices). Results are bit-identical for every thread count.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cmath>
#include <cstdint>
#include <functional>
#include <tuple>
#include <vector>

#include "fixtures.hpp"
#include "softreg/batch.hpp"
#include "softreg/comm.hpp"
#include "softreg/data.hpp"
#include "softreg/error.hpp"
#include "softreg/kernel.hpp"
#include "softreg/objective.hpp"
#include "softreg/random.hpp"
#include "softreg/train.hpp"
#include "thread_comm.hpp"

namespace softreg {
namespace {

struct Shape {
  const char* name;
  std::size_t rows, inputs, classes;
  double fill;  // the chance that a cell is stored
  bool binary;
  Output output;
};

// Random sparse rows: every row stores each column with chance `fill` (some rows none); values
// normal, or all 1; a few stored zeros.
Dataset random_sparse(const Shape& s, std::uint64_t seed) {
  Rng rng(seed);
  Dataset d;
  d.rows = s.rows;
  d.inputs = s.inputs;
  d.shape = {s.inputs};
  d.source = s.name;
  d.sparse.offsets = {0};
  for (std::size_t k = 0; k < s.classes; ++k) d.class_names.push_back(std::to_string(k));
  for (std::size_t i = 0; i < s.rows; ++i) {
    for (std::size_t j = 0; j < s.inputs; ++j)
      if (rng.uniform() < s.fill || (j + 1 == s.inputs && i % 7 == 3)) {  // the last column too
        d.sparse.cols.push_back(static_cast<std::uint32_t>(j));
        if (!s.binary) d.sparse.vals.push_back(rng.uniform() < 0.05 ? 0.0f : float(rng.normal()));
      }
    d.sparse.offsets.push_back(d.sparse.cols.size());
    d.labels.push_back(static_cast<std::int32_t>(rng.below(s.classes)));
  }
  return d;
}

// The same rows as a dense table.
Dataset densified(const Dataset& s) {
  Dataset d = s.empty_like(s.source + " (dense)");
  d.sparse = {};
  std::vector<std::uint32_t> all(s.rows);
  for (std::size_t i = 0; i < s.rows; ++i) all[i] = static_cast<std::uint32_t>(i);
  d.values = gather_features(s, all).data;
  d.rows = s.rows;
  d.labels = s.labels;
  return d;
}

const Shape kShapes[] = {
    {"Typical", 301, 37, 5, 0.1, false, Output::softmax},
    {"Binary", 260, 50, 3, 0.05, true, Output::softmax},
    {"OneColumn", 97, 1, 4, 0.5, false, Output::softmax},
    {"Logistic", 1500, 29, 2, 0.2, false, Output::logistic},
    {"MostRowsEmpty", 300, 64, 3, 0.002, false, Output::softmax},
    {"ManyStripes", 5000, 23, 3, 0.15, true, Output::softmax},
};

class SparseKernel : public ::testing::TestWithParam<Shape> {};

std::vector<double> random_vector(std::size_t n, std::uint64_t seed) {
  Rng rng(seed);
  std::vector<double> v(n);
  for (double& x : v) x = 0.3 * rng.normal();
  return v;
}

double max_abs_diff(const std::vector<double>& a, const std::vector<double>& b) {
  double m = 0;
  for (std::size_t i = 0; i < a.size(); ++i) m = std::max(m, std::abs(a[i] - b[i]));
  return m;
}

TEST_P(SparseKernel, ObjectiveEqualsTheDenseOneOnTheDensifiedData) {
  const Shape& s = GetParam();
  const Dataset sp = random_sparse(s, 11);
  const Dataset de = densified(sp);
  std::vector<double> weights(s.rows);
  Rng rng(5);
  for (double& w : weights) w = 0.5 + rng.uniform();
  ThreadPool pool(2);
  Objective a(Features::of(sp), sp.labels, s.rows, s.inputs, s.classes, s.output, 0.01, weights,
              pool);
  Objective b(Features::of(de), de.labels, de.rows, s.inputs, s.classes, s.output, 0.01, weights,
              pool);
  const std::vector<double> theta = random_vector(a.dimension(), 3);
  const std::vector<double> v = random_vector(a.dimension(), 4);
  std::vector<double> ga(a.dimension()), gb(a.dimension()), ha(a.dimension()), hb(a.dimension()),
      da(a.dimension()), db(a.dimension());
  const double fa = a.value_gradient(theta, ga), fb = b.value_gradient(theta, gb);
  EXPECT_NEAR(fa, fb, 1e-12 * std::abs(fb));
  EXPECT_NEAR(a.value(theta), fa, 1e-12 * std::abs(fa));
  EXPECT_LT(max_abs_diff(ga, gb), 1e-13);
  a.hessian_vector(v, ha);
  b.hessian_vector(v, hb);
  EXPECT_LT(max_abs_diff(ha, hb), 1e-13);
  a.hessian_diagonal(da);
  b.hessian_diagonal(db);
  EXPECT_LT(max_abs_diff(da, db), 1e-13);
  // Not a vacuous comparison: the gradient is not 0.
  EXPECT_GT(max_abs_diff(ga, std::vector<double>(ga.size(), 0.0)), 1e-3);
}

TEST_P(SparseKernel, ObjectiveIsBitIdenticalForEveryThreadCount) {
  const Shape& s = GetParam();
  const Dataset sp = random_sparse(s, 12);
  std::vector<double> g1, h1;
  double f1 = 0;
  for (unsigned threads : {1u, 2u, 3u, 8u}) {
    ThreadPool pool(threads);
    Objective o(Features::of(sp), sp.labels, s.rows, s.inputs, s.classes, s.output, 0.1, {}, pool);
    const std::vector<double> theta = random_vector(o.dimension(), 6);
    std::vector<double> g(o.dimension()), h(o.dimension());
    const double f = o.value_gradient(theta, g);
    o.hessian_vector(theta, h);
    if (threads == 1) {
      f1 = f;
      g1 = g;
      h1 = h;
      continue;
    }
    EXPECT_EQ(f, f1) << threads;
    EXPECT_EQ(g, g1) << threads;
    EXPECT_EQ(h, h1) << threads;
  }
}

// Across P processes (threads here), each holding any contiguous part of the rows (cut evenly,
// or unevenly with parts of no rows, and more processes than stripes or rows of a stripe), the
// objective gives every process the value, gradient, Hessian-vector product and diagonal of one
// process holding every row, bit for bit.
TEST_P(SparseKernel, ShardedOverProcessesItIsTheSingleProcessObjectiveBitForBit) {
  const Shape& s = GetParam();
  const Dataset sp = random_sparse(s, 14);
  std::vector<double> weights(s.rows);
  Rng rng(6);
  for (double& w : weights) w = 0.5 + rng.uniform();
  struct Values {
    double f = 0, fg = 0;
    std::vector<double> g, hv, diagonal;
  };
  const auto evaluate = [&](Objective& f) {
    const std::vector<double> theta = random_vector(f.dimension(), 7);
    const std::vector<double> v = random_vector(f.dimension(), 8);
    Values out;
    out.g.resize(f.dimension());
    out.hv.resize(f.dimension());
    out.diagonal.resize(f.dimension());
    out.f = f.value(theta);
    out.fg = f.value_gradient(theta, out.g);
    f.hessian_vector(v, out.hv);
    f.hessian_diagonal(out.diagonal);
    return out;
  };
  for (const bool weighted : {false, true}) {
    const std::span<const double> w =
        weighted ? std::span<const double>(weights) : std::span<const double>();
    ThreadPool pool(2);
    Objective whole(Features::of(sp), sp.labels, s.rows, s.inputs, s.classes, s.output, 0.01, w,
                    pool);
    const Values want = evaluate(whole);
    for (const int processes : {1, 2, 3, 7})
      for (const bool even : {true, false}) {
        // Uneven: process r's rows end at rows (r + 1)² / P², and the second of three or more
        // holds none.
        std::vector<std::size_t> cut{0};
        for (int r = 0; r < processes; ++r) {
          const auto p = static_cast<std::uint32_t>(processes);
          const std::size_t n = s.rows;
          std::size_t end = even ? shard_rows(n, p, static_cast<std::uint32_t>(r)).end
                                 : n * (r + 1) * (r + 1) / (p * p);
          if (!even && r == 1 && processes > 2) end = cut.back();
          cut.push_back(end);
        }
        std::vector<Values> got(static_cast<std::size_t>(processes));
        test::ThreadGroup group(processes);
        group.run([&](const Comm& comm) {
          const auto r = static_cast<std::size_t>(comm.rank());
          Dataset part = sp.empty_like("part");
          for (std::size_t i = cut[r]; i < cut[r + 1]; ++i) part.append_row(sp, i);
          const std::vector<double> mine(weights.begin() + static_cast<std::ptrdiff_t>(cut[r]),
                                         weights.begin() + static_cast<std::ptrdiff_t>(cut[r + 1]));
          ThreadPool own(1);
          Objective f(Features::of(part), part.labels, part.rows, s.inputs, s.classes, s.output,
                      0.01, weighted ? std::span<const double>(mine) : std::span<const double>(),
                      own, true, Sharding{&comm, s.rows});
          got[r] = evaluate(f);
        });
        for (int r = 0; r < processes; ++r) {
          const Values& g = got[static_cast<std::size_t>(r)];
          SCOPED_TRACE(::testing::Message()
                       << "process " << r << " of " << processes << (even ? ", even" : ", uneven")
                       << " weighted " << weighted);
          EXPECT_EQ(g.f, want.f);
          EXPECT_EQ(g.fg, want.fg);
          EXPECT_EQ(g.g, want.g);
          EXPECT_EQ(g.hv, want.hv);
          EXPECT_EQ(g.diagonal, want.diagonal);
        }
      }
  }
}

TEST_P(SparseKernel, EvaluateEqualsTheDenseKernel) {
  const Shape& s = GetParam();
  const Dataset sp = random_sparse(s, 13);
  const Dataset de = densified(sp);
  SoftmaxRegression model(s.inputs, s.classes, s.output);
  Rng rng(1);
  model.init(rng, 0.5f);
  ThreadPool pool(2);
  std::vector<std::int32_t> pa(s.rows), pb(s.rows);
  const PassStats a = evaluate(model, Features::of(sp), sp.labels, s.rows, pool, pa);
  const PassStats b = evaluate(model, Features::of(de), de.labels, s.rows, pool, pb);
  EXPECT_NEAR(a.loss_sum, b.loss_sum, 1e-4 * b.loss_sum);
  EXPECT_EQ(a.correct, b.correct);
  EXPECT_EQ(pa, pb);
  // The feature-major layout of the sparse trainer gives the same.
  std::vector<float> wt(s.inputs * model.outputs());
  for (std::size_t k = 0; k < model.outputs(); ++k)
    for (std::size_t j = 0; j < s.inputs; ++j)
      wt[j * model.outputs() + k] = model.weight()[k * s.inputs + j];
  std::vector<std::int32_t> pc(s.rows);
  const PassStats c = evaluate_feature_major(wt, model.outputs(), model.bias(), s.output,
                                             Features::of(sp), sp.labels, s.rows, pool, pc);
  EXPECT_EQ(c.loss_sum, a.loss_sum);
  EXPECT_EQ(pc, pa);
}

// The eager update written plainly, in double: every weight decays every step, momentum on
// every entry, from the batch's mean gradient of the densified rows.
struct EagerSgd {
  std::size_t d, k;
  Output output;
  std::vector<double> w, b, vw, vb;
  SgdOptions o;
  // The running means of w and b over the steps since averaging started (steps_averaged).
  std::vector<double> aw, ab;
  std::size_t averaged = 0;
  bool averaging = false;

  void step(const Dataset& dense, std::span<const std::uint32_t> rows) {
    std::vector<double> gw(d * k, 0.0), gb(k, 0.0);
    for (std::uint32_t r : rows) {
      std::vector<double> z(k);
      for (std::size_t c = 0; c < k; ++c) {
        z[c] = b[c];
        for (std::size_t j = 0; j < d; ++j) z[c] += w[c * d + j] * dense.values[r * d + j];
      }
      std::vector<double> g(k);
      if (output == Output::logistic) {
        g[0] = 1.0 / (1.0 + std::exp(-z[0])) - (dense.labels[r] == 1 ? 1.0 : 0.0);
      } else {
        const double m = *std::max_element(z.begin(), z.end());
        double sum = 0;
        for (double& t : z) sum += (t = std::exp(t - m));
        for (std::size_t c = 0; c < k; ++c)
          g[c] = z[c] / sum - (static_cast<std::int32_t>(c) == dense.labels[r] ? 1.0 : 0.0);
      }
      for (std::size_t c = 0; c < k; ++c) {
        gb[c] += g[c] / static_cast<double>(rows.size());
        for (std::size_t j = 0; j < d; ++j)
          gw[c * d + j] += g[c] * dense.values[r * d + j] / static_cast<double>(rows.size());
      }
    }
    // AdaGrad keeps Σ d² in vw, vb (no momentum then).
    for (std::size_t i = 0; i < d * k; ++i) {
      const double grad = gw[i] + o.weight_decay * w[i];
      if (o.adagrad) {
        vw[i] += grad * grad;
        w[i] -= o.lr * grad / (std::sqrt(vw[i]) + o.eps);
        continue;
      }
      vw[i] = o.momentum * vw[i] + grad;
      w[i] -= o.lr * (o.momentum != 0 ? vw[i] : grad);
    }
    for (std::size_t c = 0; c < k; ++c) {
      if (o.adagrad) {
        vb[c] += gb[c] * gb[c];
        b[c] -= o.lr * gb[c] / (std::sqrt(vb[c]) + o.eps);
        continue;
      }
      vb[c] = o.momentum * vb[c] + gb[c];
      b[c] -= o.lr * (o.momentum != 0 ? vb[c] : gb[c]);
    }
    if (!averaging) return;
    aw.resize(w.size(), 0.0);
    ab.resize(b.size(), 0.0);
    ++averaged;
    for (std::size_t i = 0; i < w.size(); ++i) aw[i] += (w[i] - aw[i]) / averaged;
    for (std::size_t c = 0; c < k; ++c) ab[c] += (b[c] - ab[c]) / averaged;
  }
};

// An eager update starting from the model's weights.
EagerSgd eager_from(const SoftmaxRegression& model, const SgdOptions& o) {
  EagerSgd e{model.inputs(), model.outputs(), model.output(), {}, {}, {}, {}, o};
  e.w.assign(model.weight().begin(), model.weight().end());
  e.b.assign(model.bias().begin(), model.bias().end());
  e.vw.assign(e.w.size(), 0.0);
  e.vb.assign(e.b.size(), 0.0);
  return e;
}

// Three epochs of both updates on the same batches of sp (de densified): averaging from the
// second epoch when `average`, and the learning rate times `later_lr` after it; when `lr_at` is
// given, step t (0-based) at the rate lr_at(t).
void run_side_by_side(SparseSgd& lazy, EagerSgd& eager, const Dataset& sp, const Dataset& de,
                      std::size_t batch, bool average, float later_lr, Rng& rng,
                      const std::function<float(std::size_t)>& lr_at = {}) {
  BatchOrder order(sp.rows, batch);
  const Features x = Features::of(sp);
  std::size_t t = 0;
  for (int epoch = 0; epoch < 3; ++epoch) {
    if (epoch == 1 && average) {
      lazy.start_averaging();
      eager.averaging = true;
    }
    order.shuffle(rng);
    for (std::size_t b = 0; b < order.batches(); ++b, ++t) {
      if (lr_at) {
        lazy.set_lr(lr_at(t));
        eager.o.lr = lr_at(t);
      }
      lazy.step(x, sp.labels, order.batch(b));
      eager.step(de, order.batch(b));
    }
    if (epoch == 1 && later_lr != 1.0f) {
      lazy.set_lr(eager.o.lr * later_lr);  // a new rate: the missed steps use the old one
      eager.o.lr *= later_lr;
    }
  }
}

struct Recipe {
  const char* name;
  SgdOptions sgd;
  bool average = false;  // from the second epoch on
};

class LazySgd : public ::testing::TestWithParam<Recipe> {};

TEST_P(LazySgd, EqualsTheEagerUpdate) {
  // Sparse enough that most columns miss most steps (the lazy path), small batches, an odd last.
  const Shape s{"Lazy", 203, 41, 4, 0.04, false, Output::softmax};
  const Dataset sp = random_sparse(s, 21);
  const Dataset de = densified(sp);
  SoftmaxRegression model(s.inputs, s.classes);
  Rng rng(2);
  model.init(rng, 0.3f);
  const SgdOptions o = GetParam().sgd;
  SparseSgd lazy(model, o);
  EagerSgd eager = eager_from(model, o);
  run_side_by_side(lazy, eager, sp, de, 8, GetParam().average, 0.5f, rng);
  SoftmaxRegression out(s.inputs, s.classes);
  lazy.write_to(out);
  double worst = 0, moved = 0;
  const std::vector<double>& w = eager.averaging ? eager.aw : eager.w;
  const std::vector<double>& b = eager.averaging ? eager.ab : eager.b;
  for (std::size_t i = 0; i < w.size(); ++i) {
    worst = std::max(worst, std::abs(out.weight()[i] - w[i]));
    moved = std::max(moved, std::abs(w[i] - model.weight()[i]));
  }
  for (std::size_t c = 0; c < s.classes; ++c)
    worst = std::max(worst, std::abs(out.bias()[c] - b[c]));
  if (eager.averaging) {
    double apart = 0;  // the average is not the last weights: the test tells them apart
    for (std::size_t i = 0; i < w.size(); ++i) apart = std::max(apart, std::abs(w[i] - eager.w[i]));
    EXPECT_GT(apart, 1e-2);
  }
  EXPECT_LT(worst, 2e-5) << "float steps against double ones";
  EXPECT_GT(moved, 0.05) << "the weights moved: the comparison is not vacuous";
}

INSTANTIATE_TEST_SUITE_P(Recipes, LazySgd,
                         ::testing::Values(Recipe{"Plain", {0.5f, 0.0f, 0.0f}},
                                           Recipe{"WeightDecay", {0.5f, 0.0f, 0.05f}},
                                           Recipe{"Momentum", {0.2f, 0.9f, 0.0f}},
                                           Recipe{"MomentumAndDecay", {0.2f, 0.9f, 0.05f}},
                                           Recipe{"Averaged", {0.5f, 0.0f, 0.0f}, true},
                                           Recipe{"AveragedWithDecay", {0.5f, 0.0f, 0.05f}, true},
                                           Recipe{"AdaGrad", {0.5f, 0.0f, 0.0f, true}},
                                           Recipe{
                                               "AveragedAdaGrad", {0.5f, 0.0f, 0.0f, true}, true}),
                         [](const auto& info) { return std::string(info.param.name); });

// With 32 classes or more a step can be shared with the pool, its rows' logits and its blocks of
// classes' update each a task: every thread count gives the same weights bit for bit, and they
// are the plain eager update's (37 classes: a stride of 48, blocks of 16; 58: 64).
TEST(SparseSgdTeam, EveryThreadCountGivesTheEagerUpdateBitForBit) {
  for (const std::size_t classes : {std::size_t{37}, std::size_t{58}}) {
    const Shape s{"Team", 150, 90, classes, 0.3, false, Output::softmax};
    const Dataset sp = random_sparse(s, 41);
    const Dataset de = densified(sp);
    for (const Recipe& recipe :
         {Recipe{"Plain", {0.5f, 0.0f, 0.0f}}, Recipe{"MomentumAndDecay", {0.2f, 0.9f, 0.05f}},
          Recipe{"AveragedWithDecay", {0.5f, 0.0f, 0.05f}, true},
          Recipe{"AdaGrad", {0.5f, 0.0f, 0.0f, true}}}) {
      SCOPED_TRACE(std::to_string(classes) + " classes, " + recipe.name);
      SoftmaxRegression model(s.inputs, s.classes);
      Rng init(3);
      model.init(init, 0.3f);
      std::vector<float> first;
      for (const unsigned threads : {1u, 2u, 3u}) {
        ThreadPool pool(threads);
        SparseSgd sgd(model, recipe.sgd, &pool);
        sgd.set_shared_entries(0);  // every step shared with the pool, however small
        EagerSgd eager = eager_from(model, recipe.sgd);
        Rng rng(5);
        run_side_by_side(sgd, eager, sp, de, 40, recipe.average, 0.5f, rng);
        SoftmaxRegression out(s.inputs, s.classes);
        sgd.write_to(out);
        std::vector<float> w(out.weight().begin(), out.weight().end());
        w.insert(w.end(), out.bias().begin(), out.bias().end());
        if (first.empty())
          first = w;
        else
          EXPECT_EQ(w, first) << threads << " threads";
        const std::vector<double>& ew = eager.averaging ? eager.aw : eager.w;
        double worst = 0;
        for (std::size_t i = 0; i < ew.size(); ++i)
          worst = std::max(worst, std::abs(out.weight()[i] - ew[i]));
        // AdaGrad divides each gradient by its root-sum-square: a float gradient's relative error
        // (large where the batch's terms cancel) becomes an error of the weight itself, of about
        // lr times it. Its agreement with the eager update is LazySgd's (4 classes); here, with
        // 37 and 58 classes, it is the thread counts' bit-identity above.
        if (!recipe.sgd.adagrad)
          EXPECT_LT(worst, 2e-5) << threads << " threads: float steps against double ones";
      }
    }
  }
}

// A rate that changes at every step (a cosine with warm-up, as the schedules give): each column's
// missed steps are caught up with the rates they had, from the tree of the steps' maps, and the
// weights are still the eager update's; on one thread and shared with the pool alike.
TEST(SparseSgdRates, ARateChangingEveryStepGivesTheEagerUpdate) {
  const auto lr_at = [](std::size_t t) {
    return static_cast<float>(0.4 * (1.0 + std::cos(0.05 * static_cast<double>(t))) *
                              std::min(1.0, static_cast<double>(t + 1) / 5));
  };
  // 4 classes, batches of 10 rows of about 4.5 values: most columns miss most steps; 37 classes,
  // batches of 30 rows of about 9: shared steps, columns missing some steps.
  for (const auto& [classes, fill, batch] : {std::tuple{std::size_t{4}, 0.05, std::size_t{10}},
                                             std::tuple{std::size_t{37}, 0.1, std::size_t{30}}}) {
    const Shape s{"Rates", 150, 90, classes, fill, false, Output::softmax};
    const Dataset sp = random_sparse(s, 43);
    const Dataset de = densified(sp);
    for (const Recipe& recipe : {Recipe{"WeightDecay", {0.5f, 0.0f, 0.05f}},
                                 Recipe{"MomentumAndDecay", {0.2f, 0.9f, 0.05f}},
                                 Recipe{"AveragedWithDecay", {0.5f, 0.0f, 0.05f}, true}}) {
      for (const unsigned threads : {1u, 2u}) {
        SCOPED_TRACE(std::to_string(classes) + " classes, " + recipe.name + ", " +
                     std::to_string(threads) + " threads");
        SoftmaxRegression model(s.inputs, s.classes);
        Rng init(3);
        model.init(init, 0.3f);
        ThreadPool pool(threads);
        SparseSgd sgd(model, recipe.sgd, &pool);
        sgd.set_shared_entries(0);  // every step shared with the pool, however small
        EagerSgd eager = eager_from(model, recipe.sgd);
        Rng rng(5);
        run_side_by_side(sgd, eager, sp, de, batch, recipe.average, 1.0f, rng, lr_at);
        SoftmaxRegression out(s.inputs, s.classes);
        sgd.write_to(out);
        const std::vector<double>& ew = eager.averaging ? eager.aw : eager.w;
        double worst = 0, moved = 0;
        for (std::size_t i = 0; i < ew.size(); ++i) {
          worst = std::max(worst, std::abs(out.weight()[i] - ew[i]));
          moved = std::max(moved, std::abs(ew[i] - model.weight()[i]));
        }
        EXPECT_LT(worst, 2e-5) << "float steps against double ones";
        EXPECT_GT(moved, 0.05) << "the weights moved: the comparison is not vacuous";
      }
    }
  }
}

// The trainer on sparse rows: the same seed gives bit-identical weights for every thread count,
// and a logistic model learns a separable problem.
TEST(SparseTrainer, BitIdenticalForEveryThreadCountAndLearns) {
  const Shape s{"Train", 900, 300, 2, 0.03, true, Output::logistic};
  Dataset sp = random_sparse(s, 31);
  // Class 1 has column 0, class 0 does not: separable.
  for (std::size_t i = 0; i < sp.rows; ++i) sp.labels[i] = 0;
  Dataset marked = sp.empty_like("marked");
  for (std::size_t i = 0; i < sp.rows; ++i) {
    const bool one = i % 3 == 0;
    std::vector<std::uint32_t> cols{};
    if (one) cols.push_back(0);
    for (std::uint64_t e = sp.sparse.offsets[i]; e < sp.sparse.offsets[i + 1]; ++e)
      if (sp.sparse.cols[e] != 0) cols.push_back(sp.sparse.cols[e]);
    marked.sparse.cols.insert(marked.sparse.cols.end(), cols.begin(), cols.end());
    marked.sparse.offsets.push_back(marked.sparse.cols.size());
    marked.labels.push_back(one ? 1 : 0);
    ++marked.rows;
  }
  std::vector<float> first;
  for (unsigned threads : {1u, 2u, 4u}) {
    TrainOptions o;
    o.epochs = 5;
    o.batch_size = 16;
    o.sgd = {0.5f, 0.5f, 1e-4f};
    o.threads = threads;
    SoftmaxRegression model(s.inputs, 2, Output::logistic);
    Rng rng(9);
    const auto history = Trainer(o).fit(model, marked, marked, rng);
    EXPECT_EQ(history.back().test_accuracy, 1.0);
    std::vector<float> w(model.weight().begin(), model.weight().end());
    w.insert(w.end(), model.bias().begin(), model.bias().end());
    if (first.empty())
      first = w;
    else
      EXPECT_EQ(w, first) << threads;
  }
}

// A LIBSVM file of `rows` rows, 3 classes, a line every 50 blank or a comment.
std::string libsvm_text(std::size_t rows, std::uint64_t seed) {
  Rng rng(seed);
  std::string s;
  for (std::size_t i = 0; i < rows; ++i) {
    if (i % 50 == 7) s += i % 100 == 7 ? "\n" : "# a comment\n";
    const std::uint64_t y = rng.below(3);
    s += std::to_string(y);
    std::uint64_t c = 300 * y;  // each class's columns start 300 apart: learnable
    for (int j = 0; j < 6; ++j) {
      c += 1 + rng.below(40);
      s += " " + std::to_string(c) + ":" + std::to_string(j + 1);
    }
    s += "\n";
  }
  return s;
}

// Early stopping on sparse rows: training labels at random (to be memorised), validation rows
// labelled by the columns as the training rows would be without the noise; the weights kept are
// a run of the best epoch's length, bit for bit.
TEST(SparseTrainer, EarlyStoppingKeepsTheWeightsOfTheBestValidationEpoch) {
  const Dataset whole = [] {
    test::TempDir dir;
    const auto f = dir.path() / "rows.svm";
    test::write_text(f, libsvm_text(600, 8));
    return load_libsvm(f);
  }();
  Dataset train = whole.empty_like("train"), validation = whole.empty_like("validation");
  for (std::size_t i = 0; i < whole.rows; ++i) (i < 60 ? train : validation).append_row(whole, i);
  Rng noise(4);
  for (auto& y : train.labels) y = static_cast<std::int32_t>(noise.below(3));
  TrainOptions o;
  o.epochs = 80;
  o.batch_size = 4;
  o.sgd = {1.0f, 0.0f, 0.0f};
  o.early_stopping = 4;
  SoftmaxRegression stopped(whole.inputs, 3), plain(whole.inputs, 3);
  Rng rng(2), rng_again(2);
  const auto history = Trainer(o).validate_on(validation).fit(stopped, train, validation, rng);
  const int best = best_validation_epoch(history);
  ASSERT_GT(best, 0);
  EXPECT_EQ(history.size(), static_cast<std::size_t>(best + 4));
  o.epochs = best;
  o.early_stopping = 0;
  Trainer(o).fit(plain, train, validation, rng_again);
  EXPECT_EQ(std::vector<float>(stopped.weight().begin(), stopped.weight().end()),
            std::vector<float>(plain.weight().begin(), plain.weight().end()));
}

// The stream's blocks, put together, are the file as load_libsvm reads it; its first pass
// finds the same classes and features; an error in a later block names its line in the file.
TEST(SparseFileStreamTest, BlocksAreTheFileAndErrorsNameTheirLine) {
  test::TempDir dir;
  const auto f = dir.path() / "rows.svm";
  test::write_text(f, libsvm_text(700, 4));
  const Dataset whole = load_libsvm(f);
  SparseFileStream stream(f, SparseFileStream::Kind::libsvm, {}, /*block_bytes=*/1000);
  EXPECT_EQ(stream.rows(), whole.rows);
  EXPECT_EQ(stream.inputs(), whole.inputs);
  EXPECT_EQ(stream.classes(), whole.class_names);
  for (int pass = 0; pass < 2; ++pass) {
    stream.rewind();
    Dataset all = whole.empty_like("blocks");
    Dataset block;
    std::size_t blocks = 0;
    while (stream.next(block)) {
      ++blocks;
      for (std::size_t i = 0; i < block.rows; ++i) all.append_row(block, i);
    }
    EXPECT_GT(blocks, 10u);
    EXPECT_EQ(all.sparse.offsets, whole.sparse.offsets);
    EXPECT_EQ(all.sparse.cols, whole.sparse.cols);
    EXPECT_EQ(all.sparse.vals, whole.sparse.vals);
    EXPECT_EQ(all.labels, whole.labels);
  }
  std::string text = libsvm_text(700, 4);
  const std::size_t line = 650;  // far past the first block
  std::size_t at = 0;
  for (std::size_t l = 1; l < line; ++l) at = text.find('\n', at) + 1;
  text.insert(at, "1 5:x\n");
  test::write_text(f, text);
  try {
    SparseFileStream bad(f, SparseFileStream::Kind::libsvm, {}, 1000);
    ADD_FAILURE() << "a bad line is found by the first pass";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("line 650, pair 1: expected index:value but found '5:x'"),
              std::string::npos)
        << e.what();
  }
}

// A stream reads its file twice: standard input, a pipe or a device is refused by name (from
// /dev/zero it used to grow one line without end); and no line may pass kMaxLineBytes, on any path.
TEST(SparseFileStreamTest, OnlyARegularFileIsStreamedAndALineHasAMaximumLength) {
  test::TempDir dir;
  const auto fifo = dir.path() / "fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  for (const std::filesystem::path& f :
       {std::filesystem::path("-"), std::filesystem::path("/dev/zero"), dir.path()}) {
    try {
      SparseFileStream stream(f, SparseFileStream::Kind::libsvm, {}, 1000);
      ADD_FAILURE() << f << " was streamed";
    } catch (const InputError& e) {
      const std::string m = e.what();
      EXPECT_TRUE(m.find("not a regular file") != std::string::npos ||
                  m.rfind("standard input: a stream reads its file twice", 0) == 0)
          << m;
    }
  }
  // A stream refused closes its file (found by fuzz_stream: a constructor that throws runs no
  // destructor).
  const auto open_files = [] {
    std::size_t n = 0;
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) ++n;
    return n;
  };
  const auto empty = dir.path() / "empty.svm";
  test::write_text(empty, "");
  const std::size_t before = open_files();
  for (int i = 0; i < 3; ++i)
    EXPECT_THROW(SparseFileStream(empty, SparseFileStream::Kind::libsvm, {}, 1000), InputError);
  EXPECT_EQ(open_files(), before);
  // A line of 64 MiB and one byte, in a file: the stream, the whole-file loaders, the parts.
  const std::string long_line = "1 1:1 " + std::string(kMaxLineBytes, '2') + ":1\n";
  const auto f = dir.path() / "long.svm";
  test::write_text(f, "0 1:1\n" + long_line);
  const std::string want = "line 2: longer than the 64 MiB a line may hold";
  const auto error = [&](const std::function<void()>& read) {
    try {
      read();
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(error([&] { SparseFileStream(f, SparseFileStream::Kind::libsvm, {}, 1 << 20); }),
            f.string() + ": " + want);
  EXPECT_EQ(error([&] { load_libsvm(f); }), f.string() + ": " + want);
  EXPECT_EQ(error([&] { parse_text("__label__a x\n__label__b " + long_line, "t", {}); }),
            "t: " + want);
  CsvOptions csv;
  EXPECT_EQ(error([&] { parse_csv("a,b\n1,2\n3,\"" + long_line + "\"\n", "c", csv); }),
            "c: line 3: longer than the 64 MiB a line may hold");
}

// Trained from a stream whose buffer holds the whole file, the model is the in-memory run's bit
// for bit; with a smaller buffer (shuffled within each) it still learns.
TEST(SparseFileStreamTest, StreamingEqualsTheInMemoryRunWhenTheBufferHoldsTheFile) {
  test::TempDir dir;
  const auto f = dir.path() / "rows.svm";
  test::write_text(f, libsvm_text(3000, 5));
  const Dataset whole = load_libsvm(f);
  TrainOptions o;
  o.epochs = 3;
  o.batch_size = 16;
  o.sgd = {0.5f, 0.0f, 1e-3f};
  o.schedule = TrainOptions::Schedule::linear;
  SoftmaxRegression a(whole.inputs, 3), b(whole.inputs, 3), c(whole.inputs, 3);
  Rng ra(1), rb(1), rc(1);
  const auto ha = Trainer(o).fit(a, whole, whole, ra);
  SparseFileStream stream(f, SparseFileStream::Kind::libsvm, {}, /*block_bytes=*/4096);
  const auto hb = Trainer(o).fit_stream(b, stream, whole, whole.rows, rb);
  EXPECT_EQ(std::vector<float>(a.weight().begin(), a.weight().end()),
            std::vector<float>(b.weight().begin(), b.weight().end()));
  EXPECT_EQ(std::vector<float>(a.bias().begin(), a.bias().end()),
            std::vector<float>(b.bias().begin(), b.bias().end()));
  EXPECT_EQ(ha.back().loss, hb.back().loss);
  // The same from a cache of the file, read in blocks.
  const auto cache = dir.path() / "rows.cache";
  const CacheKey key = cache_key_of(f, "libsvm");
  write_cache(cache, stream, key);
  const std::unique_ptr<SparseCacheStream> cached = SparseCacheStream::open(cache, key, 4096);
  ASSERT_NE(cached, nullptr);
  SoftmaxRegression d(whole.inputs, 3);
  Rng rd(1);
  Trainer(o).fit_stream(d, *cached, whole, whole.rows, rd);
  EXPECT_EQ(std::vector<float>(a.weight().begin(), a.weight().end()),
            std::vector<float>(d.weight().begin(), d.weight().end()));
  const auto hc = Trainer(o).fit_stream(c, stream, whole, 500, rc);
  EXPECT_NE(std::vector<float>(a.weight().begin(), a.weight().end()),
            std::vector<float>(c.weight().begin(), c.weight().end()))
      << "buffers of 500 rows shuffle differently";
  EXPECT_GT(hc.back().test_accuracy, 0.9) << "each class has columns of its own: learnable";
}

INSTANTIATE_TEST_SUITE_P(Shapes, SparseKernel, ::testing::ValuesIn(kShapes),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace softreg
