#include "softreg/kernel.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <utility>

#include "kernel_loss.hpp"

#if defined(__x86_64__) || defined(__i386__)
// GCC 12 warns that the unused masked-off operand inside the AVX-512 widening and shuffle
// intrinsics "may be" or "is used uninitialized": a false positive of the intrinsics' own headers.
#if !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>
#endif

namespace softreg {

using detail::block_loss;
using detail::predicted_class;

// ------------------------------------------------------------------------------------ vectors

void ExactSum::add(float v) {
  const auto bits = std::bit_cast<std::uint32_t>(v);
  const std::uint32_t exponent = (bits >> 23) & 0xffu, fraction = bits & 0x7fffffu;
  if (exponent == 0xffu) {
    special_ += v;
    return;
  }
  // |v| = m * 2^(p - 149): subnormals m = fraction, p = 0; normals the hidden bit too.
  const std::uint64_t m = exponent == 0 ? fraction : (fraction | 0x800000u);
  if (m == 0) return;
  const std::uint32_t p = exponent == 0 ? 0 : exponent - 1;
  const std::size_t w = p / 64, s = p % 64;
  std::array<std::uint64_t, kWords> part{};  // |v| * 2^149: two words of it at most
  part[w] = m << s;
  if (s > 40) part[w + 1] = m >> (64 - s);
  const bool negative = (bits >> 31) != 0;
  std::uint64_t carry = 0;
  for (std::size_t i = w; i < kWords; ++i) {
    const std::uint64_t a = words_[i], b = part[i];
    if (negative) {
      const std::uint64_t d = a - b - carry;
      carry = (a < b || (a == b && carry)) ? 1 : 0;
      words_[i] = d;
    } else {
      const std::uint64_t t = a + b + carry;
      carry = (t < a || (t == a && carry)) ? 1 : 0;
      words_[i] = t;
    }
    if (carry == 0 && i > w) break;
  }
}

void ExactSum::add(const ExactSum& other) {
  std::uint64_t carry = 0;
  for (std::size_t i = 0; i < kWords; ++i) {
    const std::uint64_t a = words_[i], t = a + other.words_[i] + carry;
    carry = (t < a || (t == a && carry)) ? 1 : 0;
    words_[i] = t;
  }
  special_ += other.special_;
}

double ExactSum::value() const {
  if (special_ != 0.0f) return special_;  // also a NaN
  std::array<std::uint64_t, kWords> w = words_;
  const bool negative = (w[kWords - 1] >> 63) != 0;
  if (negative) {  // two's complement: invert and add 1
    std::uint64_t carry = 1;
    for (auto& x : w) {
      x = ~x + carry;
      carry = (carry && x == 0) ? 1 : 0;
    }
  }
  std::size_t top = kWords;
  while (top > 0 && w[top - 1] == 0) --top;
  if (top == 0) return 0.0;
  // The 64 bits from the highest set bit down, the bits below them folded into the last one
  // (sticky), so that converting to double rounds as the whole number would.
  const std::size_t high =
      64 * (top - 1) + (63 - static_cast<std::size_t>(std::countl_zero(w[top - 1])));
  double r;
  if (high < 64) {
    r = std::ldexp(static_cast<double>(w[0]), -149);
  } else {
    const std::size_t low = high - 63, q = low / 64, s = low % 64;
    std::uint64_t bits = w[q] >> s;
    if (s != 0) bits |= w[q + 1] << (64 - s);
    bool sticky = s != 0 && (w[q] & ((std::uint64_t{1} << s) - 1)) != 0;
    for (std::size_t i = 0; i < q; ++i) sticky = sticky || w[i] != 0;
    r = std::ldexp(static_cast<double>(bits | (sticky ? 1u : 0u)), static_cast<int>(low) - 149);
  }
  return negative ? -r : r;
}

std::array<std::uint8_t, ExactSum::kBytes> ExactSum::bytes() const {
  std::array<std::uint8_t, kBytes> b{};
  std::memcpy(b.data(), words_.data(), kWords * 8);
  std::memcpy(b.data() + kWords * 8, &special_, 4);
  return b;
}

ExactSum ExactSum::of_bytes(std::span<const std::uint8_t> b) {
  if (b.size() != kBytes) throw std::invalid_argument("ExactSum::of_bytes: wrong size");
  ExactSum e;
  std::memcpy(e.words_.data(), b.data(), kWords * 8);
  std::memcpy(&e.special_, b.data() + kWords * 8, 4);
  return e;
}

namespace {

// The kernel is written with GCC/Clang vector types of the machine's width, so the same code
// compiles to AVX-512, AVX2 or SSE. Lanes run along the inputs (D).
#if defined(__AVX512F__)
constexpr std::size_t kLanes = 16;
#elif defined(__AVX__)
constexpr std::size_t kLanes = 8;
#else
constexpr std::size_t kLanes = 4;
#endif
typedef float vfloat __attribute__((vector_size(kLanes * sizeof(float))));
typedef std::uint8_t vbyte __attribute__((vector_size(kLanes)));

inline vfloat load(const float* p) {
  vfloat v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline vfloat load(const std::uint8_t* p) {
  // GCC 12 turns __builtin_convertvector from bytes into one scalar conversion per lane, so the
  // widening (bytes -> int32 -> float) is spelled out with the instruction set's intrinsics.
#if defined(__AVX512F__)
  return (vfloat)_mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i*)p)));
