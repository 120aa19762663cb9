# libwmss_torch: C++ on libtorch behind plain C functions (wmss_torch.h). Found through find_package(Torch):
# Debian's libtorch-dev by default, or -DTorch_DIR=<libtorch>/share/cmake/Torch for another (e.g. CUDA) build.
set(WMSS_TORCH_TARGETS "")
option(WMSS_WITH_NCCL "Data parallel on CUDA through c10d's ProcessGroupNCCL when the libtorch found has it" ON)

# c10d's NCCL process group exists only in CUDA builds of libtorch (not Debian's): compile and link a probe
# against the libtorch found, and build the "nccl" backend of dist.cpp only if it works.
function(wmss_check_nccl target)
  set(WMSS_HAVE_NCCL OFF)
  if(WMSS_WITH_NCCL)
    include(CheckCXXSourceCompiles)
    set(CMAKE_REQUIRED_INCLUDES ${TORCH_INCLUDE_DIRS})
    set(CMAKE_REQUIRED_LIBRARIES ${TORCH_LIBRARIES})
    set(CMAKE_REQUIRED_DEFINITIONS -DUSE_C10D_NCCL)
    set(CMAKE_REQUIRED_FLAGS "${TORCH_CXX_FLAGS}")
    set(CMAKE_REQUIRED_QUIET ON)
    check_cxx_source_compiles([=[
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
int main() { return c10d::ProcessGroupNCCL::Options::create()->is_high_priority_stream ? 1 : 0; }
]=] WMSS_TORCH_HAS_NCCL)
    set(WMSS_HAVE_NCCL ${WMSS_TORCH_HAS_NCCL})
  endif()
  if(WMSS_HAVE_NCCL)
    target_compile_definitions(${target} PRIVATE USE_C10D_NCCL WMSS_HAVE_NCCL)
    message(STATUS "wmss: data parallel backends gloo, nccl")
  else()
    message(STATUS "wmss: data parallel backend gloo (this libtorch has no ProcessGroupNCCL, or WMSS_WITH_NCCL=OFF)")
  endif()
endfunction()
set(WMSS_HAVE_TORCH OFF)
if(WMSS_WITH_TORCH)
  find_package(Torch QUIET)
  if(Torch_FOUND)
    set(WMSS_HAVE_TORCH ON)
    find_package(nlohmann_json 3 REQUIRED)
    add_library(wmss_torch SHARED native/torch/ce_mix_ref.cpp native/torch/error.cpp native/torch/threads.cpp native/torch/durable.cpp native/torch/safetensors.cpp
                native/torch/model.cpp native/torch/model_api.cpp
                native/torch/fused_head.cpp native/torch/generate.cpp native/torch/perf.cpp native/torch/allocator.cpp
                native/torch/fused_ops.cpp native/torch/optim.cpp)
    target_include_directories(wmss_torch PUBLIC native/include)
    # libwmss: the one ce_mix implementation, which the fused head calls per chunk
    target_link_libraries(wmss_torch PRIVATE wmss ${TORCH_LIBRARIES} nlohmann_json::nlohmann_json)
    target_compile_options(wmss_torch PRIVATE -O2 -Wall)
    # the fused ops' loops: vectorised per ISA (target_clones), no reassociation (explicit partial sums instead)
    set_source_files_properties(native/torch/fused_ops.cpp native/torch/optim.cpp PROPERTIES COMPILE_OPTIONS "-O3;-fno-math-errno;-fno-trapping-math")
    target_link_options(wmss_torch PRIVATE -Wl,--no-undefined) # a missing symbol fails the build, not the JVM
    set_target_properties(wmss_torch PROPERTIES BUILD_RPATH "$ORIGIN" INSTALL_RPATH "$ORIGIN")
    target_sources(wmss_torch PRIVATE native/torch/dist.cpp native/torch/dist_grads.cpp) # data parallel (c10d)
    wmss_check_nccl(wmss_torch)
    list(APPEND WMSS_TORCH_TARGETS wmss_torch)
    list(APPEND WMSS_NATIVE_FILES libwmss_torch.so)
    message(STATUS "wmss: libtorch ${Torch_VERSION} found, building libwmss_torch")
  else()
    message(WARNING "wmss: libtorch not found (install libtorch-dev or pass -DTorch_DIR); libwmss_torch not built")
  endif()
endif()
