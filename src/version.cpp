#include "softreg/version.hpp"

#include "softreg/comm.hpp"
#include "softreg/kernel.hpp"

#ifndef SOFTREG_VERSION
#define SOFTREG_VERSION "unknown"
#endif
#ifndef SOFTREG_COMMIT
#define SOFTREG_COMMIT "unknown"
#endif
#ifndef SOFTREG_BUILD_TYPE
#define SOFTREG_BUILD_TYPE "unknown"
#endif

namespace softreg {

BuildInfo build_info() {
  BuildInfo b;
  b.version = SOFTREG_VERSION;
  b.commit = SOFTREG_COMMIT;
  b.build_type = SOFTREG_BUILD_TYPE;
  b.kernel_lanes = kernel_lanes();
  b.mpi = mpi_built();
  return b;
}

std::string simd_name(std::size_t lanes) {
  return lanes >= 16 ? "AVX-512" : lanes >= 8 ? "AVX2" : "SSE";
}

}  // namespace softreg