#elif defined(__AVX2__)
  return (vfloat)_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i*)p)));
#else
  vfloat v;
  for (std::size_t i = 0; i < kLanes; ++i) v[i] = static_cast<float>(p[i]);
  return v;
#endif
}
inline void store(float* p, vfloat v) {
  std::memcpy(p, &v, sizeof v);
}

// Sum of the lanes by halving (16 -> 8 -> 4 -> 2 -> 1): a fixed order, so the same on every call.
// (The widths are chosen by the preprocessor, as kLanes is: GCC checks the shuffles' lane
// numbers even in a discarded `if constexpr` branch of a function that is not a template.)
typedef float vfloat4 __attribute__((vector_size(4 * sizeof(float))));
inline float lane_sum(vfloat v) {
  vfloat4 q;
#if defined(__AVX512F__)
  typedef float vfloat8 __attribute__((vector_size(8 * sizeof(float))));
  const vfloat8 h = __builtin_shufflevector(v, v, 0, 1, 2, 3, 4, 5, 6, 7) +
                    __builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15);
  q = __builtin_shufflevector(h, h, 0, 1, 2, 3) + __builtin_shufflevector(h, h, 4, 5, 6, 7);
#elif defined(__AVX__)
  q = __builtin_shufflevector(v, v, 0, 1, 2, 3) + __builtin_shufflevector(v, v, 4, 5, 6, 7);
#else
  std::memcpy(&q, &v, sizeof q);
#endif
  q += __builtin_shufflevector(q, q, 2, 3, 0, 1);
  q += __builtin_shufflevector(q, q, 1, 0, 3, 2);
  return q[0];
}

#if defined(__AVX512F__)
// The lane sums of 16 vectors at once, each by the same additions in the same order as
// lane_sum (16 -> 8 -> 4 -> 2 -> 1), so the results are the same to the bit: each step adds the
// same pairs of lanes, only for four or eight vectors in one instruction instead of one. v[p] of
// the input becomes lane 4 (p % 4) + p / 4 of the result, so the caller passes the vectors in that
// order to get the sums in order.
inline __m512 sum16(const __m512* v) {
  __m512 c[8], e[4], g[2];
  for (int p = 0; p < 8; ++p)  // 16 -> 8 lanes: [v lo half + v hi half, the same for v + 1]
    c[p] = _mm512_add_ps(_mm512_shuffle_f32x4(v[2 * p], v[2 * p + 1], 0x44),
                         _mm512_shuffle_f32x4(v[2 * p], v[2 * p + 1], 0xEE));
  for (int p = 0; p < 4; ++p)  // 8 -> 4 lanes, four vectors in one
    e[p] = _mm512_add_ps(_mm512_shuffle_f32x4(c[2 * p], c[2 * p + 1], 0x88),
                         _mm512_shuffle_f32x4(c[2 * p], c[2 * p + 1], 0xDD));
  for (int p = 0; p < 2; ++p)  // 4 -> 2 lanes: (0 + 2, 1 + 3)
    g[p] = _mm512_add_ps(_mm512_shuffle_ps(e[2 * p], e[2 * p + 1], _MM_SHUFFLE(1, 0, 1, 0)),
                         _mm512_shuffle_ps(e[2 * p], e[2 * p + 1], _MM_SHUFFLE(3, 2, 3, 2)));
  return _mm512_add_ps(_mm512_shuffle_ps(g[0], g[1], _MM_SHUFFLE(2, 0, 2, 0)),  // 2 -> 1
                       _mm512_shuffle_ps(g[0], g[1], _MM_SHUFFLE(3, 1, 3, 1)));
}
#endif

// out[i] = lane_sum(v[i]) for i < n.
inline void lane_sums(const vfloat* v, std::size_t n, float* out) {
  std::size_t i = 0;
#if defined(__AVX512F__)
  for (; i + 16 <= n; i += 16) {
    __m512 in[16];
    for (std::size_t p = 0; p < 16; ++p) in[p] = (__m512)v[i + 4 * (p % 4) + p / 4];
    _mm512_storeu_ps(out + i, sum16(in));
  }
#endif
  for (; i < n; ++i) out[i] = lane_sum(v[i]);
}

