// fit() across processes (issue 22): P processes (threads here), each holding its part of the
// training rows, fit the model one process fits on all of them, bit for bit — lbfgs and newton,
// softmax and logistic, bytes, floats and sparse rows, with sample and balanced class weights.
#include "softreg/fit.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "fixtures.hpp"
#include "softreg/comm.hpp"
#include "softreg/data.hpp"
#include "softreg/objective.hpp"
#include "softreg/random.hpp"
#include "thread_comm.hpp"

namespace softreg {
namespace {

enum class Storage { bytes, floats, sparse };

// 3,000 rows (3 stripes) of 24 inputs in 4 classes, as bytes, floats or sparse rows (the bytes
// that are not 0), with sample weights when `weighted`.
Dataset make(Storage storage, bool weighted) {
  Dataset d = test::synthetic_bytes(3000, 24, 4, 5);
  if (storage == Storage::floats) {
    for (std::uint8_t b : d.pixels) d.values.push_back(b * d.scale);
    d.pixels.clear();
    d.scale = 1.0f;
  } else if (storage == Storage::sparse) {
    d.sparse.offsets = {0};
    for (std::size_t i = 0; i < d.rows; ++i) {
      for (std::size_t j = 0; j < d.inputs; ++j)
        if (const std::uint8_t b = d.pixels[i * d.inputs + j]; b > 60) {
          d.sparse.cols.push_back(static_cast<std::uint32_t>(j));
          d.sparse.vals.push_back(b / 255.0f);
        }
      d.sparse.offsets.push_back(d.sparse.cols.size());
    }
    d.pixels.clear();
    d.scale = 1.0f;
  }
  if (weighted) {
    Rng rng(3);
    for (std::size_t i = 0; i < d.rows; ++i) d.weights.push_back(0.25 + rng.uniform());
  }
  return d;
}

struct Case {
  Storage storage;
  Solver solver;
  Output output;
  bool weighted;
};

std::string name(const Case& c) {
  const char* s[] = {"Bytes", "Floats", "Sparse"};
  return std::string(s[static_cast<int>(c.storage)]) +
         (c.solver == Solver::lbfgs ? "Lbfgs" : "Newton") +
         (c.output == Output::logistic ? "Logistic" : "Softmax") + (c.weighted ? "Weighted" : "");
}

class FitAcrossProcesses : public ::testing::TestWithParam<Case> {};

TEST_P(FitAcrossProcesses, EveryProcessGetsTheSingleProcessModelBitForBit) {
  const Case& c = GetParam();
  Dataset data = make(c.storage, c.weighted);
  if (c.output == Output::logistic) {
    for (auto& y : data.labels) y %= 2;
    data.class_names.resize(2);
  }
  const ClassWeights balanced{true, {}};
  FitOptions options;
  options.solver = c.solver;
  options.penalty = {Penalty::c, 10.0};
  options.tol = 1e-8;
  options.max_iter = 30;
  ThreadPool pool(2);
  SoftmaxRegression want(data.inputs, data.classes(), c.output);
  const std::vector<double> weights = example_weights(data, balanced);
  const FitResult one = fit(want, data, weights, options, pool);
  ASSERT_GT(one.solve.iterations, 3);
  for (const int processes : {1, 2, 3}) {
    std::vector<SoftmaxRegression> got(static_cast<std::size_t>(processes));
    std::vector<FitResult> results(got.size());
    test::ThreadGroup group(processes);
    group.run([&](const Comm& comm) {
      const auto parts = static_cast<std::uint32_t>(processes);
      const auto r = static_cast<std::uint32_t>(comm.rank());
      const RowRange mine = c.storage == Storage::sparse
                                ? shard_rows(data.rows, parts, r)
                                : objective_rows(data.rows, data.inputs, want.outputs(), parts, r);
      Dataset part = data.empty_like("part");
      for (std::size_t i = mine.begin; i < mine.end; ++i) part.append_row(data, i);
      FitOptions o = options;
      o.comm = &comm;
      ThreadPool own(1);
      SoftmaxRegression model(data.inputs, data.classes(), c.output);
      results[r] = fit(model, part, example_weights(part, balanced, &comm), o, own);
      got[r] = std::move(model);
    });
    for (int r = 0; r < processes; ++r) {
      SCOPED_TRACE(::testing::Message() << "process " << r << " of " << processes);
      const auto& m = got[static_cast<std::size_t>(r)];
      EXPECT_EQ(std::vector<float>(m.weight().begin(), m.weight().end()),
                std::vector<float>(want.weight().begin(), want.weight().end()));
      EXPECT_EQ(std::vector<float>(m.bias().begin(), m.bias().end()),
                std::vector<float>(want.bias().begin(), want.bias().end()));
      EXPECT_EQ(results[static_cast<std::size_t>(r)].solve.iterations, one.solve.iterations);
      EXPECT_EQ(results[static_cast<std::size_t>(r)].solve.objective, one.solve.objective);
      EXPECT_EQ(results[static_cast<std::size_t>(r)].lambda, one.lambda);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, FitAcrossProcesses,
    ::testing::Values(Case{Storage::bytes, Solver::lbfgs, Output::softmax, false},
                      Case{Storage::bytes, Solver::newton, Output::softmax, true},
                      Case{Storage::floats, Solver::lbfgs, Output::logistic, true},
                      Case{Storage::floats, Solver::newton, Output::softmax, false},
                      Case{Storage::sparse, Solver::lbfgs, Output::softmax, true},
                      Case{Storage::sparse, Solver::newton, Output::logistic, false}),
    [](const auto& info) { return name(info.param); });

}  // namespace
}  // namespace softreg
