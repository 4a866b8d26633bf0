// classifier.hpp: views of the caller's matrices (read in place when their layout is the
// kernels', else converted once, and checked either way), and fitting and scoring on them.
#include "softreg/classifier.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "softreg/error.hpp"
#include "softreg/random.hpp"
#include "softreg/train.hpp"

namespace softreg {
namespace {

// n rows of d features, 3 classes, each class shifting its own feature.
struct Table {
  std::vector<double> x;
  std::vector<std::int32_t> y;
  std::size_t n, d;
};

Table table(std::size_t n, std::size_t d, std::uint64_t seed) {
  Rng rng(seed);
  Table t{{}, {}, n, d};
  for (std::size_t i = 0; i < n; ++i) {
    const auto c = static_cast<std::int32_t>(rng.below(3));
    t.y.push_back(c);
    for (std::size_t j = 0; j < d; ++j)
      // A third of the values are 0, so the CSR of the table is sparse.
      t.x.push_back(rng.uniform() < 0.3
                        ? 0.0
                        : rng.normal() + (j % 3 == static_cast<std::size_t>(c) ? 1.5 : 0.0));
  }
  return t;
}

DenseMatrix c_order(const std::vector<float>& v, std::size_t n, std::size_t d) {
  return {v.data(), false, n, d, static_cast<std::ptrdiff_t>(d), 1};
}

TEST(FeatureView, Float32InCOrderIsReadInPlaceAndEverythingElseConvertedToTheSameValues) {
  const Table t = table(7, 4, 1);
  const std::vector<float> f(t.x.begin(), t.x.end());
  const FeatureView view = FeatureView::of(c_order(f, 7, 4));
  EXPECT_TRUE(view.is_view());
  EXPECT_EQ(view.features().floats, f.data());
  const FeatureView doubles = FeatureView::of(DenseMatrix{t.x.data(), true, 7, 4, 4, 1});
  EXPECT_FALSE(doubles.is_view());
  std::vector<float> fortran(28);
  for (std::size_t i = 0; i < 7; ++i)
    for (std::size_t j = 0; j < 4; ++j) fortran[j * 7 + i] = f[i * 4 + j];
  const FeatureView columns = FeatureView::of(DenseMatrix{fortran.data(), false, 7, 4, 1, 7});
  EXPECT_FALSE(columns.is_view());
  for (std::size_t i = 0; i < 28; ++i) {
    EXPECT_EQ(doubles.features().floats[i], f[i]);
    EXPECT_EQ(columns.features().floats[i], f[i]);
  }
}

TEST(FeatureView, CsrOfTheKernelsLayoutIsReadInPlaceOthersAreSortedAndSummed) {
  const std::vector<std::int64_t> indptr = {0, 2, 2, 3};
  const std::vector<std::int32_t> indices = {0, 3, 1};
  const std::vector<float> data = {1.5f, -2, 4};
  const CsrMatrix m{3, 4, indptr.data(), true, indices.data(), false, data.data(), false, 3, 3};
  const FeatureView view = FeatureView::of(m);
  EXPECT_TRUE(view.is_view());
  EXPECT_EQ(reinterpret_cast<const void*>(view.features().cols), indices.data());
  // int32 indptr, unsorted columns with a duplicate, double values: one converted copy.
  const std::vector<std::int32_t> indptr32 = {0, 3, 3, 4};
  const std::vector<std::int64_t> unsorted = {3, 0, 3, 1};
  const std::vector<double> values = {-1, 1.5, -1, 4};
  const FeatureView copy = FeatureView::of(
      CsrMatrix{3, 4, indptr32.data(), false, unsorted.data(), true, values.data(), true, 4, 4});
  EXPECT_FALSE(copy.is_view());
  const Features& x = copy.features();
  ASSERT_EQ(x.offsets[3], 3u);
  EXPECT_EQ(std::vector<std::uint32_t>(x.cols, x.cols + 3), (std::vector<std::uint32_t>{0, 3, 1}));
  EXPECT_EQ(std::vector<float>(x.vals, x.vals + 3), (std::vector<float>{1.5f, -2, 4}));
}

TEST(FeatureView, BadMatricesAreInputErrorsNamingWhatIsWrong) {
  const auto message = [](auto&& make) {
    try {
      make();
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  const std::vector<std::int64_t> indptr = {0, 2, 1};
  const std::vector<std::int32_t> indices = {0, 9};
  const std::vector<float> data = {1, 2};
  EXPECT_NE(message([&] {
              FeatureView::of(CsrMatrix{1, 4, indptr.data(), true, indices.data(), false,
                                        data.data(), false, 2, 2});
            }).find("column index 9 in row 0 is outside [0, 4)"),
            std::string::npos);
  EXPECT_NE(message([&] {
              const std::vector<std::int32_t> ok = {0, 1};
              FeatureView::of(
                  CsrMatrix{2, 4, indptr.data(), true, ok.data(), false, data.data(), false, 2, 2});
            }).find("indptr decreases at row 1"),
            std::string::npos);
  // indptr pointing past the stored values: refused before any index is read (the indices
  // array here is short, and reading it at the row's range would read past it).
  const std::vector<std::int64_t> past = {0, 100000000, 5};
  const std::vector<std::int32_t> five = {0, 1, 2, 3, 4};
  const std::vector<float> five_values(5, 1.0f);
  EXPECT_EQ(message([&] {
              FeatureView::of(CsrMatrix{2, 8, past.data(), true, five.data(), false,
                                        five_values.data(), false, 5, 5});
            }),
            "X: indptr decreases at row 1");
  const std::vector<std::int64_t> beyond = {0, 2, 7};
  EXPECT_EQ(message([&] {
              FeatureView::of(CsrMatrix{2, 8, beyond.data(), true, five.data(), false,
                                        five_values.data(), false, 5, 5});
            }),
            "X: indptr ends at 7 but indices has 5 entries and data 5");
  const std::vector<float> nan = {1, std::numeric_limits<float>::quiet_NaN()};
  EXPECT_NE(
      message([&] { FeatureView::of(c_order(nan, 1, 2)); }).find("row 0, column 1 is not a finite"),
      std::string::npos);
  const std::vector<double> huge = {1e300, 1};
  EXPECT_NE(message([&] {
              FeatureView::of(DenseMatrix{huge.data(), true, 1, 2, 2, 1});
            }).find("not a finite float32"),
            std::string::npos);
}

std::vector<float> parameters(const SoftmaxRegression& m) {
  std::vector<float> p(m.weight().begin(), m.weight().end());
  p.insert(p.end(), m.bias().begin(), m.bias().end());
  return p;
}

TEST(FitClassifier, DenseAndSparseViewsOfOneTableReachOneOptimumForEveryThreadCount) {
  const Table t = table(300, 6, 2);
  const std::vector<float> f(t.x.begin(), t.x.end());
  std::vector<std::int64_t> indptr = {0};
  std::vector<std::int32_t> indices;
  std::vector<float> values;
  for (std::size_t i = 0; i < t.n; ++i) {
    for (std::size_t j = 0; j < t.d; ++j)
      if (f[i * t.d + j] != 0.0f) {
        indices.push_back(static_cast<std::int32_t>(j));
        values.push_back(f[i * t.d + j]);
      }
    indptr.push_back(static_cast<std::int64_t>(indices.size()));
  }
  ClassifierOptions o;
  o.tol = 1e-6;  // n max|grad| of the mean: the gradient of the sum within 1e-6
  o.max_iter = 1000;
  std::vector<std::vector<float>> fits;
  for (const unsigned threads : {1u, 2u}) {
    o.threads = threads;
    SoftmaxRegression dense(t.d, 3), sparse(t.d, 3);
    const ClassifierFit r =
        fit_classifier(dense, FeatureView::of(c_order(f, t.n, t.d)), t.y, {}, o);
    EXPECT_TRUE(r.converged);
    fit_classifier(sparse,
                   FeatureView::of(CsrMatrix{t.n, t.d, indptr.data(), true, indices.data(), false,
                                             values.data(), false, indices.size(), values.size()}),
                   t.y, {}, o);
    const auto a = parameters(dense), b = parameters(sparse);
    for (std::size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-4) << i;
    fits.push_back(a);
  }
  EXPECT_EQ(0, std::memcmp(fits[0].data(), fits[1].data(), fits[0].size() * sizeof(float)));
}

TEST(FitClassifier, ScoresProbabilitiesAndClassesAreTheModels) {
  const Table t = table(50, 4, 3);
  const std::vector<float> f(t.x.begin(), t.x.end());
  const FeatureView x = FeatureView::of(c_order(f, t.n, t.d));
  SoftmaxRegression model(4, 3);
  fit_classifier(model, x, t.y, {}, {});
  const Matrix<double> z = decision_function(model, x);
  const Matrix<double> p = predict_proba(model, x);
  const std::vector<std::int32_t> y = predict_classes(model, x);
  for (std::size_t i = 0; i < t.n; ++i) {
    double sum = 0;
    for (std::size_t k = 0; k < 3; ++k) {
      double s = model.bias()[k];
      for (std::size_t j = 0; j < 4; ++j) s += double(model.weight()[k * 4 + j]) * f[i * 4 + j];
      EXPECT_NEAR(z(i, k), s, 1e-12);
      sum += p(i, k);
    }
    EXPECT_NEAR(sum, 1.0, 1e-12);
    const auto row = z.row(i);
    EXPECT_EQ(y[i], std::max_element(row.begin(), row.end()) - row.begin());
  }
}

TEST(FitClassifier, BadLabelsAndWeightsAreInputErrors) {
  const Table t = table(20, 3, 4);
  const std::vector<float> f(t.x.begin(), t.x.end());
  const FeatureView x = FeatureView::of(c_order(f, t.n, t.d));
  SoftmaxRegression model(3, 3);
  std::vector<std::int32_t> y = t.y;
  y[5] = 3;
  EXPECT_THROW(fit_classifier(model, x, y, {}, {}), InputError);
  std::vector<double> w(20, 1.0);
  w[2] = -1;
  EXPECT_THROW(fit_classifier(model, x, t.y, w, {}), InputError);
  EXPECT_THROW(fit_classifier(model, x, std::span(t.y).first(10), {}, {}), InputError);
  SoftmaxRegression wider(4, 3);
  EXPECT_THROW(fit_classifier(wider, x, t.y, {}, {}), InputError);
}

// The table as softreg train loads one: float rows, or sparse rows of its nonzeros.
Dataset dataset_of(const Table& t, bool sparse) {
  Dataset d;
  d.rows = t.n;
  d.inputs = t.d;
  d.shape = {t.d};
  d.source = "table";
  d.class_names = {"0", "1", "2"};
  d.labels = t.y;
  if (!sparse) {
    d.values.assign(t.x.begin(), t.x.end());
    return d;
  }
  d.sparse.offsets = {0};
  for (std::size_t i = 0; i < t.n; ++i) {
    for (std::size_t j = 0; j < t.d; ++j)
      if (t.x[i * t.d + j] != 0.0) {
        d.sparse.cols.push_back(static_cast<std::uint32_t>(j));
        d.sparse.vals.push_back(static_cast<float>(t.x[i * t.d + j]));
      }
    d.sparse.offsets.push_back(d.sparse.cols.size());
  }
  return d;
}

// SGD through the API reads the caller's rows in place, a validation split's training part
// included (its rows by index): the run is softreg train's on the split and copied data set,
// bit for bit (the same draws: split, the lesson's weights, every epoch's order).
TEST(FitClassifier, SgdOnAViewIsSoftregTrainsRunWithItsValidationSplitBitForBit) {
  const Table t = table(400, 5, 5);
  for (const bool sparse : {false, true})
    for (const double fraction : {0.0, 0.2}) {
      const Dataset d = dataset_of(t, sparse);
      TrainOptions o;
      o.epochs = 8;
      o.batch_size = 16;
      o.sgd.lr = 0.2f;
      o.sgd.weight_decay = 0.001f;
      o.early_stopping = fraction > 0 ? 2 : 0;
      o.threads = 2;
      // softreg train: split the loaded rows (copies), the lesson's weights, then train.
      Rng rng(11);
      Dataset train = d, validation;
      if (fraction > 0) {
        TrainTest vt = stratified_split(std::move(train), fraction, rng, "--validation-split");
        train = std::move(vt.train);
        validation = std::move(vt.test);
      }
      SoftmaxRegression want(t.d, 3);
      want.init(rng);
      Trainer trainer(o);
      if (fraction > 0) trainer.validate_on(validation);
      const std::vector<EpochMetrics> want_history =
          trainer.fit(want, train, train.empty_like("none"), rng);

      ClassifierOptions c;
      c.solver = Solver::sgd;
      c.penalty = Penalty{Penalty::lambda, 0.001};
      c.sgd = o;
      c.validation_fraction = fraction;
      c.lesson_init = true;
      c.seed = 11;
      c.threads = 2;
      const FeatureView x = FeatureView::of(d);
      EXPECT_TRUE(x.is_view());
      SoftmaxRegression got(t.d, 3);
      const ClassifierFit r = fit_classifier(got, x, d.labels, {}, c);
      SCOPED_TRACE(::testing::Message() << "sparse " << sparse << " fraction " << fraction);
      const auto a = parameters(want), b = parameters(got);
      EXPECT_EQ(0, std::memcmp(a.data(), b.data(), a.size() * sizeof(float)));
      ASSERT_EQ(r.history.size(), want_history.size());
      for (std::size_t e = 0; e < want_history.size(); ++e) {
        EXPECT_EQ(r.history[e].loss, want_history[e].loss);
        EXPECT_EQ(r.history[e].validated, fraction > 0);
        EXPECT_EQ(r.history[e].validation_loss, want_history[e].validation_loss);
      }
    }
}

TEST(FitClassifier, AValidationSplitThatLeavesAClassNoTrainingRowOrIsNotSgdIsAnInputError) {
  Table t = table(60, 3, 6);
  t.y[0] = 3;  // one row of a fourth class
  const std::vector<float> f(t.x.begin(), t.x.end());
  const FeatureView x = FeatureView::of(c_order(f, t.n, t.d));
  SoftmaxRegression model(3, 4);
  ClassifierOptions c;
  c.solver = Solver::sgd;
  c.validation_fraction = 0.5;  // rounds class 3's one row out
  try {
    fit_classifier(model, x, t.y, {}, c);
    ADD_FAILURE() << "no error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("validation_fraction 0.5 leaves class 3 of X without a "
                                         "training row"),
              std::string::npos)
        << e.what();
  }
  c.solver = Solver::lbfgs;
  EXPECT_THROW(fit_classifier(model, x, t.y, {}, c), InputError);
  const auto message = [&](const ClassifierOptions& o, const FitWatch& w) {
    try {
      fit_classifier(model, x, t.y, {}, o, w);
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  c.solver = Solver::sgd;
  c.validation_fraction = 0.001;  // rounds to no row of any class
  EXPECT_EQ(message(c, {}), "validation_fraction 0.001 holds out no row of X");
  c.validation_fraction = 0.2;
  FitWatch watch;
  watch.validation = {&x, t.y};
  EXPECT_EQ(message(c, watch),
            "validation_fraction holds rows out of X: give it or a validation set");
  const TrainState state;
  FitWatch resume;
  resume.resume = &state;
  EXPECT_EQ(message(c, resume), "a run on a subset of the rows does not resume from a checkpoint");
}

}  // namespace
}  // namespace softreg