// The bits of a vfloat's lanes; unsigned, so that arithmetic on them wraps (as it does for the
// lanes of exp_lanes whose x is out of range and whose result is then discarded).
typedef std::uint32_t vbits __attribute__((vector_size(kLanes * sizeof(std::uint32_t))));

// e^x of one vector, lane by lane: x = n ln2 + r with n an integer and |r| <= ln2 / 2, so
// e^x = 2^n e^r; e^r by its Taylor series to r^7 / 7! (the rest is below 5e-9 relative), 2^n
// built in the exponent bits. No lane depends on another, so a value gets the same result in
// any lane.
inline vfloat exp_lanes(vfloat x) {
  constexpr float kLog2e = 1.44269504088896341f;
  // ln 2 in two parts: n * kLn2Hi is exact for |n| < 2^15, so r keeps its low bits.
  constexpr float kLn2Hi = 0.693359375f, kLn2Lo = -2.12194440054690583e-4f;
  // Adding 1.5 * 2^23 rounds a float of magnitude < 2^22 to an integer, which lands in the low
  // bits of the sum's mantissa.
  constexpr float kShifter = 12582912.0f;
  const vfloat t = x * kLog2e + kShifter;
  const vfloat n = t - kShifter;
  const vfloat r = (x - n * kLn2Hi) - n * kLn2Lo;
  vfloat p = r * (1.0f / 5040) + 1.0f / 720;
  p = p * r + 1.0f / 120;
  p = p * r + 1.0f / 24;
  p = p * r + 1.0f / 6;
  p = p * r + 1.0f / 2;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  vbits bits;
  std::memcpy(&bits, &t, sizeof bits);
  bits = (bits - 0x4B400000u + 127u) << 23;  // the float 2^n
  vfloat two_n;
  std::memcpy(&two_n, &bits, sizeof two_n);
  const vfloat e = p * two_n;
  // Below -87.34, 2^n is not a normal float: the result is 0 (e^x < 1.2e-38). NaN stays NaN.
  const vfloat zero = {};
  return x < -87.336544f ? zero : e;
}

// Classes are handled in tiles of up to kTile, each tile's accumulators held in registers: 10
// accumulators plus the input and a weight vector fit the 16 registers of AVX2 (32 of AVX-512).
constexpr std::size_t kTile = 10;
// The backward pass reuses each broadcast of dO over two input vectors when there are enough
// registers for 2 x kTile accumulators (AVX-512).
constexpr std::size_t kColumnVectors = kLanes >= 16 ? 2 : 1;

// ------------------------------------------------------------------------------------ forward

// The forward pass takes rows in pairs when there are registers for 2 x kTile accumulators
// (AVX-512): each load of W then serves two rows. A row's logits are computed by the same
// operations in the same order whether it is paired or not.
constexpr std::size_t kRowsAtOnce = kLanes >= 16 ? 2 : 1;

// a * b + c, rounded once where the machine fuses (FMA) and twice where it cannot, whatever
// the compiler would make of the expression around it: a row's logits must not depend on how
// many rows are computed with it (a process's part starts anywhere in a block of rows), and
// contraction (-ffp-contract=fast) is the compiler's choice, per loop and per vectorisation.
inline float mul_add(float a, float b, float c) {
#if defined(__FMA__)
  return std::fma(a, b, c);
#else
  return a * b + c;
#endif
}

// out[r][k] = Σ_j w[k][j] x_r[j] for R rows and the KT classes of a tile; w points at the tile's
// first row of W; out has row stride ldo.
template <std::size_t KT, std::size_t R, class T>
void dot_tile(const T* const* x, const float* w, std::size_t d, float* out, std::size_t ldo) {
  vfloat acc[R][KT] = {};
  std::size_t j = 0;
  for (; j + kLanes <= d; j += kLanes) {
    vfloat xv[R];
    for (std::size_t r = 0; r < R; ++r) xv[r] = load(x[r] + j);
    for (std::size_t k = 0; k < KT; ++k) {
      vfloat wv = load(w + k * d + j);
      // Left to itself GCC folds the load into each row's FMA, loading W once per row; the
      // empty asm makes it load once into a register shared by the R rows.
      if constexpr (R > 1) asm("" : "+v"(wv));
      for (std::size_t r = 0; r < R; ++r) acc[r][k] += wv * xv[r];
    }
  }
  float sums[R * KT];
  lane_sums(&acc[0][0], R * KT, sums);
  for (std::size_t r = 0; r < R; ++r)
    for (std::size_t k = 0; k < KT; ++k) out[r * ldo + k] = sums[r * KT + k];
  for (; j < d; ++j)
    for (std::size_t r = 0; r < R; ++r) {
      const auto xj = static_cast<float>(x[r][j]);
      for (std::size_t k = 0; k < KT; ++k)
        out[r * ldo + k] = mul_add(w[k * d + j], xj, out[r * ldo + k]);
    }
}

