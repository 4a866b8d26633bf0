// The lesson's concise softmax regression on Fashion-MNIST, in LibTorch (PyTorch's C++ frontend):
// a peer that softreg is measured against, without Python's overhead per call.
//
//   libtorch_lesson [--data DIR] [--epochs 10] [--threads 2] [--seed 0] [--limit N] [--quiet]
//
// It is bench/peers/pytorch_lesson.py --variant concise line for line: nn::Sequential(Flatten,
// Linear(784, 10)), W from N(0, 0.01^2), b = 0, cross-entropy, optim::SGD with learning rate 0.1,
// batch 256, 10 epochs, reshuffled every epoch, pixels scaled to [0, 1]. The data are preloaded as
// tensors before timing starts and batches are taken by indexing them with a fresh permutation.
// The output matches `softreg train`: one line per epoch (its seconds cover that epoch's training
// and the test-set evaluation), then a `trained ...` summary whose seconds are the sum of the
// epochs'.
#include <torch/torch.h>
#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace {

constexpr std::int64_t kBatchSize = 256;
constexpr double kLearningRate = 0.1;

// ----------------------------------------------------------------------------- data
// A gzip file read whole; the error names the file.
std::vector<unsigned char> read_gz(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (f == nullptr) throw std::runtime_error(path + ": cannot open");
  std::vector<unsigned char> bytes;
  unsigned char buffer[1 << 16];
  for (;;) {
    const int n = gzread(f, buffer, sizeof buffer);
    if (n < 0) {
      int code = 0;
      const std::string message = gzerror(f, &code);
      gzclose(f);
      throw std::runtime_error(path + ": " + message);
    }
    if (n == 0) break;
    bytes.insert(bytes.end(), buffer, buffer + n);
  }
  gzclose(f);
  return bytes;
}

// An IDX file of unsigned bytes with `dims` dimensions, as a uint8 tensor of its shape.
torch::Tensor read_idx(const std::string& path, int dims) {
  const std::vector<unsigned char> raw = read_gz(path);
  const auto be32 = [&](std::size_t at) {
    return static_cast<std::uint32_t>(raw[at]) << 24 |
           static_cast<std::uint32_t>(raw[at + 1]) << 16 |
           static_cast<std::uint32_t>(raw[at + 2]) << 8 | static_cast<std::uint32_t>(raw[at + 3]);
  };
  const std::size_t header = 4 + 4 * static_cast<std::size_t>(dims);
  if (raw.size() < header) throw std::runtime_error(path + ": too short for an IDX header");
  const std::uint32_t magic = be32(0);
  if (magic != 0x0800u + static_cast<std::uint32_t>(dims)) {
    throw std::runtime_error(path + ": IDX magic " + std::to_string(magic) + " but expected " +
                             std::to_string(0x0800 + dims));
  }
  std::vector<std::int64_t> shape;
  std::uint64_t count = 1;
  for (int i = 0; i < dims; ++i) {
    shape.push_back(be32(4 + 4 * static_cast<std::size_t>(i)));
    count *= static_cast<std::uint64_t>(shape.back());
  }
  if (raw.size() - header != count) {
    throw std::runtime_error(path + ": the header claims " + std::to_string(count) +
                             " bytes of data but the file holds " +
                             std::to_string(raw.size() - header));
  }
  return torch::from_blob(const_cast<unsigned char*>(raw.data() + header), shape, torch::kUInt8)
      .clone();  // from_blob does not own the bytes
}

struct Split {
  torch::Tensor x;  // float32 (n, 1, 28, 28) in [0, 1]
  torch::Tensor y;  // int64 (n)
};

Split load_split(const std::string& dir, const std::string& prefix) {
  const torch::Tensor images = read_idx(dir + "/" + prefix + "-images-idx3-ubyte.gz", 3);
  const torch::Tensor labels = read_idx(dir + "/" + prefix + "-labels-idx1-ubyte.gz", 1);
  if (images.size(0) != labels.size(0)) {
    throw std::runtime_error(dir + ": " + prefix + ": " + std::to_string(images.size(0)) +
                             " images but " + std::to_string(labels.size(0)) + " labels");
  }
  return {images.to(torch::kFloat32).div_(255).reshape({-1, 1, 28, 28}), labels.to(torch::kInt64)};
}

// ----------------------------------------------------------------------------- the lesson
double correct(const torch::Tensor& y_hat, const torch::Tensor& y) {
  return y_hat.argmax(1).eq(y).sum().item<double>();
}

double evaluate_accuracy(torch::nn::Sequential& net, const Split& data) {
  net->eval();
  torch::NoGradGuard no_grad;
  double right = 0;
  const std::int64_t n = data.y.size(0);
  for (std::int64_t start = 0; start < n; start += kBatchSize) {
    const std::int64_t end = std::min(n, start + kBatchSize);
    right += correct(net->forward(data.x.slice(0, start, end)), data.y.slice(0, start, end));
  }
  return right / static_cast<double>(n);
}

