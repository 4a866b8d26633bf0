// What this build of softreg is (softreg --version): its version, the commit it was configured
// from, its build type, the vector width its kernels were compiled for, and whether MPI is in.
#pragma once

#include <cstddef>
#include <string>

namespace softreg {

struct BuildInfo {
  std::string version;           // the project's, e.g. "0.1.0"
  std::string commit;            // git's short hash when configured from a checkout, else "unknown"
  std::string build_type;        // CMake's: Release, Debug, RelWithDebInfo, ...
  std::size_t kernel_lanes = 0;  // floats per vector: 16 AVX-512, 8 AVX/AVX2, 4 SSE
  bool mpi = false;              // mpirun -np P runs one fit across P processes
};

BuildInfo build_info();

/// "AVX-512", "AVX2" or "SSE": the instruction set of `lanes` floats a vector.
std::string simd_name(std::size_t lanes);

}  // namespace softreg