template <class T, std::size_t R, std::size_t... KT>
constexpr auto make_dot_table(std::index_sequence<KT...>) {
  return std::array<void (*)(const T* const*, const float*, std::size_t, float*, std::size_t),
                    sizeof...(KT)>{&dot_tile<KT + 1, R, T>...};
}

// o_r = scale * (W x_r) + b for R rows x_r: the forward pass. o has row stride k_all.
template <std::size_t R, class T>
void rows_logits(const T* const* x, const float* w, const float* b, std::size_t d,
                 std::size_t k_all, float scale, float* o) {
  static constexpr auto table = make_dot_table<T, R>(std::make_index_sequence<kTile>{});
  for (std::size_t k0 = 0; k0 < k_all; k0 += kTile) {
    const std::size_t kt = std::min(kTile, k_all - k0);
    table[kt - 1](x, w + k0 * d, d, o + k0, k_all);
  }
  for (std::size_t r = 0; r < R; ++r)
    for (std::size_t k = 0; k < k_all; ++k)
      o[r * k_all + k] = mul_add(o[r * k_all + k], scale, b[k]);
}

template <class T>
inline void prefetch_row(const T* row, std::size_t d) {
  const auto* bytes = reinterpret_cast<const char*>(row);
  for (std::size_t offset = 0; offset < d * sizeof(T); offset += 64)
    __builtin_prefetch(bytes + offset);
}

// How many rows ahead of the computation the forward pass asks for a row's cache lines. A
// shuffled batch's rows are scattered over the data set, so the hardware prefetcher cannot guess
// the next row; one row is 13 cache lines of bytes, and a few rows in flight cover the latency of
// memory.
constexpr std::size_t kPrefetchRows = 4;

// The logits of the n rows of a list of row pointers into o (row stride k_all), in groups of
// kRowsAtOnce.
template <class T>
void logits_of_rows(const T* const* x, std::size_t n, const float* w, const float* b, std::size_t d,
                    std::size_t k_all, float scale, float* o) {
  for (std::size_t a = 0; a < std::min(n, kPrefetchRows); ++a) prefetch_row(x[a], d);
  std::size_t r = 0;
  for (; r + kRowsAtOnce <= n; r += kRowsAtOnce) {
    for (std::size_t a = r + kPrefetchRows; a < std::min(n, r + kPrefetchRows + kRowsAtOnce); ++a)
      prefetch_row(x[a], d);
    rows_logits<kRowsAtOnce>(x + r, w, b, d, k_all, scale, o + r * k_all);
  }
  for (; r < n; ++r) rows_logits<1>(x + r, w, b, d, k_all, scale, o + r * k_all);
}

// ------------------------------------------------------------------------------------ backward

// g[k][j] = scale * Σ_r dO[r][k0 + k] x_r[j] for columns [j0, j1) and the KT classes of a tile,
// summed over the rows in row order. g points at row k0 of dW.
template <std::size_t KT, class T>
void grad_tile(const T* const* rows, std::size_t n_rows, const float* dlogits, std::size_t k_all,
               std::size_t k0, std::size_t j0, std::size_t j1, std::size_t d, float scale,
               float* g) {
  std::size_t j = j0;
  if constexpr (kColumnVectors == 2) {
    for (; j + 2 * kLanes <= j1; j += 2 * kLanes) {
      vfloat a[KT] = {}, c[KT] = {};
      for (std::size_t r = 0; r < n_rows; ++r) {
        const vfloat x0 = load(rows[r] + j), x1 = load(rows[r] + j + kLanes);
        const float* dr = dlogits + r * k_all + k0;
        for (std::size_t k = 0; k < KT; ++k) {
          a[k] += dr[k] * x0;
          c[k] += dr[k] * x1;
        }
      }
      for (std::size_t k = 0; k < KT; ++k) {
        store(g + k * d + j, a[k] * scale);
        store(g + k * d + j + kLanes, c[k] * scale);
      }
    }
  }
  for (; j + kLanes <= j1; j += kLanes) {
    vfloat a[KT] = {};
    for (std::size_t r = 0; r < n_rows; ++r) {
      const vfloat x0 = load(rows[r] + j);
      const float* dr = dlogits + r * k_all + k0;
      for (std::size_t k = 0; k < KT; ++k) a[k] += dr[k] * x0;
    }
    for (std::size_t k = 0; k < KT; ++k) store(g + k * d + j, a[k] * scale);
  }
  for (; j < j1; ++j) {
    float a[KT] = {};
    for (std::size_t r = 0; r < n_rows; ++r) {
      const auto xj = static_cast<float>(rows[r][j]);
      const float* dr = dlogits + r * k_all + k0;
      for (std::size_t k = 0; k < KT; ++k) a[k] += dr[k] * xj;
    }
    for (std::size_t k = 0; k < KT; ++k) g[k * d + j] = a[k] * scale;
  }
}

