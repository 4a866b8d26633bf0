// What the targets of the readers in pieces share (fuzz_parts, fuzz_stream, fuzz_cache): data
// sets read in pieces (the parts of processes, a stream's blocks) joined in order, compared with
// the whole, and sparse rows checked to be what every loader guarantees.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz.hpp"
#include "softreg/data.hpp"

namespace softreg::fuzz {

/// Appends the rows of `piece` (features, labels, weights) to `all`, which starts as
/// empty_like() of the whole (sparse offsets {0}). A sparse piece's offsets move by the values
/// already in `all`; a piece that keeps no values (binary: every value 1) gets values 1 when
/// `valued` (the whole keeps values: a stream's block may be binary where the file is not).
inline void append_piece(Dataset& all, const Dataset& piece, bool valued, const std::string& what) {
  if (piece.rows == 0) return;
  check(piece.labels.empty() || piece.labels.size() == piece.rows, what + ": not a label per row");
  check(piece.weights.empty() || piece.weights.size() == piece.rows,
        what + ": not a weight per row");
  if (piece.is_sparse()) {
    const SparseRows& x = piece.sparse;
    check(x.offsets.size() == piece.rows + 1 && x.offsets[0] == 0 &&
              x.offsets[piece.rows] == x.nnz() && (x.vals.empty() || x.vals.size() == x.nnz()),
          what + ": a piece's offsets are not 0 .. nnz, or not a value per column");
    if (all.sparse.offsets.empty()) all.sparse.offsets.push_back(0);
    const std::uint64_t base = all.sparse.cols.size();
    for (std::size_t i = 1; i <= piece.rows; ++i) all.sparse.offsets.push_back(base + x.offsets[i]);
    all.sparse.cols.insert(all.sparse.cols.end(), x.cols.begin(), x.cols.end());
    if (!x.binary()) {
      all.sparse.vals.resize(base, 1.0f);  // the binary pieces before it
      all.sparse.vals.insert(all.sparse.vals.end(), x.vals.begin(), x.vals.end());
    } else if (valued) {
      all.sparse.vals.resize(all.sparse.cols.size(), 1.0f);
    }
  } else {
    all.values.insert(all.values.end(), piece.values.begin(), piece.values.end());
    all.pixels.insert(all.pixels.end(), piece.pixels.begin(), piece.pixels.end());
  }
  all.labels.insert(all.labels.end(), piece.labels.begin(), piece.labels.end());
  all.weights.insert(all.weights.end(), piece.weights.begin(), piece.weights.end());
  all.rows += piece.rows;
}

/// What differs between two data sets' rows (count, inputs, classes, labels, weights, features
/// as bytes, floats or sparse rows), or "" when nothing does.
inline std::string differs(const Dataset& a, const Dataset& b) {
  if (a.rows != b.rows) return "rows " + std::to_string(a.rows) + " vs " + std::to_string(b.rows);
  if (a.inputs != b.inputs)
    return "inputs " + std::to_string(a.inputs) + " vs " + std::to_string(b.inputs);
  if (a.class_names != b.class_names) return "classes";
  if (a.labels != b.labels) return "labels";
  if (a.weights != b.weights) return "weights";
  if (a.values != b.values) return "values";
  if (a.pixels != b.pixels) return "pixels";
  if (a.sparse.offsets != b.sparse.offsets) return "row offsets";
  if (a.sparse.cols != b.sparse.cols) return "columns";
  if (a.sparse.vals != b.sparse.vals) return "stored values";
  return "";
}

/// What every loader guarantees of sparse rows: offsets from 0 to nnz, not decreasing; columns
/// strictly increasing within a row and below inputs; a value per column (or none), each finite;
/// a label per row, each a class.
inline void check_sparse_rows(const Dataset& d, const std::string& what) {
  const SparseRows& x = d.sparse;
  check(x.offsets.size() == d.rows + 1 && x.offsets[0] == 0 && x.offsets[d.rows] == x.nnz(),
        what + ": offsets are not 0 .. nnz");
  check(x.vals.empty() || x.vals.size() == x.nnz(), what + ": not a value per column, nor none");
  for (std::size_t i = 0; i < d.rows; ++i) {
    check(x.offsets[i] <= x.offsets[i + 1] && x.offsets[i + 1] <= x.nnz(),
          what + ": offsets decrease at row " + std::to_string(i));
    for (std::uint64_t e = x.offsets[i]; e < x.offsets[i + 1]; ++e) {
      check(x.cols[e] < d.inputs,
            what + ": a column beyond the inputs in row " + std::to_string(i));
      check(e == x.offsets[i] || x.cols[e - 1] < x.cols[e],
            what + ": columns not increasing in row " + std::to_string(i));
      check(x.vals.empty() || std::isfinite(x.vals[e]), what + ": a value not finite");
    }
  }
  check(d.labels.size() == d.rows, what + ": not a label per row");
  for (const std::int32_t y : d.labels)
    check(y >= 0 && static_cast<std::size_t>(y) < d.classes(), what + ": a label out of range");
}

}  // namespace softreg::fuzz
