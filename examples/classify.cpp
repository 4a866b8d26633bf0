// softreg as a library on the caller's own arrays (docs/api.md): fit logistic regression on a
// small table held in a std::vector, without copying it, then score and classify new rows.
#include <cstdio>
#include <vector>

#include "softreg/classifier.hpp"

int main() {
  // Six patients, two features (temperature in °C minus 37, oxygen saturation in % minus 95).
  const std::vector<float> x = {2.1f, -4, 1.5f, -3, 0.1f, 1, -0.2f, 2, 1.8f, -5, 0.0f, 3};
  const std::vector<std::int32_t> sick = {1, 1, 0, 0, 1, 0};
  const softreg::DenseMatrix m{x.data(),         /*f64=*/false,   /*rows=*/6, /*cols=*/2,
                               /*row_stride=*/2, /*col_stride=*/1};
  const softreg::FeatureView view = softreg::FeatureView::of(m);  // float32 C order: no copy
  softreg::SoftmaxRegression model(2, 2, softreg::Output::logistic);
  softreg::ClassifierOptions options;  // lbfgs to the optimum of C = 1, scikit-learn's objective
  const softreg::ClassifierFit fit = softreg::fit_classifier(model, view, sick, {}, options);
  std::printf("%d iterations, objective %.6f, read in place: %s\n", fit.iterations, fit.objective,
              view.is_view() ? "yes" : "no");
  const std::vector<double> fresh = {1.0, -2.5, -0.5, 1.5};  // float64: converted once
  const softreg::FeatureView rows =
      softreg::FeatureView::of(softreg::DenseMatrix{fresh.data(), true, 2, 2, 2, 1});
  const softreg::Matrix<double> p = softreg::predict_proba(model, rows);
  const std::vector<std::int32_t> y = softreg::predict_classes(model, rows);
  for (std::size_t i = 0; i < y.size(); ++i)
    std::printf("patient %zu: P(sick) = %.3f -> %s\n", i, p(i, 1), y[i] ? "sick" : "well");
}