template <class T, std::size_t... KT>
constexpr auto make_grad_table(std::index_sequence<KT...>) {
  return std::array<void (*)(const T* const*, std::size_t, const float*, std::size_t, std::size_t,
                             std::size_t, std::size_t, std::size_t, float, float*),
                    sizeof...(KT)>{&grad_tile<KT + 1, T>...};
}

template <class T>
void grad_columns(const T* const* rows, std::size_t n_rows, const float* dlogits, std::size_t k_all,
                  std::size_t j0, std::size_t j1, std::size_t d, float scale, float* grad_w) {
  static constexpr auto table = make_grad_table<T>(std::make_index_sequence<kTile>{});
  for (std::size_t k0 = 0; k0 < k_all; k0 += kTile) {
    const std::size_t kt = std::min(kTile, k_all - k0);
    table[kt - 1](rows, n_rows, dlogits, k_all, k0, j0, j1, d, scale, grad_w + k0 * d);
  }
}

// A batch is cut into chunks of kRowsPerChunk rows, whatever the number of threads; each chunk's
// partial gradient is summed over its rows in row order and the partials are added in chunk
// order. So the result does not depend on which thread computed what.
constexpr std::size_t kRowsPerChunk = 128;
// The columns of dW summed and updated by one task of a step's second half: whole vectors.
constexpr std::size_t kColumnBlock = 4 * kLanes;
constexpr std::size_t kEvalRowsPerTask = 128;

std::size_t ceil_div(std::size_t a, std::size_t b) {
  return (a + b - 1) / b;
}

template <class F>
decltype(auto) with_type(const Features& x, F&& f) {
  if (x.bytes != nullptr) return f(x.bytes);
  return f(x.floats);
}

}  // namespace

std::size_t kernel_lanes() {
  return kLanes;
}

void exp_nonpositive(std::span<float> x) {
  std::size_t i = 0;
  for (; i + kLanes <= x.size(); i += kLanes) store(x.data() + i, exp_lanes(load(x.data() + i)));
  if (i < x.size()) {  // the tail through one vector too, so each value gets the same result
    vfloat v = {};
    std::memcpy(&v, x.data() + i, (x.size() - i) * sizeof(float));
    v = exp_lanes(v);
    std::memcpy(x.data() + i, &v, (x.size() - i) * sizeof(float));
  }
}

Features Features::of(const Dataset& data) {
  Features f;
  f.inputs = data.inputs;
  f.scale = data.scale;
  if (data.is_sparse()) {
    f.offsets = data.sparse.offsets.data();
    f.cols = data.sparse.cols.data();
    f.vals = data.sparse.vals.empty() ? nullptr : data.sparse.vals.data();
  } else if (data.is_bytes())
    f.bytes = data.pixels.data();
  else
    f.floats = data.values.data();
  return f;
}

// ------------------------------------------------------------------------------------ step

SoftmaxKernel::SoftmaxKernel(std::size_t inputs, std::size_t outputs, std::size_t max_batch)
    : inputs_(inputs), classes_(outputs) {
  reserve(max_batch);
}

namespace {

// Each chunk of rows has scratch memory of its own, every piece starting on a cache line of its
// own: two threads never write to the same line (which would make the line bounce between the
// cores at every store).
constexpr std::size_t kLineFloats = 64 / sizeof(float);

std::size_t round_up(std::size_t a, std::size_t m) {
  return ceil_div(a, m) * m;
}

struct ChunkLayout {
  std::size_t logits, bias, weight, size;  // offsets and size of one chunk's scratch, in floats
  ChunkLayout(std::size_t d, std::size_t k_all)
      : logits(0),
        bias(round_up(kRowsPerChunk * k_all, kLineFloats)),
        weight(bias + round_up(k_all, kLineFloats)),
        size(weight + round_up(k_all * d, kLineFloats)) {}
};

}  // namespace

void SoftmaxKernel::reserve(std::size_t batch) {
  const std::size_t chunks = ceil_div(batch, kRowsPerChunk);
  if (chunks <= chunk_stats_.size()) return;
  scratch_.resize(chunks * ChunkLayout(inputs_, classes_).size);
  chunk_stats_.resize(chunks);
  row_ptr_.resize(chunks * kRowsPerChunk);
}

