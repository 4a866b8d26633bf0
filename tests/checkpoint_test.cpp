// Checkpoints: a run of 10 epochs equals, bit for bit, a run of 5 whose checkpoint (written to
// bytes and read back) is resumed for 5 more, on dense and sparse data, for 1 and 2 threads,
// with every part of the state in play (momentum, AdaGrad, averaging started before and after
// the cut, schedules, warm-up, early stopping); and a checkpoint that is truncated or altered is
// refused.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "fixtures.hpp"
#include "softreg/data.hpp"
#include "softreg/error.hpp"
#include "softreg/io.hpp"
#include "softreg/safetensors.hpp"
#include "softreg/train.hpp"

namespace softreg {
namespace {

// n sparse rows of d columns in k classes, ~stored values a row, the class's columns likelier.
Dataset sparse_data(std::size_t n, std::size_t d, std::size_t k, std::size_t stored,
                    std::uint64_t seed) {
  Rng rng(seed);
  Dataset ds;
  ds.rows = n;
  ds.inputs = d;
  ds.shape = {d};
  ds.sparse.offsets = {0};
  for (std::size_t c = 0; c < k; ++c) ds.class_names.push_back("c" + std::to_string(c));
  for (std::size_t i = 0; i < n; ++i) {
    const auto y = static_cast<std::int32_t>(rng.below(k));
    ds.labels.push_back(y);
    for (std::size_t j = 0; j < d; ++j) {
      const bool own = j % k == static_cast<std::size_t>(y);
      if (rng.uniform() < static_cast<double>(stored) / static_cast<double>(d) * (own ? 3 : 1)) {
        ds.sparse.cols.push_back(static_cast<std::uint32_t>(j));
        ds.sparse.vals.push_back(static_cast<float>(rng.uniform()) + (own ? 0.5f : 0.0f));
      }
    }
    ds.sparse.offsets.push_back(ds.sparse.cols.size());
  }
  ds.source = "sparse";
  return ds;
}

std::vector<float> weights_of(const SoftmaxRegression& m) {
  std::vector<float> all(m.weight().begin(), m.weight().end());
  all.insert(all.end(), m.bias().begin(), m.bias().end());
  return all;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

struct Case {
  const char* name;
  bool sparse;
  TrainOptions options;  // epochs is set by the test
  bool validate = false;
};

std::vector<Case> cases() {
  std::vector<Case> all;
  const auto add = [&](const char* name, bool sparse, auto&& set, bool validate = false) {
    Case c{name, sparse, {}, validate};
    c.options.batch_size = 32;
    c.options.sgd.lr = 0.05f;
    set(c.options);
    all.push_back(c);
  };
  for (const bool sparse : {false, true}) {
    add(sparse ? "SparsePlain" : "DensePlain", sparse, [](TrainOptions&) {});
    add(sparse ? "SparseMomentumDecayStep" : "DenseMomentumDecayStep", sparse, [](TrainOptions& o) {
      o.sgd.momentum = 0.9f;
      o.sgd.weight_decay = 1e-3f;
      o.schedule = TrainOptions::Schedule::step;
      o.step_every = 3;
      o.step_gamma = 0.5f;
      o.warmup = 40;
    });
    add(sparse ? "SparseAdaGrad" : "DenseAdaGrad", sparse, [](TrainOptions& o) {
      o.sgd.adagrad = true;
      o.sgd.lr = 0.1f;
    });
    add(sparse ? "SparseAveragedBeforeTheCut" : "DenseAveragedBeforeTheCut", sparse,
        [](TrainOptions& o) { o.average_from = 3; });
    add(
        sparse ? "SparseEarlyStopping" : "DenseEarlyStopping", sparse,
        [](TrainOptions& o) {
          o.early_stopping = 20;  // keeps the best epoch's weights, does not stop
          o.sgd.lr = 0.5f;
        },
        true);
  }
  return all;
}

class Resume : public ::testing::TestWithParam<std::tuple<Case, unsigned>> {};

TEST_P(Resume, TenEpochsEqualFivePlusFiveResumedBitForBit) {
  const auto& [c, threads] = GetParam();
  const Dataset train =
      c.sparse ? sparse_data(700, 300, 40, 20, 1) : test::synthetic_bytes(700, 60, 5, 1);
  const Dataset test =
      c.sparse ? sparse_data(100, 300, 40, 20, 2) : test::synthetic_bytes(100, 60, 5, 2);
  const Dataset validation =
      c.sparse ? sparse_data(150, 300, 40, 20, 3) : test::synthetic_bytes(150, 60, 5, 3);
  const std::size_t classes = train.classes();
  const auto start = [&](Rng& rng) {
    SoftmaxRegression model(train.inputs, classes);
    if (!c.sparse) model.init(rng);
    return model;
  };
  const auto trainer = [&](int epochs, unsigned t) {
    TrainOptions o = c.options;
    o.epochs = epochs;
    o.threads = t;
    Trainer tr(o);
    if (c.validate) tr.validate_on(validation);
    return tr;
  };

  Rng rng_full(11);
  SoftmaxRegression full = start(rng_full);
  const std::vector<EpochMetrics> full_history =
      trainer(10, threads).fit(full, train, test, rng_full);

  // Five epochs, keeping the last checkpoint as the bytes of its file.
  Rng rng_half(11);
  SoftmaxRegression half = start(rng_half);
  std::vector<std::uint8_t> bytes;
  TrainCallbacks callbacks;
  callbacks.on_checkpoint = [&](const TrainState& s) {
    bytes = checkpoint_bytes(s, {{"note", "kept"}});
  };
  trainer(5, threads).fit(half, train, test, rng_half, callbacks);
  const Checkpoint checkpoint = parse_checkpoint(bytes, "c.ckpt");
  EXPECT_EQ(5, checkpoint.state.epoch);
  EXPECT_EQ("kept", checkpoint.notes.at("note"));

  // Resumed for five more, on the other thread count too.
  for (const unsigned t : {threads, 3 - threads}) {
    Rng rng(999);  // replaced by the checkpoint's
    SoftmaxRegression resumed(train.inputs, classes);
    Trainer tr = trainer(10, t);
    tr.resume_from(checkpoint.state);
    const std::vector<EpochMetrics> history = tr.fit(resumed, train, test, rng);
    EXPECT_TRUE(same_bits(weights_of(full), weights_of(resumed))) << "resumed on " << t;
    ASSERT_EQ(full_history.size(), history.size());
    for (std::size_t e = 0; e < history.size(); ++e) {
      EXPECT_EQ(full_history[e].loss, history[e].loss) << e;
      EXPECT_EQ(full_history[e].test_accuracy, history[e].test_accuracy) << e;
      EXPECT_EQ(full_history[e].validation_loss, history[e].validation_loss) << e;
      EXPECT_EQ(full_history[e].lr, history[e].lr) << e;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Checkpoint, Resume,
                         ::testing::Combine(::testing::ValuesIn(cases()),
                                            ::testing::Values(1u, 2u)),
                         [](const auto& info) {
                           return std::string(std::get<0>(info.param).name) + "Threads" +
                                  std::to_string(std::get<1>(info.param));
                         });

// A run of 10 epochs on a cosine schedule stopped after its 5th (Ctrl-C) goes on from the
// checkpoint of that epoch as if it had not stopped: the next order was already shuffled, and
// averaging starts after the cut (a run of 5 epochs could not ask for it).
TEST(Checkpoint, AnInterruptedRunResumesAsIfUninterrupted) {
  for (const bool sparse : {false, true}) {
    const Dataset train =
        sparse ? sparse_data(500, 200, 6, 15, 4) : test::synthetic_bytes(500, 40, 4, 4);
    const Dataset test =
        sparse ? sparse_data(50, 200, 6, 15, 5) : test::synthetic_bytes(50, 40, 4, 5);
    TrainOptions o;
    o.epochs = 10;
    o.batch_size = 50;
    o.schedule = TrainOptions::Schedule::cosine;
    o.sgd.momentum = sparse ? 0.0f : 0.5f;
    o.average_from = 7;
    Rng rng_full(3);
    SoftmaxRegression full(train.inputs, train.classes());
    if (!sparse) full.init(rng_full);
    Trainer(o).fit(full, train, test, rng_full);

    Rng rng(3);
    SoftmaxRegression stopped(train.inputs, train.classes());
    if (!sparse) stopped.init(rng);
    std::optional<TrainState> last;
    TrainCallbacks callbacks;
    callbacks.on_checkpoint = [&](const TrainState& s) { last = s; };
    callbacks.stop_requested = [&] { return last && last->epoch == 5; };
    EXPECT_THROW(Trainer(o).fit(stopped, train, test, rng, callbacks), Interrupted);
    ASSERT_TRUE(last);
    EXPECT_EQ(5, last->epoch);
    EXPECT_EQ(!sparse, last->order_shuffled);

    const Checkpoint c = parse_checkpoint(checkpoint_bytes(*last, {}), "c");
    Rng other(0);
    SoftmaxRegression resumed(train.inputs, train.classes());
    Trainer(o).resume_from(c.state).fit(resumed, train, test, other);
    EXPECT_TRUE(same_bits(weights_of(full), weights_of(resumed))) << (sparse ? "sparse" : "dense");
  }
}

TrainState five_epochs(std::vector<std::uint8_t>& bytes) {
  const Dataset train = test::synthetic_bytes(200, 30, 3, 6),
                test = test::synthetic_bytes(30, 30, 3, 7);
  TrainOptions o;
  o.epochs = 5;
  o.batch_size = 20;
  o.sgd.momentum = 0.9f;
  Rng rng(1);
  SoftmaxRegression model(30, 3);
  model.init(rng);
  TrainState last;
  TrainCallbacks callbacks;
  callbacks.on_checkpoint = [&](const TrainState& s) { last = s; };
  Trainer(o).fit(model, train, test, rng, callbacks);
  bytes = checkpoint_bytes(last, {{"fingerprint", "0123"}});
  return last;
}

TEST(Checkpoint, ATruncatedCheckpointIsRefused) {
  std::vector<std::uint8_t> bytes;
  five_epochs(bytes);
  for (const std::size_t keep :
       {std::size_t{0}, std::size_t{7}, std::size_t{100}, bytes.size() / 2, bytes.size() - 1}) {
    const std::vector<std::uint8_t> cut(bytes.begin(),
                                        bytes.begin() + static_cast<std::ptrdiff_t>(keep));
    EXPECT_THROW(parse_checkpoint(cut, "c.ckpt"), InputError) << keep;
  }
}

TEST(Checkpoint, AnAlteredCheckpointIsRefusedByItsChecksum) {
  std::vector<std::uint8_t> bytes;
  five_epochs(bytes);
  ASSERT_NO_THROW(parse_checkpoint(bytes, "c.ckpt"));
  // One bit of the weights, of the last history row, and a note's text in the header.
  for (const std::size_t at : {bytes.size() / 2, bytes.size() - 3}) {
    std::vector<std::uint8_t> altered = bytes;
    altered[at] ^= 0x10;
    try {
      parse_checkpoint(altered, "c.ckpt");
      ADD_FAILURE() << "accepted a flipped bit at " << at;
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find("c.ckpt: the checksum does not match"),
                std::string::npos)
          << e.what();
    }
  }
  const std::string header(
      bytes.begin(),
      bytes.begin() + static_cast<std::ptrdiff_t>(std::min<std::size_t>(4096, bytes.size())));
  const std::size_t note = header.find("0123");
  ASSERT_NE(std::string::npos, note);
  std::vector<std::uint8_t> altered = bytes;
  altered[note] = '9';
  EXPECT_THROW(parse_checkpoint(altered, "c.ckpt"), InputError);
}

// Found by fuzz_checkpoint: a checkpoint whose metadata lacks a key, with a checksum that fits.
TEST(Checkpoint, AMissingKeyBehindAGoodChecksumIsRefused) {
  std::vector<std::uint8_t> bytes;
  five_epochs(bytes);
  for (const char* key : {"best_loss", "epoch", "output", "since_best"}) {
    const SafetensorsFile st = parse_safetensors(bytes, "c");
    std::vector<std::pair<std::string, std::string>> meta;
    SafetensorsFile without = st;
    without.metadata.erase(key);
    for (const auto& [k, v] : without.metadata)
      if (k != "checksum") meta.emplace_back(k, v);
    meta.emplace_back("checksum", checkpoint_checksum(without));
    std::vector<TensorBytes> tensors;
    for (const SafetensorsTensor& t : st.tensors)
      tensors.push_back({t.name, t.dtype, t.shape, t.data});
    try {
      parse_checkpoint(safetensors_bytes(meta, tensors), "c.ckpt");
      ADD_FAILURE() << "accepted a checkpoint without " << key;
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(key), std::string::npos) << e.what();
    }
  }
}

TEST(Checkpoint, AModelFileIsNotACheckpoint) {
  SoftmaxRegression m(4, 3);
  ModelInfo info;
  info.class_names = {"a", "b", "c"};
  info.input_shape = {4};
  try {
    parse_checkpoint(model_file_bytes(m, info), "m.safetensors");
    ADD_FAILURE() << "a model file was read as a checkpoint";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("m.safetensors: not a softreg checkpoint"),
              std::string::npos)
        << e.what();
  }
}

TEST(Checkpoint, ResumingIsRefusedWhenNothingIsLeftOrTheModelDiffers) {
  std::vector<std::uint8_t> bytes;
  const TrainState state = five_epochs(bytes);
  const Dataset train = test::synthetic_bytes(200, 30, 3, 6),
                test = test::synthetic_bytes(30, 30, 3, 7);
  TrainOptions o;
  o.batch_size = 20;
  o.sgd.momentum = 0.9f;
  Rng rng(1);
  for (const int epochs : {3, 5}) {
    o.epochs = epochs;
    SoftmaxRegression model(30, 3);
    try {
      Trainer(o).resume_from(state).fit(model, train, test, rng);
      ADD_FAILURE() << "resumed with --epochs " << epochs;
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find("`epochs` " + std::to_string(epochs) +
                                           ": the checkpoint has done 5 epochs already"),
                std::string::npos)
          << e.what();
    }
  }
  o.epochs = 10;
  const Dataset four = test::synthetic_bytes(200, 30, 4, 6);
  SoftmaxRegression other(30, 4);
  EXPECT_THROW(
      Trainer(o).resume_from(state).fit(other, four, test::synthetic_bytes(30, 30, 4, 7), rng),
      InputError);
  o.batch_size = 25;  // other steps an epoch
  SoftmaxRegression model(30, 3);
  EXPECT_THROW(Trainer(o).resume_from(state).fit(model, train, test, rng), InputError);
  o.batch_size = 20;
  o.sgd.momentum = 0.0f;  // no velocity to put the checkpoint's in
  EXPECT_THROW(Trainer(o).resume_from(state).fit(model, train, test, rng), InputError);
}

}  // namespace
}  // namespace softreg