struct EpochResult {
  double loss;
  double accuracy;
};

EpochResult train_epoch(torch::nn::Sequential& net, torch::optim::SGD& trainer, const Split& data) {
  namespace F = torch::nn::functional;
  net->train();
  double loss_sum = 0;
  double right = 0;
  const std::int64_t n = data.y.size(0);
  const torch::Tensor order = torch::randperm(n, torch::kInt64);
  for (std::int64_t start = 0; start < n; start += kBatchSize) {
    const torch::Tensor idx = order.slice(0, start, std::min(n, start + kBatchSize));
    const torch::Tensor X = data.x.index({idx});
    const torch::Tensor y = data.y.index({idx});
    const torch::Tensor y_hat = net->forward(X);
    const torch::Tensor l =
        F::cross_entropy(y_hat, y, F::CrossEntropyFuncOptions().reduction(torch::kNone));
    trainer.zero_grad();
    l.mean().backward();
    trainer.step();
    loss_sum += l.sum().item<double>();
    right += correct(y_hat, y);
  }
  return {loss_sum / static_cast<double>(n), right / static_cast<double>(n)};
}

// ----------------------------------------------------------------------------- main
struct Options {
  std::string data;
  int epochs = 10;
  int threads = 2;
  std::uint64_t seed = 0;
  std::int64_t limit = 0;
  bool quiet = false;
};

[[noreturn]] void usage(const std::string& problem) {
  std::fprintf(stderr,
               "libtorch_lesson: %s\n"
               "usage: libtorch_lesson [--data DIR] [--epochs 10] [--threads 2] [--seed 0] "
               "[--limit N] [--quiet]\n",
               problem.c_str());
  std::exit(2);
}

long long parse_int(const std::string& option, const char* text, long long min) {
  char* end = nullptr;
  const long long value = std::strtoll(text, &end, 10);
  if (end == text || *end != '\0' || value < min) {
    usage(option + ": expected an integer >= " + std::to_string(min) + " but found '" + text + "'");
  }
  return value;
}

Options parse(int argc, char** argv) {
  Options o;
  const char* env = std::getenv("SOFTREG_DATA");
  o.data = env != nullptr && *env != '\0' ? env : "/usr/share/datasets/fashion-mnist";
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--quiet" || arg == "-q") {
      o.quiet = true;
      continue;
    }
    if (arg == "--help" || arg == "-h") usage("the lesson's concise loop in LibTorch");
    if (i + 1 >= argc) usage("unknown option or missing value: " + arg);
    const char* value = argv[++i];
    if (arg == "--data") {
      o.data = value;
    } else if (arg == "--epochs") {
      o.epochs = static_cast<int>(parse_int(arg, value, 1));
    } else if (arg == "--threads") {
      o.threads = static_cast<int>(parse_int(arg, value, 1));
    } else if (arg == "--seed") {
      o.seed = static_cast<std::uint64_t>(parse_int(arg, value, 0));
    } else if (arg == "--limit") {
      o.limit = parse_int(arg, value, 0);
    } else {
      usage("unknown option: " + arg);
    }
  }
  return o;
}

void run(const Options& o) {
  torch::set_num_threads(o.threads);
  torch::manual_seed(o.seed);
  Split train = load_split(o.data, "train");
  const Split test = load_split(o.data, "t10k");
  if (o.limit > 0 && o.limit < train.y.size(0)) {
    train = {train.x.slice(0, 0, o.limit).clone(), train.y.slice(0, 0, o.limit).clone()};
  }

  torch::nn::Sequential net(torch::nn::Flatten(), torch::nn::Linear(784, 10));
  {
    torch::NoGradGuard no_grad;
    auto linear = net[1]->as<torch::nn::Linear>();
    linear->weight.normal_(0, 0.01);
    linear->bias.zero_();
  }
  torch::optim::SGD trainer(net->parameters(), torch::optim::SGDOptions(kLearningRate));

  double total = 0;
  EpochResult last{};
  double test_acc = 0;
  for (int epoch = 1; epoch <= o.epochs; ++epoch) {
    const auto start = std::chrono::steady_clock::now();
    last = train_epoch(net, trainer, train);
    test_acc = evaluate_accuracy(net, test);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    total += seconds;
    if (!o.quiet) {
      std::printf("epoch %d  loss %.4f  train acc %.4f  test acc %.4f  (%.2f s)\n", epoch,
                  last.loss, last.accuracy, test_acc, seconds);
      std::fflush(stdout);
    }
  }
  std::printf(
      "trained %d epochs on %lld images in %.2f s: loss %.4f  train acc %.4f  test acc %.4f\n",
      o.epochs, static_cast<long long>(train.y.size(0)), total, last.loss, last.accuracy, test_acc);
}

}  // namespace

int main(int argc, char** argv) {
  const Options options = parse(argc, argv);
  try {
    run(options);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "libtorch_lesson: %s\n", e.what());
    return 1;
  }
  return 0;
}