PassStats SoftmaxKernel::step(const SoftmaxRegression& model, const Features& x,
                              std::span<const std::int32_t> labels,
                              std::span<const std::uint32_t> rows, Gradients& grad,
                              ThreadPool& pool, const WeightBlockFn& on_weight_block) {
  if (x.sparse())
    throw std::invalid_argument(
        "SoftmaxKernel::step reads dense rows; sparse rows train by SparseSgd");
  const std::size_t n = rows.size(), d = inputs_, k_all = classes_;
  const Output output = model.output();
  if (model.inputs() != d || model.outputs() != k_all || x.inputs != d)
    throw std::invalid_argument("SoftmaxKernel::step: shapes of model, kernel and data differ");
  reserve(n);
  grad.weight.resize(k_all * d);
  grad.bias.resize(k_all);
  std::fill(grad.bias.begin(), grad.bias.end(), 0.0f);
  if (n == 0) {
    std::fill(grad.weight.begin(), grad.weight.end(), 0.0f);
    if (on_weight_block) on_weight_block(0, grad.weight.size());
    return {};
  }
  const float* w = model.weight().data();
  const float* b = model.bias().data();
  const float inv_n = 1.0f / static_cast<float>(n);
  const std::size_t chunks = ceil_div(n, kRowsPerChunk);
  const ChunkLayout layout(d, k_all);
  float* const scratch = scratch_.data();
  // One chunk writes its partial gradient straight into grad.weight.
  auto partial_weight = [&](std::size_t c) {
    return chunks == 1 ? grad.weight.data() : scratch + c * layout.size + layout.weight;
  };

  // 1. Each chunk of rows, on whichever thread claims it: forward, softmax (or sigmoid), loss,
  // dO = (p - onehot(y)) / n, the chunk's db and its partial gradient Σ_r dO_r x_rᵀ over every
  // column, the latter while the chunk's rows are still in this core's cache.
  with_type(x, [&](const auto* base) {
    using T = std::remove_cv_t<std::remove_pointer_t<decltype(base)>>;
    for (std::size_t r = 0; r < n; ++r) row_ptr_[r] = base + static_cast<std::size_t>(rows[r]) * d;
    const T* const* row = reinterpret_cast<const T* const*>(row_ptr_.data());
    pool.run(chunks, [&](std::size_t c) {
      const std::size_t begin = c * kRowsPerChunk, end = std::min(n, begin + kRowsPerChunk);
      float* const o = scratch + c * layout.size + layout.logits;
      float* const db = scratch + c * layout.size + layout.bias;
      logits_of_rows(row + begin, end - begin, w, b, d, k_all, x.scale, o);
      const PassStats s = block_loss(output, o, end - begin, k_all,
                                     [&](std::size_t r) { return labels[rows[begin + r]]; });
      chunk_stats_[c].loss_sum = s.loss_sum;
      chunk_stats_[c].correct = s.correct;
      std::fill(db, db + k_all, 0.0f);
      for (std::size_t r = begin; r < end; ++r) {
        float* const dr = o + (r - begin) * k_all;
        for (std::size_t k = 0; k < k_all; ++k) db[k] += dr[k] *= inv_n;
      }
      grad_columns(row + begin, end - begin, o, k_all, 0, d, d, x.scale, partial_weight(c));
    });
  });

  // 2. dW = the chunks' partial gradients added in chunk order, and the caller's update of W,
  // block of columns by block. Thread m takes the same blocks step after step while every
  // thread runs, so those columns of dW and W stay in its core's cache. A diverged batch (loss
  // not finite) must not touch W: the caller stops there, with the weights from before it.
  double loss = 0.0;
  for (std::size_t c = 0; c < chunks; ++c) loss += chunk_stats_[c].loss_sum;
  const bool update = on_weight_block && std::isfinite(loss);
  if (chunks > 1 || update)
    pool.run(ceil_div(d, kColumnBlock), [&](std::size_t t) {
      const std::size_t j0 = t * kColumnBlock, j1 = std::min(d, j0 + kColumnBlock);
      for (std::size_t k = 0; k < k_all; ++k) {
        const std::size_t i0 = k * d + j0, i1 = k * d + j1;
        if (chunks > 1) {
          float* out = grad.weight.data();
          std::copy(partial_weight(0) + i0, partial_weight(0) + i1, out + i0);
          for (std::size_t c = 1; c < chunks; ++c) {
            const float* p = partial_weight(c);
            for (std::size_t i = i0; i < i1; ++i) out[i] += p[i];
          }
        }
        if (update) on_weight_block(i0, i1);
      }
    });

  // db and the batch's figures: the chunks' partial sums in chunk order.
  PassStats stats;
  stats.rows = n;
  for (std::size_t c = 0; c < chunks; ++c) {
    const float* db = scratch + c * layout.size + layout.bias;
    for (std::size_t k = 0; k < k_all; ++k) grad.bias[k] += db[k];
    stats.loss_sum += chunk_stats_[c].loss_sum;
    stats.correct += chunk_stats_[c].correct;
  }
  return stats;
}

std::size_t SoftmaxKernel::rows_per_chunk() {
  return kRowsPerChunk;
}

