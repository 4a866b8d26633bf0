// softreg train across processes (mpirun -np P softreg train ...; docs/cli.md, "Across
// processes"): every process runs the same command on its part of the data; process 0 prints
// and writes the files.
#pragma once

#include <cstddef>
#include <functional>

#include "softreg/comm.hpp"
#include "softreg/data.hpp"
#include "train_args.hpp"

namespace softreg::cli {

/// InputError naming the first option a run across processes does not take (yet): a test
/// split, validation, --cv, --stream, --limit, --standardize,
/// --plot,
/// --report, --backend torch, standard input.
void check_across_processes(const TrainArgs& a, const Comm& comm);

/// This process's part of the training and test data: Fashion-MNIST's IDX rows, or the lines of
/// --libsvm / --text (or its rows of --cache, when the cache holds the file as it is) and of
/// --test (read with the training classes and features).
TrainTest load_training_parts(const TrainArgs& a, const Comm& comm, Output output);

/// Runs `step` on process 0 only (all of it without processes); an InputError there ends every
/// process with it.
void on_first_process(const Comm* comm, const std::function<void()>& step);

/// The sum of every process's `mine` (`mine` without processes).
std::size_t rows_of_all(const Comm* comm, std::size_t mine);

/// rows_fingerprint of the whole set whose part this process holds (the parts in rank order),
/// sealed by fingerprint_of_rows: the same for every number of processes.
std::uint64_t rows_fingerprint_of_all(const Comm* comm, const Dataset& part);

}  // namespace softreg::cli