void SoftmaxKernel::chunk_gradients(const SoftmaxRegression& model, const Features& x,
                                    std::span<const std::int32_t> labels,
                                    std::span<const std::uint32_t> rows, std::size_t batch_rows,
                                    ThreadPool& pool, std::span<float> out,
                                    std::span<PassStats> stats) {
  if (x.sparse()) throw std::invalid_argument("SoftmaxKernel::chunk_gradients reads dense rows");
  const std::size_t n = rows.size(), d = inputs_, k_all = classes_;
  const std::size_t chunks = ceil_div(n, kRowsPerChunk);
  if (model.inputs() != d || model.outputs() != k_all || x.inputs != d)
    throw std::invalid_argument(
        "SoftmaxKernel::chunk_gradients: shapes of model, kernel and data differ");
  if (n > batch_rows || out.size() != chunks * chunk_floats() || stats.size() != chunks)
    throw std::invalid_argument("SoftmaxKernel::chunk_gradients: output not of the rows' chunks");
  if (n == 0) return;
  reserve(n);
  const float* w = model.weight().data();
  const float* b = model.bias().data();
  // The whole batch's 1 / B, as step() scales dO.
  const float inv_n = 1.0f / static_cast<float>(batch_rows);
  const ChunkLayout layout(d, k_all);
  with_type(x, [&](const auto* base) {
    using T = std::remove_cv_t<std::remove_pointer_t<decltype(base)>>;
    for (std::size_t r = 0; r < n; ++r) row_ptr_[r] = base + static_cast<std::size_t>(rows[r]) * d;
    const T* const* row = reinterpret_cast<const T* const*>(row_ptr_.data());
    // Chunk by chunk, step()'s work of a team of one member.
    pool.run(chunks, [&](std::size_t c) {
      const std::size_t begin = c * kRowsPerChunk, end = std::min(n, begin + kRowsPerChunk);
      float* const o = scratch_.data() + c * layout.size + layout.logits;
      float* const dw = out.data() + c * chunk_floats();
      float* const db = dw + k_all * d;
      logits_of_rows(row + begin, end - begin, w, b, d, k_all, x.scale, o);
      stats[c] = block_loss(model.output(), o, end - begin, k_all,
                            [&](std::size_t r) { return labels[rows[begin + r]]; });
      stats[c].rows = end - begin;
      std::fill(db, db + k_all, 0.0f);
      for (std::size_t r = begin; r < end; ++r) {
        float* const dr = o + (r - begin) * k_all;
        for (std::size_t k = 0; k < k_all; ++k) db[k] += dr[k] *= inv_n;
      }
      grad_columns(row + begin, end - begin, o, k_all, 0, d, d, x.scale, dw);
    });
  });
}

// ------------------------------------------------------------------------------------ evaluate

namespace {

// Runs body(task, begin, end) for the blocks of kEvalRowsPerTask of the first `rows` rows, spread
// over the pool. The extra job `alongside`, when there is one, is task 0: the calling thread
// usually takes it first, and the other threads start on the rows.
template <class Body>
void run_row_blocks(std::size_t rows, ThreadPool& pool, const std::function<void()>& alongside,
                    Body&& body) {
  const std::size_t extra = alongside ? 1 : 0;
  pool.run(ceil_div(rows, kEvalRowsPerTask) + extra, [&](std::size_t t) {
    if (extra != 0) {
      if (t == 0) {
        alongside();
        return;
      }
      --t;
    }
    body(t, t * kEvalRowsPerTask, std::min(rows, (t + 1) * kEvalRowsPerTask));
  });
}

// The sparse rows' logits in blocks, row by row by row_logits(r, o); each block handed to
// f(task, begin, end, logits of the block).
template <class F, class RowLogits>
void sparse_row_blocks(std::size_t rows, std::size_t k_all, ThreadPool& pool,
                       const std::function<void()>& alongside, F& f, RowLogits&& row_logits) {
  run_row_blocks(rows, pool, alongside, [&](std::size_t t, std::size_t begin, std::size_t end) {
    std::vector<float> o((end - begin) * k_all);
    for (std::size_t r = begin; r < end; ++r) row_logits(r, o.data() + (r - begin) * k_all);
    f(t, begin, end, o.data());
  });
}

// Computes the logits of the first `rows` rows of x in blocks of kEvalRowsPerTask, spread over
// the pool, and hands each block to f(task, begin, end, logits of the block).
template <class F>
void for_row_blocks(const SoftmaxRegression& model, const Features& x, std::size_t rows,
                    ThreadPool& pool, F&& f, const std::function<void()>& alongside = {}) {
  const std::size_t d = model.inputs(), k_all = model.outputs();
  if (x.inputs != d)
    throw std::invalid_argument("data rows have " + std::to_string(x.inputs) +
                                " inputs but the model expects " + std::to_string(d));
  if (x.sparse()) {
    // W x over the stored features only: each reads one weight of every class, d apart.
    const float* w = model.weight().data();
    const float* b = model.bias().data();
    sparse_row_blocks(rows, k_all, pool, alongside, f, [&](std::size_t r, float* o) {
      std::copy(b, b + k_all, o);
      for (std::size_t k = x.offsets[r]; k < x.offsets[r + 1]; ++k) {
        const float v = x.value(k);
        const float* wc = w + x.cols[k];
        for (std::size_t c = 0; c < k_all; ++c) o[c] += wc[c * d] * v;
      }
    });
    return;
  }
  with_type(x, [&](const auto* base) {
    using T = std::remove_cv_t<std::remove_pointer_t<decltype(base)>>;
    run_row_blocks(rows, pool, alongside, [&](std::size_t t, std::size_t begin, std::size_t end) {
      const T* row[kEvalRowsPerTask];
      std::vector<float> o((end - begin) * k_all);
      for (std::size_t r = begin; r < end; ++r) row[r - begin] = base + r * d;
      logits_of_rows(row, end - begin, model.weight().data(), model.bias().data(), d, k_all,
                     x.scale, o.data());
      f(t, begin, end, o.data());
    });
  });
}

}  // namespace

namespace {

// What evaluate() makes of each block of logits: predictions, and the block's loss and correct
// rows into partial[task]; total() adds the blocks, the loss exactly (ExactSum: the same figure
// however the rows were cut into blocks, threads or processes).
struct BlockStats {
  Output output;
  std::size_t k_all;
  std::span<const std::int32_t> labels;
  std::span<std::int32_t> predictions;
  std::vector<PassStats> partial;

  void operator()(std::size_t t, std::size_t begin, std::size_t end, float* o) {
    if (!predictions.empty())
      for (std::size_t r = begin; r < end; ++r)
        predictions[r] = predicted_class(output, o + (r - begin) * k_all, k_all);
    if (labels.empty())
      partial[t].rows = end - begin;
    else {
      ExactSum loss;
      partial[t] = block_loss(
          output, o, end - begin, k_all, [&](std::size_t r) { return labels[begin + r]; }, 0,
          [&](float l) { loss.add(l); });
      partial[t].loss_exact = loss;
    }
  }
  PassStats total() const {
    PassStats sum;
    for (const PassStats& s : partial) {
      sum.loss_exact.add(s.loss_exact);
      sum.correct += s.correct;
      sum.rows += s.rows;
    }
    sum.loss_sum = sum.loss_exact.value();
    return sum;
  }
};

}  // namespace

PassStats evaluate(const SoftmaxRegression& model, const Features& x,
                   std::span<const std::int32_t> labels, std::size_t rows, ThreadPool& pool,
                   std::span<std::int32_t> predictions, const std::function<void()>& alongside) {
  BlockStats stats{model.output(), model.outputs(), labels, predictions,
                   std::vector<PassStats>(ceil_div(rows, kEvalRowsPerTask))};
  for_row_blocks(model, x, rows, pool, stats, alongside);
  return stats.total();
}

PassStats evaluate_feature_major(std::span<const float> wt, std::size_t stride,
                                 std::span<const float> bias, Output output, const Features& x,
                                 std::span<const std::int32_t> labels, std::size_t rows,
                                 ThreadPool& pool, std::span<std::int32_t> predictions) {
  const std::size_t k_all = bias.size();
  if (!x.sparse() || stride < k_all || wt.size() != x.inputs * stride)
    throw std::invalid_argument("evaluate_feature_major: sparse rows of the weights' inputs");
  BlockStats stats{output, k_all, labels, predictions,
                   std::vector<PassStats>(ceil_div(rows, kEvalRowsPerTask))};
  sparse_row_blocks(rows, k_all, pool, {}, stats, [&](std::size_t r, float* o) {
    std::copy(bias.begin(), bias.end(), o);
    for (std::size_t k = x.offsets[r]; k < x.offsets[r + 1]; ++k) {
      const float v = x.value(k);
      const float* wc = wt.data() + std::size_t{x.cols[k]} * stride;
      for (std::size_t c = 0; c < k_all; ++c) o[c] += wc[c] * v;
    }
  });
  return stats.total();
}

Matrix<float> logits(const SoftmaxRegression& model, const Features& x, std::size_t rows,
                     ThreadPool& pool) {
  Matrix<float> out(rows, model.outputs());
  for_row_blocks(model, x, rows, pool,
                 [&](std::size_t, std::size_t begin, std::size_t end, const float* o) {
                   std::copy(o, o + (end - begin) * out.cols, out.row(begin).data());
                 });
  return out;
}

}  // namespace softreg
